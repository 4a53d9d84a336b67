# Evaluates nix/module.nix with nixpkgs' lib alone — no nixpkgs package set,
# so it runs under any Nix that can evaluate that lib (Debian's Nix 2.8 here,
# where all of nixpkgs cannot be evaluated) — against stand-ins of the NixOS
# options the module sets, and returns what a test wants to look at as plain
# data (nix-instantiate --eval --strict --json).
#
# Each stand-in declares a subset of the real options (never one nixpkgs
# lacks), with the real types, defaults and merge rules, and reproduces the
# real module's assertions and definitions the module relies on. Mirrored
# (nixpkgs, nixos-26.05 line):
# - networking.firewall.{enable,backend,allowedTCPPorts,allowedUDPPorts,
#   interfaces,rejectPackets}: nixos/modules/services/networking/firewall.nix
#   (backend's default from services.firewalld.enable and
#   networking.nftables.enable; canonicalizePortList);
# - networking.firewall.extraCommands and its backend:
#   firewall-iptables.nix;
# - networking.firewall.extraInputRules and the assertion that extraCommands
#   is empty: firewall-nftables.nix;
# - networking.nftables.enable: nftables.nix;
# - the assertion that networking.firewall.interfaces is empty and the zone
#   nixos-fw-default: firewall-firewalld.nix; services.firewalld.enable:
#   firewalld/default.nix; services.firewalld.zones (interfaces, sources,
#   target, ports, rules): firewalld/zone.nix and firewalld/lib.nix;
# - services.postgresql.{enable,package,dataDir,settings(.port,
#   .listen_addresses),authentication,identMap,ensureDatabases,ensureUsers}
#   and what that module defines itself (package and dataDir as mkDefault,
#   listen_addresses without mkDefault, the mkBefore/mkAfter pg_hba lines,
#   the mkAfter identMap line, the ensureDBOwnership assertion,
#   postgresql-setup's script): services/databases/postgresql.nix;
# - services.nginx.{enable,recommendedProxySettings,recommendedTlsSettings,
#   upstreams,virtualHosts}: services/web-servers/nginx/default.nix,
#   vhost-options.nix, location-options.nix (with the mutual-exclusion
#   assertions and the security.acme.certs entry of enableACME vhosts);
# - security.acme.{acceptTerms,defaults.email,certs} and its two assertions:
#   security/acme/default.nix;
# - systemd.services.<name>.{description,wantedBy,wants,requires,after,
#   environment,path,serviceConfig,script,startAt}: nixos/lib/systemd-unit-options.nix;
#   systemd.tmpfiles.rules: system/boot/systemd/tmpfiles.nix;
# - assertions, warnings: nixos/modules/misc/assertions.nix;
#   environment.systemPackages: config/system-path.nix;
# - what the host examples (nix/examples) also set: system.stateVersion
#   (misc/version.nix), boot.loader.systemd-boot.enable
#   (system/boot/loader/systemd-boot/systemd-boot.nix),
#   boot.loader.efi.canTouchEfiVariables (system/boot/loader/efi.nix),
#   networking.interfaces.<name>.ipv4.addresses (tasks/network-interfaces.nix),
#   fileSystems.<name>.{device,fsType} (tasks/filesystems.nix).
#
# Used by tests/nixeval (Go) and by the flake's checks.<system>.module-eval.
{
  lib,
  configuration,
  # The module under test: nix/module.nix alone (pkgs.eosc-perf-api from the
  # overlay), as the flake's nixosModules.default would also import it.
  module ? ../module.nix,
}:

let
  inherit (lib) mkOption types;

  fakeStorePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  fakePackage = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = fakeStorePath name;
    meta.mainProgram = name;
    # postgresql packages: the major version, in the default dataDir
    psqlSchema = lib.last (lib.splitString "-" name);
  };
  pkgs = {
    writeText = name: _text: fakeStorePath name;
    postgresql_16 = fakePackage "postgresql-16";
    postgresql_17 = fakePackage "postgresql-17";
    coreutils = fakePackage "coreutils";
    findutils = fakePackage "findutils";
    # What the flake's overlays.default adds.
    eosc-perf-api = fakePackage "eosc-perf-api";
  };

  portList = mkOption {
    type = types.listOf types.port;
    default = [ ];
    # as firewall.nix: canonicalizePortList
    apply = ports: lib.unique (builtins.sort builtins.lessThan ports);
  };
  strList = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };
  lines = mkOption {
    type = types.lines;
    default = "";
  };
  bool =
    default:
    mkOption {
      type = types.bool;
      inherit default;
    };

  firewallStandIn =
    { config, ... }:
    let
      cfg = config.networking.firewall;
    in
    {
      options = {
        networking.nftables.enable = bool false;
        services.firewalld = {
          enable = bool false;
          # firewalld/zone.nix (a subset of its options, same types).
          zones = mkOption {
            type = types.attrsOf (
              types.submodule {
                options = {
                  target = mkOption {
                    type = types.enum [
                      "ACCEPT"
                      "%%REJECT%%"
                      "DROP"
                    ];
                    default = "%%REJECT%%";
                  };
                  interfaces = mkOption {
                    type = types.listOf types.nonEmptyStr;
                    default = [ ];
                  };
                  ports = mkOption {
                    type = types.listOf (
                      types.submodule {
                        options = {
                          port = mkOption { type = types.either types.port (types.attrsOf types.port); };
                          protocol = mkOption {
                            type = types.enum [
                              "tcp"
                              "udp"
                              "sctp"
                              "dccp"
                            ];
                          };
                        };
                      }
                    );
                    default = [ ];
                  };
                  # pkgs.formats.xml's type
                  rules = mkOption {
                    type = types.listOf (types.attrsOf types.anything);
                    default = [ ];
                  };
                };
              }
            );
            default = { };
          };
        };
        networking.firewall = {
          enable = bool true;
          backend = mkOption {
            type = types.enum [
              "iptables"
              "nftables"
              "firewalld"
            ];
            default =
              if config.services.firewalld.enable then
                "firewalld"
              else if config.networking.nftables.enable then
                "nftables"
              else
                "iptables";
          };
          rejectPackets = bool false;
          allowedTCPPorts = portList;
          allowedUDPPorts = portList;
          interfaces = mkOption {
            type = types.attrsOf (types.submodule { options.allowedTCPPorts = portList; });
            default = { };
          };
          extraInputRules = lines;
          extraCommands = lines;
        };
      };
      config = lib.mkMerge [
        (lib.mkIf (cfg.enable && cfg.backend == "nftables") {
          assertions = [
            {
              assertion = cfg.extraCommands == "";
              message = "extraCommands is incompatible with the nftables based firewall: ${cfg.extraCommands}";
            }
          ];
        })
        (lib.mkIf (cfg.enable && cfg.backend == "firewalld") {
          assertions = [
            {
              assertion = cfg.interfaces == { };
              message = ''
                Per interface configurations is not supported with the firewalld
                based firewall. Create zone files instead.
              '';
            }
          ];
          services.firewalld.zones.nixos-fw-default = {
            target = if cfg.rejectPackets then "%%REJECT%%" else "DROP";
            ports =
              map (port: {
                inherit port;
                protocol = "tcp";
              }) cfg.allowedTCPPorts
              ++ map (port: {
                inherit port;
                protocol = "udp";
              }) cfg.allowedUDPPorts;
          };
        })
      ];
    };

  postgresqlStandIn =
    { config, ... }:
    let
      cfg = config.services.postgresql;
    in
    {
      options.services.postgresql = {
        enable = bool false;
        package = mkOption { type = types.package; };
        dataDir = mkOption { type = types.path; };
        settings = mkOption {
          type = types.submodule {
            freeformType = types.attrsOf (
              types.oneOf [
                types.bool
                types.float
                types.int
                types.str
              ]
            );
            options.port = mkOption {
              type = types.port;
              default = 5432;
            };
          };
          default = { };
        };
        enableTCPIP = bool false;
        authentication = lines;
        identMap = lines;
        ensureDatabases = strList;
        ensureUsers = mkOption {
          type = types.listOf (
            types.submodule {
              options.name = mkOption { type = types.str; };
              options.ensureDBOwnership = bool false;
            }
          );
          default = [ ];
        };
      };

      config = lib.mkIf cfg.enable {
        assertions = map (u: {
          assertion = u.ensureDBOwnership -> lib.elem u.name cfg.ensureDatabases;
          message = "For each database user defined with `services.postgresql.ensureUsers` and `ensureDBOwnership = true;`, a database with the same name must be defined in `services.postgresql.ensureDatabases`.\n\nOffender: ${u.name} has not been found among databases.";
        }) cfg.ensureUsers;
        # Its package default (from system.stateVersion) is a mkDefault,
        # which a second definition of the same priority would clash with.
        services.postgresql.package = lib.mkDefault pkgs.postgresql_17;
        services.postgresql.dataDir = lib.mkDefault "/var/lib/postgresql/${cfg.package.psqlSchema}";
        services.postgresql.identMap = lib.mkAfter "postgres postgres postgres";
        services.postgresql.settings.listen_addresses = if cfg.enableTCPIP then "*" else "localhost";
        services.postgresql.authentication = lib.mkMerge [
          (lib.mkBefore "# Generated file; do not edit!")
          (lib.mkAfter ''
            # default value of services.postgresql.authentication
            local all postgres         peer map=postgres
            local all all              peer
            host  all all 127.0.0.1/32 md5
            host  all all ::1/128      md5
          '')
        ];
        systemd.services.postgresql-setup.script = "# nixpkgs: wait for PostgreSQL, ensureDatabases, ensureUsers";
      };
    };

  nginxStandIn =
    { config, ... }:
    let
      cfg = config.services.nginx;
      vhosts = lib.attrValues cfg.virtualHosts;
      location = types.submodule {
        options = {
          proxyPass = mkOption {
            type = types.nullOr types.str;
            default = null;
          };
          tryFiles = mkOption {
            type = types.nullOr types.str;
            default = null;
          };
          root = mkOption {
            type = types.nullOr types.path;
            default = null;
          };
          return = mkOption {
            type = types.nullOr (
              types.oneOf [
                types.str
                types.int
              ]
            );
            default = null;
          };
          extraConfig = lines;
        };
      };
      vhost = types.submodule (
        { name, ... }:
        {
          options = {
            serverName = mkOption {
              type = types.nullOr types.str;
              default = null;
            };
            listenAddresses = strList;
            enableACME = bool false;
            useACMEHost = mkOption {
              type = types.nullOr types.str;
              default = null;
            };
            addSSL = bool false;
            onlySSL = bool false;
            forceSSL = bool false;
            rejectSSL = bool false;
            sslCertificate = mkOption { type = types.path; };
            sslCertificateKey = mkOption { type = types.path; };
            root = mkOption {
              type = types.nullOr types.path;
              default = null;
            };
            locations = mkOption {
              type = types.attrsOf location;
              default = { };
            };
          };
        }
      );
    in
    {
      options = {
        services.nginx = {
          enable = bool false;
          recommendedProxySettings = bool false;
          recommendedTlsSettings = bool false;
          upstreams = mkOption {
            type = types.attrsOf (
              types.submodule {
                options = {
                  servers = mkOption {
                    type = types.attrsOf (
                      types.submodule {
                        freeformType = types.attrsOf (
                          types.oneOf [
                            types.bool
                            types.int
                            types.str
                          ]
                        );
                        options.backup = bool false;
                      }
                    );
                    default = { };
                  };
                  extraConfig = lines;
                };
              }
            );
            default = { };
          };
          virtualHosts = mkOption {
            type = types.attrsOf vhost;
            default = {
              localhost = { };
            };
          };
        };
        security.acme = {
          acceptTerms = bool false;
          defaults.email = mkOption {
            type = types.nullOr types.str;
            default = null;
          };
          certs = mkOption {
            type = types.attrsOf (
              types.submodule {
                options.email = mkOption {
                  type = types.nullOr types.str;
                  default = null;
                };
              }
            );
            default = { };
          };
        };
      };
      config = lib.mkMerge [
        (lib.mkIf cfg.enable {
          assertions = [
            {
              assertion = lib.all (h: lib.count lib.id [ h.addSSL h.onlySSL h.forceSSL h.rejectSSL ] <= 1) vhosts;
              message = ''
                Options services.nginx.service.virtualHosts.<name>.addSSL,
                services.nginx.virtualHosts.<name>.onlySSL,
                services.nginx.virtualHosts.<name>.forceSSL and
                services.nginx.virtualHosts.<name>.rejectSSL are mutually exclusive.
              '';
            }
            {
              assertion = lib.all (h: !(h.enableACME && h.useACMEHost != null)) vhosts;
              message = ''
                Options services.nginx.service.virtualHosts.<name>.enableACME and
                services.nginx.virtualHosts.<name>.useACMEHost are mutually exclusive.
              '';
            }
          ];
          security.acme.certs = lib.listToAttrs (
            map (h: lib.nameValuePair h.name { }) (
              lib.filter (h: h.value.enableACME && h.value.useACMEHost == null) (
                lib.mapAttrsToList (name: value: {
                  name = if value.serverName != null then value.serverName else name;
                  inherit value;
                }) cfg.virtualHosts
              )
            )
          );
        })
        (lib.mkIf (config.security.acme.certs != { }) {
          assertions = [
            {
              assertion =
                config.security.acme.defaults.email != null
                || lib.all (c: c.email != null) (lib.attrValues config.security.acme.certs);
              message = ''
                You must define `security.acme.certs.<name>.email` or
                `security.acme.defaults.email` to register with the CA. Note that using
                many different addresses for certs may trigger account rate limits.
              '';
            }
            {
              assertion = config.security.acme.acceptTerms;
              message = ''
                You must accept the CA's terms of service before using
                the ACME module by setting `security.acme.acceptTerms`
                to `true`. For Let's Encrypt's ToS see https://letsencrypt.org/repository/
              '';
            }
          ];
        })
      ];
    };

  nixosStandIns = {
    options = {
      system.stateVersion = mkOption { type = types.str; };
      boot.loader.systemd-boot.enable = bool false;
      boot.loader.efi.canTouchEfiVariables = bool false;
      networking.interfaces = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.ipv4.addresses = mkOption {
              type = types.listOf (
                types.submodule {
                  options.address = mkOption { type = types.str; };
                  options.prefixLength = mkOption { type = types.addCheck types.int (n: n >= 0 && n <= 32); };
                }
              );
              default = [ ];
            };
          }
        );
        default = { };
      };
      fileSystems = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.device = mkOption {
              type = types.nullOr types.str;
              default = null;
            };
            options.fsType = mkOption {
              type = types.str;
              default = "auto";
            };
          }
        );
        default = { };
      };
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = strList;
      environment.systemPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      systemd.tmpfiles.rules = strList;
      systemd.services = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = {
              description = mkOption {
                type = types.str;
                default = "";
              };
              wantedBy = strList;
              wants = strList;
              requires = strList;
              after = strList;
              environment = mkOption {
                type = types.attrsOf types.str;
                default = { };
              };
              path = mkOption {
                type = types.listOf types.package;
                default = [ ];
              };
              serviceConfig = mkOption {
                type = types.attrsOf types.anything;
                default = { };
              };
              script = lines;
              startAt = mkOption {
                type = types.either types.str (types.listOf types.str);
                default = [ ];
              };
            };
          }
        );
        default = { };
      };
    };
  };

  evaluated = lib.evalModules {
    specialArgs = { inherit pkgs; };
    modules = [
      nixosStandIns
      firewallStandIn
      postgresqlStandIn
      nginxStandIn
      module
      configuration
    ];
  };
  inherit (evaluated) config;
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  pg = config.services.postgresql;
  fw = config.networking.firewall;
  nginx = config.services.nginx;
in
{
  inherit failedAssertions;
  inherit (config) warnings;
  firewall = {
    inherit (fw)
      backend
      allowedTCPPorts
      extraInputRules
      extraCommands
      ;
    interfaces = lib.mapAttrs (_: i: i.allowedTCPPorts) fw.interfaces;
    zones = lib.mapAttrs (_: z: {
      inherit (z) interfaces target rules;
      ports = map (p: "${toString p.port}/${p.protocol}") z.ports;
    }) config.services.firewalld.zones;
  };
  postgresql =
    if pg.enable then
      {
        enable = true;
        package = pg.package.name;
        dataDir = toString pg.dataDir;
        listenAddresses = pg.settings.listen_addresses;
        inherit (pg.settings) port;
        inherit (pg)
          authentication
          identMap
          ensureDatabases
          ensureUsers
          ;
      }
    else
      { enable = false; };
  nginx =
    if nginx.enable then
      {
        enable = true;
        inherit (nginx) recommendedProxySettings recommendedTlsSettings;
        upstreams = lib.mapAttrs (_: u: { inherit (u) servers extraConfig; }) nginx.upstreams;
        virtualHosts = lib.mapAttrs (_: v: {
          inherit (v) forceSSL enableACME listenAddresses;
          # A vhost with SSL and no ACME must have a certificate: reading it
          # fails here as nginx's configuration would (NixOS checks the
          # assertions first).
          sslCertificate = if v.enableACME || failedAssertions != [ ] then null else toString v.sslCertificate;
          sslCertificateKey =
            if v.enableACME || failedAssertions != [ ] then null else toString v.sslCertificateKey;
          locations = lib.mapAttrs (_: l: {
            inherit (l) proxyPass tryFiles extraConfig;
            root = if l.root == null then null else toString l.root;
            return = if l.return == null then null else toString l.return;
          }) v.locations;
        }) nginx.virtualHosts;
        acmeCerts = lib.attrNames config.security.acme.certs;
      }
    else
      { enable = false; };
  tmpfiles = config.systemd.tmpfiles.rules;
  units = lib.mapAttrs (_: u: {
    inherit (u)
      description
      wantedBy
      wants
      requires
      after
      environment
      serviceConfig
      script
      startAt
      ;
    path = map (p: p.name) u.path;
  }) config.systemd.services;
}
