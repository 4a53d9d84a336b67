# The options of services.eosc-perf; what they do is in ./module.nix (the
# API), ./module-postgresql.nix (the database and its backup),
# ./module-proxy.nix (the HTTPS reverse proxy) and ./module-firewall.nix.
# Types: nixpkgs lib/types.nix; mkPackageOption: lib/options.nix.
{ lib, pkgs, ... }:

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

    # pkgs.eosc-perf-api comes from the flake's overlays.default; the flake's
    # nixosModules.default also builds it from the host's pkgs without it.
    package = lib.mkPackageOption pkgs "eosc-perf-api" {
      extraDescription = ''
        Add the flake's `overlays.default` to `nixpkgs.overlays` when you
        import {file}`nix/module.nix` directly; the flake's
        `nixosModules.default` builds the package from the host's `pkgs`
        itself (cross-compilation and overlays apply). The database host also
        uses it: `eosc-perf-api scram-verifier` turns the password file into
        the SCRAM-SHA-256 verifier given to PostgreSQL.
      '';
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
        database is local, {option}`services.eosc-perf.database.passwordFile`; it opens the API port
        on {option}`services.eosc-perf.frontendInterfaces` (or to
        {option}`services.eosc-perf.proxyAddresses`) only and PostgreSQL only to
        {option}`services.eosc-perf.databaseServer.apiAddresses`. Development uses the program's
        development defaults and listens on loopback only, opening nothing,
        unless {option}`services.eosc-perf.openFirewall` is set.
      '';
    };

    listenAddress = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "198.18.1.1";
      description = ''
        The address the API listens on (`LISTEN_ADDR`). `null` means
        `127.0.0.1` when the reverse proxy runs on this host
        ({option}`services.eosc-perf.proxy.enable`) or in development without
        {option}`services.eosc-perf.openFirewall`, and every address otherwise
        (the firewall then keeps the port to
        {option}`services.eosc-perf.frontendInterfaces`).
      '';
    };

    port = mkOption {
      type = types.port;
      default = 5000;
      description = "TCP port of the API.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Open the API port on every interface (and, in development, let the
        API and a PostgreSQL of this module listen beyond loopback). Off, the
        module opens only what {option}`services.eosc-perf.frontendInterfaces`,
        {option}`services.eosc-perf.proxyAddresses`,
        {option}`services.eosc-perf.proxy.interfaces` and
        {option}`services.eosc-perf.databaseServer` name.
      '';
    };

    proxyAddresses = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "198.18.2.10" ];
      description = ''
        Addresses (or CIDR ranges) of the reverse proxies in front of this API
        host: when set, the API port is let through the firewall from these
        sources only (on {option}`services.eosc-perf.frontendInterfaces` when
        those are set too), so that no other host of that network reaches the
        API past the proxy.
      '';
    };

    environmentFile = mkOption {
      type = types.nullOr (types.strMatching "/.+");
      default = null;
      example = "/run/secrets/eosc-perf/environment";
      description = ''
        A file of further `NAME=value` settings (systemd `EnvironmentFile=`),
        read by systemd as root before the service starts: settings kept out
        of the Nix store, such as a mail server, written by sops-nix or agenix.
        Secrets with a `*_FILE` variant (`SECRET_KEY`, `DB_PASSWORD`) belong in
        {option}`services.eosc-perf.secretKeyFile` and
        {option}`services.eosc-perf.database.passwordFile` instead, which never
        enter the service's environment. systemd does not watch the file: see
        the README (Deploy, secrets) for restarting the service when it or a
        secret changes.
      '';
    };

    frontendInterfaces = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "eth1" ];
      description = ''
        The interfaces towards the API's clients: frontend-net, or the network
        of the reverse proxies. In production the API port is opened on these
        only (for the host's {option}`networking.firewall.backend`: per-interface
        ports, or a firewalld zone), to
        {option}`services.eosc-perf.proxyAddresses` only when those are set.
        Development ignores them (nothing is opened without
        {option}`services.eosc-perf.openFirewall`).
      '';
    };

    secretKeyFile = mkOption {
      type = secretPath;
      default = null;
      example = "/run/secrets/eosc-perf/secret-key";
      description = ''
        File holding `SECRET_KEY`, passed as a systemd credential
        (`LoadCredential=`, read by systemd as root: the file may be readable
        by root only). Required in production. Outside the Nix store: sops-nix
        puts secrets under {file}`/run/secrets/`, agenix under {file}`/run/agenix/`.
      '';
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
        The PostgreSQL data directory when this module owns the server
        ({option}`services.eosc-perf.database.manageServer`): the volume of the
        original deployment (PGDATA=/data). Created with owner postgres and
        mode 0700. On a dedicated ext4 file system, use a subdirectory (initdb
        refuses a directory holding lost+found). Ignored otherwise.
      '';
    };

    database = {
      createLocally = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Use PostgreSQL on this host: the module adds the database, the role
          and a peer-authentication line for the service's user, and the API
          connects over the Unix socket. When false, the API connects to
          {option}`services.eosc-perf.database.host`.
        '';
      };
      manageServer = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Let this module own the host's PostgreSQL server: pin its package
          (`postgresql_17`, so that a later `system.stateVersion` cannot leave
          the data directory to another major version), put the data in
          {option}`services.eosc-perf.dataDir` and set its port
          ({option}`services.eosc-perf.database.port`) and, on a database host,
          its listen addresses. Leave it off on a host whose PostgreSQL also
          serves others: the module then only adds its database, role,
          pg_hba lines and the role's password to the
          {option}`services.postgresql` configured there, as nixpkgs' miniflux
          and gotosocial modules do, and asserts that the ports agree.
        '';
      };
      host = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "198.18.2.3";
        description = ''
          `DB_HOST` when {option}`services.eosc-perf.database.createLocally` is
          false: the database host's backend-net address (required then).
        '';
      };
      port = mkOption {
        type = types.port;
        default = 5432;
        example = 5433;
        description = ''
          The PostgreSQL port, used consistently: `DB_PORT` of the API, the
          server's `port` (when {option}`services.eosc-perf.database.manageServer`),
          the firewall rule of the database host, the backup and the role
          set-up. A port other than 5432 is advisable for a database reachable
          beyond the host.
        '';
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
          `DB_PASSWORD_FILE` (a systemd credential), on the database host
          postgresql-setup.service sets the role's password from it, sending
          PostgreSQL only its SCRAM-SHA-256 verifier (`eosc-perf-api
          scram-verifier`), never the password. Printable ASCII only. Required
          in production unless the database is local (peer authentication).
        '';
      };
    };

    databaseServer = {
      enable = mkEnableOption "PostgreSQL for an eosc-perf API on another host of backend-net";
      listenAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "198.18.2.3" ];
        description = ''
          This host's backend-net addresses; PostgreSQL listens on these only.
          Empty: loopback (every address in development with
          {option}`services.eosc-perf.openFirewall`). Without
          {option}`services.eosc-perf.database.manageServer` the module only
          checks that the server's own `listen_addresses` include them.
        '';
      };
      interfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "eth1" ];
        description = "The backend-net interfaces; the database port is let through on these only.";
      };
      apiAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "198.18.2.1" ];
        description = ''
          Addresses (or CIDR ranges) of the API hosts on backend-net: the only
          sources let through the firewall to the database port and given a
          pg_hba line (scram-sha-256). Required in production; in development,
          empty means any host (pg_hba `all`), the port opened only with
          {option}`services.eosc-perf.openFirewall`.
        '';
      };
    };

    backup = {
      enable = mkEnableOption ''
        a scheduled `pg_dump` of the database (custom format, for
        `pg_restore`) on the host whose PostgreSQL this module configures
        (a database host, or an API host with a local database), keeping the
        newest {option}`services.eosc-perf.backup.keep` dumps. The README
        (Deploy, backup and restore) shows the restore'';
      directory = mkOption {
        type = types.strMatching "/.+";
        default = "/var/backup/eosc-perf";
        description = "Directory of the dumps (owner postgres, mode 0700), named `<database>-<UTC time>.dump`.";
      };
      startAt = mkOption {
        type = types.either types.str (types.listOf types.str);
        default = "*-*-* 02:15:00";
        description = "When to dump (systemd.time(7) calendar events), as `services.postgresqlBackup.startAt`.";
      };
      keep = mkOption {
        type = types.ints.positive;
        default = 14;
        description = "How many dumps to keep; older ones are removed after each successful dump.";
      };
    };

    proxy = {
      enable = mkEnableOption ''
        nginx on this host as the HTTPS reverse proxy in front of the API
        hosts ({option}`services.eosc-perf.proxy.upstreams`): TLS with a
        certificate from ACME or a given one, HTTP redirected to HTTPS, the
        `X-Forwarded-*` headers (nixpkgs' recommendedProxySettings) and
        `X-Script-Name` the API honours. An API on the same host then listens
        on 127.0.0.1'';
      hostName = mkOption {
        type = types.str;
        example = "perf.example.org";
        description = "The public host name: nginx's virtual host and the name of the certificate.";
      };
      acme = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Get the certificate from ACME (`security.acme`, HTTP-01 through
          nginx); `security.acme.acceptTerms` and `security.acme.defaults.email`
          must then be set. Otherwise give
          {option}`services.eosc-perf.proxy.sslCertificate` and
          {option}`services.eosc-perf.proxy.sslCertificateKey`.
        '';
      };
      sslCertificate = mkOption {
        type = types.nullOr (types.strMatching "/.+");
        default = null;
        example = "/var/lib/eosc-perf-tls/fullchain.pem";
        description = "PEM certificate chain when {option}`services.eosc-perf.proxy.acme` is off.";
      };
      sslCertificateKey = mkOption {
        type = types.nullOr (types.strMatching "/.+");
        default = null;
        example = "/run/secrets/eosc-perf/tls-key.pem";
        description = "PEM private key when {option}`services.eosc-perf.proxy.acme` is off; outside the Nix store.";
      };
      listenAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "198.18.1.1" ];
        description = "Addresses nginx listens on (ports 80 and 443); empty: every address.";
      };
      interfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "eth1" ];
        description = ''
          The frontend-net interfaces on which ports 80 and 443 are opened.
          Empty: every interface when {option}`services.eosc-perf.openFirewall`
          is set, none otherwise.
        '';
      };
      upstreams = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [
          "198.18.2.1:5000"
          "198.18.2.2:5000"
        ];
        description = ''
          The API hosts, `address:port` each (IPv6 in brackets): the servers
          of nginx's upstream block. They are stateless replicas of one
          database; a server that fails (connection error, timeout, 502-504)
          is taken out for 10 s (`max_fails`, `fail_timeout`) and the request
          is passed to the next one. Empty: the API on this host,
          `127.0.0.1:<port>`.
        '';
      };
      apiPrefix = mkOption {
        type = types.strMatching "(/[A-Za-z0-9._~-]+)*";
        default = "/api/v1";
        example = "";
        description = ''
          The path under which the proxy publishes the API: `<prefix>/…` is
          passed on without the prefix and with `X-Script-Name: <prefix>`, so
          that the API's links and documentation page name the public path.
          The empty string publishes the API at the root. Set `BACKEND_ROUTE`
          in {option}`services.eosc-perf.settings` of the API hosts to the
          public URL of the API (it appears in the OpenAPI document).
        '';
      };
      frontendRoot = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = "/var/www/eosc-perf-frontend";
        description = ''
          A directory of static files served at `/` (the web frontend, one
          origin with the API under {option}`services.eosc-perf.proxy.apiPrefix`);
          unknown paths fall back to `/index.html`, as a single-page
          application expects. `null`: `/` answers 404.
        '';
      };
    };
  };
}
