# Evaluates nix/module.nix with nixpkgs' lib alone — no nixpkgs package set,
# so it runs under any Nix that can evaluate that lib (Debian's Nix 2.8 here,
# where all of nixpkgs cannot be evaluated) — against small stand-ins of the
# NixOS options the module sets, and returns what a test wants to look at as
# plain data (nix-instantiate --eval --strict --json).
#
# The stand-ins keep the behaviour the module relies on, taken from nixpkgs
# (nixos-26.05 line):
# - services.postgresql.settings.listen_addresses is set without mkDefault
#   when PostgreSQL is enabled, and the default pg_hba lines come mkAfter
#   (nixos/modules/services/databases/postgresql.nix);
# - postgresql-setup.service has a script of its own that ours extends;
# - firewall interfaces are attrsOf submodules of port lists (firewall.nix).
#
# Used by tests/nixeval (Go) and by the flake's checks.<system>.module-eval.
{
  lib,
  configuration,
}:

let
  inherit (lib) mkOption types;

  fakeStorePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  fakePackage = name: {
    type = "derivation";
    inherit name;
    outPath = fakeStorePath name;
    meta.mainProgram = name;
  };
  pkgs = {
    writeText = name: _text: fakeStorePath name;
    postgresql_17 = fakePackage "postgresql-17";
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

  nixosStandIns =
    { config, ... }:
    {
      options = {
        assertions = mkOption {
          type = types.listOf types.unspecified;
          default = [ ];
        };
        warnings = strList;
        environment.systemPackages = mkOption {
          type = types.listOf types.package;
          default = [ ];
        };
        networking.nftables.enable = mkOption {
          type = types.bool;
          default = false;
        };
        networking.firewall = {
          allowedTCPPorts = portList;
          interfaces = mkOption {
            type = types.attrsOf (types.submodule { options.allowedTCPPorts = portList; });
            default = { };
          };
          extraInputRules = lines;
          extraCommands = lines;
        };
        services.postgresql = {
          enable = mkOption {
            type = types.bool;
            default = false;
          };
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
          authentication = lines;
          identMap = lines;
          ensureDatabases = strList;
          ensureUsers = mkOption {
            type = types.listOf (
              types.submodule {
                options.name = mkOption { type = types.str; };
                options.ensureDBOwnership = mkOption {
                  type = types.bool;
                  default = false;
                };
              }
            );
            default = [ ];
          };
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
                serviceConfig = mkOption {
                  type = types.attrsOf types.anything;
                  default = { };
                };
                script = lines;
              };
            }
          );
          default = { };
        };
      };

      config = lib.mkIf config.services.postgresql.enable {
        # As nixpkgs' postgresql.nix: its package default (from
        # system.stateVersion) is a mkDefault, which a second definition of
        # the same priority would clash with.
        services.postgresql.package = lib.mkDefault pkgs.postgresql_17;
        services.postgresql.identMap = lib.mkAfter "postgres postgres postgres";
        services.postgresql.settings.listen_addresses = "localhost";
        services.postgresql.authentication = lib.mkAfter ''
          # default value of services.postgresql.authentication
          local all postgres         peer map=postgres
          local all all              peer
          host  all all 127.0.0.1/32 md5
          host  all all ::1/128      md5
        '';
        systemd.services.postgresql-setup.script = "# nixpkgs: wait for PostgreSQL, ensureDatabases, ensureUsers";
      };
    };

  evaluated = lib.evalModules {
    specialArgs = { inherit pkgs; };
    modules = [
      nixosStandIns
      ../module.nix
      { services.eosc-perf.package = lib.mkDefault (fakePackage "eosc-perf-api"); }
      configuration
    ];
  };
  inherit (evaluated) config;
  pg = config.services.postgresql;
in
{
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  inherit (config) warnings;
  firewall = {
    inherit (config.networking.firewall) allowedTCPPorts extraInputRules extraCommands;
    interfaces = lib.mapAttrs (_: i: i.allowedTCPPorts) config.networking.firewall.interfaces;
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
      ;
  }) config.systemd.services;
}
