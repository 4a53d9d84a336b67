# checks.<system>.module-eval: the module evaluated by real NixOS (the pinned
# nixpkgs, every module, real option types and merging), which the Go test in
# tests/nixeval can only approximate with stand-ins. Evaluation only: the
# systems are instantiated, not built.
#
# - The README's production example (nix/examples/{api,db}-host.nix)
#   evaluates without failed assertions, and yields the port policy and
#   PostgreSQL settings DESIGN.md §6 asks for.
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
  base = {
    nixpkgs.hostPlatform = stdenv.hostPlatform.system;
    fileSystems."/" = {
      device = "/dev/vda1";
      fsType = "ext4";
    };
    boot.loader.grub.device = "nodev";
    system.stateVersion = "26.05";
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

  api = nixos ../examples/api-host.nix;
  db = nixos ../examples/db-host.nix;
  refused = nixos { services.eosc-perf.enable = true; };

  checks = {
    "the API host example passes every assertion" = failedAssertions api == [ ];
    "the database host example passes every assertion" = failedAssertions db == [ ];
    "5000 is open on frontend-net only" =
      api.networking.firewall.interfaces.eth0.allowedTCPPorts == [ 5000 ]
      && !(lib.elem 5000 api.networking.firewall.allowedTCPPorts)
      && !(api.networking.firewall.interfaces ? eth1);
    "the API listens on its frontend-net address" =
      api.systemd.services.eosc-perf.environment.LISTEN_ADDR == "198.18.1.1:5000";
    "secrets reach the API as credentials, not values" =
      api.systemd.services.eosc-perf.environment.SECRET_KEY_FILE == "%d/secret_key"
      && lib.elem "secret_key:/run/secrets/eosc-perf/secret-key" api.systemd.services.eosc-perf.serviceConfig.LoadCredential;
    "the API host runs no PostgreSQL" = !api.services.postgresql.enable;
    "PostgreSQL listens on backend-net only" =
      db.services.postgresql.settings.listen_addresses == "198.18.2.3";
    "pg_hba lets in the API host only" =
      lib.hasInfix "host eosc_perf eosc_perf 198.18.2.1/32 scram-sha-256" db.services.postgresql.authentication;
    "5432 is let through from the API host only" =
      lib.hasInfix "ip saddr { 198.18.2.1/32 } tcp dport 5432 accept" db.networking.firewall.extraInputRules
      && !(lib.elem 5432 db.networking.firewall.allowedTCPPorts);
    "the data directory is the volume" = db.services.postgresql.dataDir == "/data";
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
    apiSystem = builtins.unsafeDiscardOutputDependency api.system.build.toplevel.drvPath;
    dbSystem = builtins.unsafeDiscardOutputDependency db.system.build.toplevel.drvPath;
    passed = lib.concatStringsSep "\n" (lib.attrNames checks);
  }
  ''
    printf '%s\n' "$passed" "api: $apiSystem" "db: $dbSystem" > "$out"
  ''
