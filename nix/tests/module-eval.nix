# checks.<system>.module-eval: the module evaluated by real NixOS (the pinned
# nixpkgs, every module, real option types and merging), which the Go test in
# tests/nixeval can only approximate with stand-ins. Evaluation only: the
# systems are instantiated, not built.
#
# - The README's production topology (nix/examples/{proxy,api,db}-host.nix)
#   evaluates without failed assertions, and yields the port policy,
#   proxy, PostgreSQL settings and backup DESIGN.md §6 asks for.
# - An API host with firewalld and a host whose PostgreSQL serves others
#   evaluate (issue 9, defects 2 and 3).
# - A production API without its secrets is refused by our assertions.
#
# nixpkgs.lib.nixosSystem: nixpkgs flake.nix (lib.nixosSystem →
# nixos/lib/eval-config.nix); nixpkgs.hostPlatform: nixos/modules/misc/nixpkgs.nix.
{
  lib,
  runCommand,
  stdenv,
  self,
  nixpkgs,
}:

let
  # What nixos-generate-config's hardware-configuration.nix would add; the
  # examples bring their boot loader and stateVersion (the mkDefaults serve
  # the configurations below that have none).
  base = {
    nixpkgs.hostPlatform = stdenv.hostPlatform.system;
    fileSystems."/" = {
      device = "/dev/vda1";
      fsType = "ext4";
    };
    boot.loader.grub.device = lib.mkDefault "nodev";
    system.stateVersion = lib.mkDefault "26.05";
  };
  nixos =
    module:
    (nixpkgs.lib.nixosSystem {
      modules = [
        self.nixosModules.default
        base
        module
      ];
    }).config;

  failedAssertions = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  proxy = nixos ../examples/proxy-host.nix;
  api = nixos (import ../examples/api-host.nix { address = "198.18.2.1"; });
  db = nixos ../examples/db-host.nix;
  refused = nixos { services.eosc-perf.enable = true; };
  # A host whose PostgreSQL also serves others (issue 9, defect 3).
  shared = nixos {
    services.postgresql = {
      enable = true;
      ensureDatabases = [ "other" ];
    };
    services.eosc-perf = {
      enable = true;
      environment = "development";
    };
  };
  firewalld = nixos {
    services.firewalld.enable = true;
    imports = [ (import ../examples/api-host.nix { address = "198.18.2.1"; }) ];
  };

  checks = {
    "the proxy host example passes every assertion" = failedAssertions proxy == [ ];
    "the API host example passes every assertion" = failedAssertions api == [ ];
    "the database host example passes every assertion" = failedAssertions db == [ ];
    "an API host with firewalld passes every assertion" = failedAssertions firewalld == [ ];
    "a host with its own PostgreSQL passes every assertion and keeps its data directory" =
      failedAssertions shared == [ ]
      && shared.services.postgresql.dataDir != "/data"
      && lib.elem "other" shared.services.postgresql.ensureDatabases;
    "nginx proxies the API prefix to the upstream of both API hosts" =
      proxy.services.nginx.virtualHosts."perf.example.org".forceSSL
      && proxy.services.nginx.virtualHosts."perf.example.org".locations."/api/v1/".proxyPass
        == "http://eosc-perf-api/"
      && lib.attrNames proxy.services.nginx.upstreams.eosc-perf-api.servers == [
        "198.18.2.1:5000"
        "198.18.2.2:5000"
      ];
    "the API listens on its address and reaches the database on 5433" =
      api.systemd.services.eosc-perf.environment.LISTEN_ADDR == "198.18.2.1:5000"
      && api.systemd.services.eosc-perf.environment.DB_PORT == "5433";
    "5000 is let in from the proxy only" =
      lib.hasInfix "iptables -w -A nixos-fw -p tcp --dport 5000 -s 198.18.2.10/32 -i eth0 -j nixos-fw-accept" api.networking.firewall.extraCommands
      && api.networking.firewall.interfaces == { };
    "secrets reach the API as credentials, not values" =
      api.systemd.services.eosc-perf.environment.SECRET_KEY_FILE == "%d/secret_key"
      && lib.elem "secret_key:/run/secrets/eosc-perf/secret-key" api.systemd.services.eosc-perf.serviceConfig.LoadCredential;
    "the API host runs no PostgreSQL" = !api.services.postgresql.enable;
    "PostgreSQL listens on backend-net only, on 5433" =
      db.services.postgresql.settings.listen_addresses == "198.18.2.3"
      && db.services.postgresql.settings.port == 5433;
    "pg_hba lets in the API hosts only" =
      lib.hasInfix "host eosc_perf eosc_perf 198.18.2.1/32 scram-sha-256" db.services.postgresql.authentication
      && lib.hasInfix "host eosc_perf eosc_perf 198.18.2.2/32 scram-sha-256" db.services.postgresql.authentication;
    "5433 is let through from the API hosts only" =
      lib.hasInfix "ip saddr { 198.18.2.1/32, 198.18.2.2/32 } tcp dport 5433 accept" db.networking.firewall.extraInputRules
      && !(lib.elem 5433 db.networking.firewall.allowedTCPPorts);
    "the data directory is the volume" = db.services.postgresql.dataDir == "/data";
    "the backup runs on the database host" = db.systemd.services ? eosc-perf-backup;
    "production without secrets is refused" =
      lib.any (lib.hasInfix "production needs secretKeyFile") (failedAssertions refused)
      && lib.any (lib.hasInfix "production needs adminEntitlements") (failedAssertions refused);
  };
  failed = lib.attrNames (lib.filterAttrs (_: ok: !ok) checks);
in
assert lib.assertMsg (failed == [ ]) "module-eval: failed: ${lib.concatStringsSep "; " failed}";
runCommand "eosc-perf-module-eval"
  {
    # Instantiating the toplevels evaluates the whole systems, assertions
    # included; discarding the output dependency keeps them from being built.
    proxySystem = builtins.unsafeDiscardOutputDependency proxy.system.build.toplevel.drvPath;
    apiSystem = builtins.unsafeDiscardOutputDependency api.system.build.toplevel.drvPath;
    dbSystem = builtins.unsafeDiscardOutputDependency db.system.build.toplevel.drvPath;
    passed = lib.concatStringsSep "\n" (lib.attrNames checks);
  }
  ''
    printf '%s\n' "$passed" "proxy: $proxySystem" "api: $apiSystem" "db: $dbSystem" > "$out"
  ''
