# The PostgreSQL half of services.eosc-perf (options in ./module-options.nix):
# the database of an API on this host (database.createLocally) or of API
# hosts elsewhere on backend-net (databaseServer.enable), and its backup.
#
# nixpkgs sources checked (nixos-26.05 line):
# - nixos/modules/services/databases/postgresql.nix: enable, package (a
#   mkDefault from system.stateVersion: pinned here at priority 900, only
#   with database.manageServer), dataDir (a non-default one gets
#   ReadWritePaths but is not created: we create it), settings (freeform;
#   listen_addresses is set without mkDefault, hence mkForce), settings.port,
#   authentication (our lines come first: the defaults are mkAfter),
#   identMap, ensureDatabases, ensureUsers (ensureDBOwnership needs a
#   database of the same name), and postgresql-setup.service, whose `script`
#   we extend (it runs as postgres with psql on PATH and PGPORT set).
# - Without database.manageServer the module touches none of package,
#   dataDir, port or listen_addresses: like nixpkgs'
#   services/web-apps/miniflux.nix and gotosocial.nix (createLocally), it
#   only adds ensureDatabases, ensureUsers and pg_hba/identMap lines, which
#   merge with the host's own.
# - The backup mirrors services/backup/postgresql-backup.nix (a oneshot
#   service as postgres with startAt, requires postgresql.target, umask 0077,
#   a tmpfiles rule for its directory, an in-progress file renamed when
#   complete), with pg_dump's custom format and a retention count, which
#   services.postgresqlBackup lacks (it keeps one previous dump).
# - Firewall rules: ./module-firewall.nix.
# - systemd.tmpfiles.rules: nixos/modules/system/boot/systemd/tmpfiles.nix;
#   systemd.services.<name>.startAt: nixos/lib/systemd-unit-options.nix.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkIf mkMerge mkForce;

  cfg = config.services.eosc-perf;
  db = cfg.database;
  pg = config.services.postgresql;
  production = cfg.environment == "production";
  forLocalApi = cfg.enable && db.createLocally;
  forRemoteApi = cfg.databaseServer.enable;
  managed = db.manageServer;
  # The server's port: ours when we own it, else the host's (asserted equal).
  port = if managed then db.port else pg.settings.port;

  settingsReference = lib.listToAttrs (
    map (s: lib.nameValuePair s.name s) (lib.importJSON ./settings.json).settings
  );

  # The role's password: the operator's file or, for API hosts in
  # development, the program's own development default (what the API uses
  # when DB_PASSWORD is unset), so that both ends agree without
  # configuration. A local API needs none (peer authentication).
  developmentPassword = settingsReference.DB_PASSWORD.default.development;
  rolePasswordFile =
    if db.passwordFile != null then
      db.passwordFile
    else if forRemoteApi && !production then
      pkgs.writeText "eosc-perf-db-password-development" developmentPassword
    else
      null;

  apiAddresses = cfg.databaseServer.apiAddresses;
  # A host address without a prefix length means that host alone.
  hostMask =
    a:
    if lib.hasInfix "/" a then
      a
    else if lib.hasInfix ":" a then
      "${a}/128"
    else
      "${a}/32";
  listenAddresses = cfg.databaseServer.listenAddresses;

  # psql runs the backquoted command through the shell and keeps its output
  # in a variable: `eosc-perf-api scram-verifier` reads the credential and
  # prints its SCRAM-SHA-256 verifier, which PostgreSQL stores unchanged. The
  # password is in no store path, on no command line, and never reaches
  # PostgreSQL (so log_statement cannot log it). Re-run at every start, so
  # changing the file changes the password.
  setPasswordScript = ''
    psql -v ON_ERROR_STOP=1 -d postgres <<'EOF'
    \set verifier `${lib.getExe cfg.package} scram-verifier --password-file "$CREDENTIALS_DIRECTORY/eosc-perf-db-password"`
    ALTER ROLE "${db.user}" WITH LOGIN PASSWORD :'verifier';
    EOF
  '';
  ownershipScript = ''
    psql -v ON_ERROR_STOP=1 -d postgres -tAc 'ALTER DATABASE "${db.name}" OWNER TO "${db.user}"'
  '';

  backupScript = ''
    set -euo pipefail
    umask 0077
    dir=${lib.escapeShellArg cfg.backup.directory}
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    pg_dump --host=/run/postgresql --port=${toString port} --format=custom \
      --file="$dir/.${db.name}-$stamp.dump.in-progress" ${db.name}
    mv "$dir/.${db.name}-$stamp.dump.in-progress" "$dir/${db.name}-$stamp.dump"
    # Retention: the newest ${toString cfg.backup.keep} dumps (the names sort by time).
    find "$dir" -maxdepth 1 -name '${db.name}-*.dump' -printf '%f\n' | sort -r \
      | tail -n +${toString (cfg.backup.keep + 1)} | while read -r old; do rm -f -- "$dir/$old"; done
  '';
in
{
  config = mkMerge [
    (mkIf (forLocalApi || forRemoteApi) (mkMerge [
      {
        assertions = [
          {
            assertion = managed || pg.settings.port == db.port;
            message = "services.eosc-perf: database.port (${toString db.port}) differs from the port of this host's PostgreSQL (services.postgresql.settings.port = ${toString pg.settings.port}); set services.eosc-perf.database.port = config.services.postgresql.settings.port, or database.manageServer = true.";
          }
        ];

        services.postgresql = {
          # As miniflux.nix with createLocally: enabling is not owning.
          enable = true;
          ensureDatabases = [ db.name ];
          ensureUsers = [
            {
              name = db.user;
              ensureDBOwnership = db.user == db.name;
            }
          ];
        };

        systemd.services.postgresql-setup = mkMerge [
          (mkIf (rolePasswordFile != null) {
            serviceConfig.LoadCredential = [ "eosc-perf-db-password:${rolePasswordFile}" ];
            script = lib.mkAfter setPasswordScript;
          })
          (mkIf (db.user != db.name) { script = lib.mkAfter ownershipScript; })
        ];
      }

      # The module owns the server: the volume, the major version, the port.
      (mkIf managed {
        services.postgresql = {
          # Pinned, not left to system.stateVersion: a data directory belongs
          # to one major version. nixpkgs' postgresql.nix sets its own
          # `package = mkDefault …` (from stateVersion), and types.package
          # refuses two definitions of one priority: 900 beats that default
          # (1000) and still yields to a plain user setting (100).
          package = lib.mkOverride 900 pkgs.postgresql_17;
          dataDir = cfg.dataDir;
          settings.port = db.port;
        };
        # The volume: created (or its owner and mode corrected) at boot,
        # after local file systems are mounted; postgresql.service has
        # RequiresMountsFor= on it.
        systemd.tmpfiles.rules = [ "d ${cfg.dataDir} 0700 postgres postgres - -" ];
      })
    ]))

    # The API on this host: peer authentication over the Unix socket. The
    # service's user (eosc-perf) is mapped to the role.
    (mkIf forLocalApi {
      services.postgresql.identMap = ''
        eosc-perf eosc-perf ${db.user}
      '';
      services.postgresql.authentication = ''
        local ${db.name} ${db.user} peer map=eosc-perf
      '';
    })

    (mkIf forRemoteApi (mkMerge [
      {
        assertions = [
          {
            assertion = !production || listenAddresses != [ ];
            message = "services.eosc-perf.databaseServer: production needs listenAddresses (this host's backend-net addresses).";
          }
          {
            assertion = !production || apiAddresses != [ ];
            message = "services.eosc-perf.databaseServer: production needs apiAddresses (the API hosts on backend-net).";
          }
          {
            assertion = !production || db.passwordFile != null;
            message = "services.eosc-perf.databaseServer: production needs database.passwordFile (the role's password).";
          }
          {
            assertion =
              let
                current = toString (pg.settings.listen_addresses or "localhost");
                listed = lib.splitString "," (lib.replaceStrings [ " " ] [ "" ] current);
              in
              managed || current == "*" || lib.all (a: lib.elem a listed) listenAddresses;
            message = "services.eosc-perf.databaseServer: this host's PostgreSQL (services.postgresql.settings.listen_addresses = \"${toString (pg.settings.listen_addresses or "localhost")}\") does not listen on ${lib.concatStringsSep ", " listenAddresses}; add them there, or set database.manageServer = true.";
          }
        ];
        services.postgresql.authentication =
          if apiAddresses != [ ] then
            lib.concatMapStrings (a: "host ${db.name} ${db.user} ${a} scram-sha-256\n") (
              map hostMask apiAddresses
            )
          else
            "host ${db.name} ${db.user} all scram-sha-256\n";
        services.eosc-perf.internal.firewall = mkMerge [
          (mkIf (apiAddresses != [ ]) {
            sourceRules = [
              {
                port = port;
                sources = apiAddresses;
                interfaces = cfg.databaseServer.interfaces;
                comment = "eosc-perf: API hosts to PostgreSQL";
              }
            ];
          })
          (mkIf (apiAddresses == [ ] && cfg.openFirewall) { globalPorts = [ port ]; })
        ];
      }
      (mkIf managed {
        # listen_addresses is set by nixpkgs without mkDefault: mkForce.
        services.postgresql.settings.listen_addresses = mkForce (
          if listenAddresses != [ ] then
            lib.concatStringsSep "," listenAddresses
          else if cfg.openFirewall && !production then
            "*"
          else
            "localhost"
        );
        # Binding those addresses needs them configured: wait for the
        # network (the nixpkgs unit only orders itself after network.target).
        systemd.services.postgresql = {
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
        };
      })
    ]))

    {
      assertions = [
        {
          assertion = cfg.backup.enable -> forLocalApi || forRemoteApi;
          message = "services.eosc-perf.backup runs where this module configures PostgreSQL: enable databaseServer (database host) or the API with database.createLocally.";
        }
      ];
    }
    (mkIf (cfg.backup.enable && (forLocalApi || forRemoteApi)) {
      systemd.tmpfiles.rules = [ "d ${cfg.backup.directory} 0700 postgres postgres - -" ];
      systemd.services.eosc-perf-backup = {
        description = "Dump of the eosc-perf database";
        requires = [ "postgresql.target" ];
        after = [ "postgresql.target" ];
        path = [
          pg.package
          pkgs.coreutils
          pkgs.findutils
        ];
        startAt = cfg.backup.startAt;
        script = backupScript;
        serviceConfig = {
          Type = "oneshot";
          User = "postgres";
          Group = "postgres";
        };
      };
    })
  ];
}
