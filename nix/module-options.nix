# The options of services.eosc-perf; what they do is in ./module.nix (the API)
# and ./module-postgresql.nix (the database). Types: nixpkgs lib/types.nix.
{ lib, ... }:

let
  inherit (lib) mkOption mkEnableOption types;

  # An absolute path outside the Nix store (module.nix asserts the latter): a
  # string type keeps `./secret` path literals from being copied to the store.
  secretPath = types.nullOr (types.strMatching "/.+");
  # Database and role names go into pg_hba.conf and SQL unquoted or quoted
  # with "": keep them plain identifiers.
  sqlIdentifier = types.strMatching "[A-Za-z_][A-Za-z0-9_]*";
in
{
  options.services.eosc-perf = {
    enable = mkEnableOption "the EOSC Performance API (`eosc-perf-api serve`) on this host";

    package = mkOption {
      type = types.package;
      defaultText = lib.literalMD "`packages.<system>.default` of the eosc-perf-api flake";
      description = "The eosc-perf-api package.";
    };

    environment = mkOption {
      type = types.enum [
        "production"
        "development"
      ];
      default = "production";
      description = ''
        `FLASK_ENV` of the service. Production refuses to evaluate without
        {option}`services.eosc-perf.secretKeyFile`, {option}`services.eosc-perf.adminEntitlements` and, unless the
        database is local, {option}`services.eosc-perf.database.passwordFile`; it opens port 5000
        on {option}`services.eosc-perf.frontendInterfaces` only and PostgreSQL only to
        {option}`services.eosc-perf.databaseServer.apiAddresses`. Development uses the program's
        development defaults and opens 5000 (and 5432 where PostgreSQL runs)
        on every interface.
      '';
    };

    listenAddress = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "198.18.1.1";
      description = ''
        The frontend-net address the API listens on (`LISTEN_ADDR`); `null`
        listens on every address, leaving the separation to the firewall.
      '';
    };

    port = mkOption {
      type = types.port;
      default = 5000;
      description = "TCP port of the API.";
    };

    frontendInterfaces = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "eth1" ];
      description = ''
        The interfaces that form frontend-net. In production the API port is
        opened on these only (networking.firewall.interfaces).
      '';
    };

    secretKeyFile = mkOption {
      type = secretPath;
      default = null;
      example = "/run/secrets/eosc-perf/secret-key";
      description = "File holding `SECRET_KEY`, passed as a systemd credential. Required in production.";
    };

    adminEntitlements = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = null;
      example = [ "urn:mace:egi.eu:group:perf.eosc-synergy.eu:role=admin#aai.egi.eu" ];
      description = ''
        `ADMIN_ENTITLEMENTS`. Required in production; an empty list makes every
        registered user an administrator (upstream's rule).
      '';
    };

    settings = mkOption {
      type = types.attrsOf (
        types.oneOf [
          types.str
          types.int
          types.bool
          (types.listOf types.str)
        ]
      );
      default = { };
      example = {
        TRUSTED_OP_LIST = [ "https://aai.egi.eu/auth/realms/egi" ];
        MAIL_SERVER = "smtp.example.org";
        LOG_LEVEL = "info";
      };
      description = ''
        Further settings of `eosc-perf-api config --json` (nix/settings.json),
        by their environment variable names: lists are joined with commas.
        Names the module sets itself and secrets are refused here.
      '';
    };

    dataDir = mkOption {
      type = types.strMatching "/.+";
      default = "/data";
      description = ''
        The PostgreSQL data directory wherever this module runs PostgreSQL:
        the volume of the original deployment (PGDATA=/data). Created with
        owner postgres and mode 0700. On a dedicated ext4 file system, use a
        subdirectory (initdb refuses a directory holding lost+found).
      '';
    };

    database = {
      createLocally = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Run PostgreSQL on this host and connect over its Unix socket with
          peer authentication. When false, connect to {option}`services.eosc-perf.database.host`.
        '';
      };
      host = mkOption {
        type = types.str;
        default = "/run/postgresql";
        example = "198.18.2.3";
        description = "`DB_HOST` when {option}`services.eosc-perf.database.createLocally` is false: the database host's backend-net address.";
      };
      port = mkOption {
        type = types.port;
        default = 5432;
        description = "`DB_PORT`, and the port of the PostgreSQL this module runs.";
      };
      name = mkOption {
        type = sqlIdentifier;
        default = "eosc_perf";
        description = "`DB_NAME`: the database, created where this module runs PostgreSQL.";
      };
      user = mkOption {
        type = sqlIdentifier;
        default = "eosc_perf";
        description = "`DB_USER`: the role, created (owning the database) where this module runs PostgreSQL.";
      };
      passwordFile = mkOption {
        type = secretPath;
        default = null;
        example = "/run/secrets/eosc-perf/db-password";
        description = ''
          File holding the role's password: on the API host it becomes
          `DB_PASSWORD_FILE` (a systemd credential), on the database host it
          sets the role's password. Required in production unless the
          database is local (peer authentication).
        '';
      };
    };

    databaseServer = {
      enable = mkEnableOption "PostgreSQL for an eosc-perf API on another host of backend-net";
      listenAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "198.18.2.3" ];
        description = "This host's backend-net addresses; PostgreSQL listens on these only (production).";
      };
      interfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "eth1" ];
        description = "The backend-net interfaces; 5432 is opened on these only (production).";
      };
      apiAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "198.18.2.1" ];
        description = ''
          Addresses (or CIDR ranges) of the API hosts on backend-net: the only
          sources let through the firewall to 5432 and given a pg_hba line
          (scram-sha-256) in production.
        '';
      };
    };
  };
}
