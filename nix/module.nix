# NixOS module services.eosc-perf: what the original docker-compose deployment
# declared (DESIGN.md §6), for the hosts of a production setup:
#
#   proxy host     services.eosc-perf.proxy.enable: nginx with TLS on
#                  frontend-net, in front of one or more API hosts
#                  (module-proxy.nix).
#   API host       services.eosc-perf.enable: the API listens on its address
#                  towards the proxy (or on 127.0.0.1 when the proxy runs on
#                  the same host); its port is opened on frontendInterfaces
#                  and/or to proxyAddresses only. The database is either
#                  local (database.createLocally: peer authentication over
#                  /run/postgresql) or on a database host (database.host).
#   database host  services.eosc-perf.databaseServer.enable: PostgreSQL
#                  listens on its backend-net addresses only, the database
#                  port is reachable from the API hosts only (a firewall rule
#                  on the source address plus a pg_hba line each); optionally
#                  the backup (module-postgresql.nix).
#
# The module owns the PostgreSQL server only when asked
# (database.manageServer); otherwise it adds its database and role to the
# host's own PostgreSQL. In production secrets are only files, handed to the
# service as systemd credentials (LoadCredential; the program reads
# SECRET_KEY_FILE and DB_PASSWORD_FILE = %d/…): they never enter the Nix
# store or the unit's environment, and a configuration without them is
# refused at evaluation. Development listens on loopback and opens nothing
# unless openFirewall is set. The firewall follows networking.firewall.backend
# (module-firewall.nix). nixpkgs sources checked for every option set here
# are named next to it.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkIf mkMerge;

  cfg = config.services.eosc-perf;
  production = cfg.environment == "production";

  # The program's settings reference, `eosc-perf-api config --json`, kept in
  # sync by tests/nixeval (TestSettingsJSONIsCurrent).
  settingsReference = lib.listToAttrs (
    map (s: lib.nameValuePair s.name s) (lib.importJSON ./settings.json).settings
  );

  # Set from typed options below; a second value in `settings` would be
  # ambiguous.
  managedSettings = [
    "FLASK_ENV"
    "LISTEN_ADDR"
    "DB_HOST"
    "DB_PORT"
    "DB_NAME"
    "DB_USER"
    "ADMIN_ENTITLEMENTS"
  ];
  # Secrets (and their _FILE variants) only come through the *File options.
  secretSettings = lib.concatMap (s: [ s.name ] ++ lib.optional (s.file_variant != "") s.file_variant) (
    lib.filter (s: s.secret) (lib.attrValues settingsReference)
  );

  renderSetting =
    v:
    if lib.isList v then
      lib.concatStringsSep "," v
    else if lib.isBool v then
      lib.boolToString v
    else
      toString v;

  unknownSettings = lib.filter (n: !(settingsReference ? ${n}) && !(lib.elem n secretSettings)) (
    lib.attrNames cfg.settings
  );
  forbiddenSettings = lib.filter (n: lib.elem n (managedSettings ++ secretSettings)) (
    lib.attrNames cfg.settings
  );
  badEnumSettings = lib.filter (
    n:
    let
      ref = settingsReference.${n} or { };
    in
    ref ? enum && !(lib.elem (renderSetting cfg.settings.${n}) ref.enum)
  ) (lib.attrNames cfg.settings);

  proxyHere = cfg.proxy.enable;
  # null: every address.
  listenAddress =
    if cfg.listenAddress != null then
      cfg.listenAddress
    else if proxyHere || (!production && !cfg.openFirewall) then
      "127.0.0.1"
    else
      null;
  loopbackOnly = listenAddress == "127.0.0.1" || listenAddress == "::1" || listenAddress == "localhost";
  listenAddr =
    let
      host =
        if listenAddress == null then
          ""
        else if lib.hasInfix ":" listenAddress then
          "[${listenAddress}]"
        else
          listenAddress;
    in
    "${host}:${toString cfg.port}";

  localDatabase = cfg.database.createLocally;
  # The port of a local PostgreSQL is the server's own unless the module
  # owns the server (module-postgresql.nix asserts that they agree).
  dbPort =
    if localDatabase && !cfg.database.manageServer && config.services.postgresql.enable then
      config.services.postgresql.settings.port
    else
      cfg.database.port;
  apiPortOpened =
    cfg.openFirewall || cfg.frontendInterfaces != [ ] || cfg.proxyAddresses != [ ] || loopbackOnly;
  privilegedPort = cfg.port < 1024;

  # With peer authentication PostgreSQL never asks for a password, but the
  # program's production rules (upstream's) require DB_PASSWORD: hand it a
  # placeholder, which is no secret and may live in the store.
  peerPlaceholder = pkgs.writeText "eosc-perf-db-password-unused" "unused: peer authentication over the Unix socket\n";
  dbPasswordCredential =
    if cfg.database.passwordFile != null then
      cfg.database.passwordFile
    else if localDatabase then
      peerPlaceholder
    else
      null;

  credentials =
    lib.optional (cfg.secretKeyFile != null) "secret_key:${cfg.secretKeyFile}"
    ++ lib.optional (dbPasswordCredential != null) "db_password:${dbPasswordCredential}";

  unitEnvironment = {
    FLASK_ENV = cfg.environment;
    LISTEN_ADDR = listenAddr;
    DB_HOST = if localDatabase then "/run/postgresql" else toString cfg.database.host;
    DB_PORT = toString dbPort;
    DB_NAME = cfg.database.name;
    DB_USER = cfg.database.user;
  }
  # %d is the unit's credentials directory (systemd.unit(5) specifiers,
  # expanded in Environment=); nixpkgs forgejo.nix passes secrets the same way.
  // lib.optionalAttrs (cfg.secretKeyFile != null) { SECRET_KEY_FILE = "%d/secret_key"; }
  // lib.optionalAttrs (dbPasswordCredential != null) { DB_PASSWORD_FILE = "%d/db_password"; }
  // lib.optionalAttrs (cfg.adminEntitlements != null) {
    ADMIN_ENTITLEMENTS = lib.concatStringsSep "," cfg.adminEntitlements;
  }
  // lib.mapAttrs (_: renderSetting) cfg.settings;

  inStore = p: p != null && lib.hasPrefix "${builtins.storeDir}/" (toString p);
in
{
  imports = [
    ./module-options.nix
    ./module-firewall.nix
    ./module-postgresql.nix
    ./module-proxy.nix
  ];

  config = mkMerge [
    {
      assertions = [
        {
          assertion = unknownSettings == [ ];
          message = "services.eosc-perf.settings: unknown setting(s) ${lib.concatStringsSep ", " unknownSettings}; known: ${lib.concatStringsSep " " (lib.attrNames settingsReference)}.";
        }
        {
          assertion = forbiddenSettings == [ ];
          message = "services.eosc-perf.settings: ${lib.concatStringsSep ", " forbiddenSettings} must be set through the module's own options (secrets: secretKeyFile, database.passwordFile).";
        }
        {
          assertion = badEnumSettings == [ ];
          message = "services.eosc-perf.settings: invalid value for ${lib.concatStringsSep ", " (map (n: "${n} (one of ${lib.concatStringsSep ", " settingsReference.${n}.enum})") badEnumSettings)}.";
        }
        {
          assertion =
            !(inStore cfg.secretKeyFile)
            && !(inStore cfg.database.passwordFile)
            && !(inStore cfg.environmentFile)
            && !(inStore cfg.proxy.sslCertificateKey);
          message = "services.eosc-perf: secretKeyFile, database.passwordFile, environmentFile and proxy.sslCertificateKey must not be in the Nix store (it is world-readable).";
        }
        {
          assertion = !(cfg.enable && !localDatabase && cfg.database.host == null);
          message = "services.eosc-perf: database.createLocally is false, so set database.host to the database host's address (for example its backend-net address \"198.18.2.3\"), or set createLocally = true to use PostgreSQL on this host.";
        }
        {
          assertion = !(cfg.enable && localDatabase && cfg.databaseServer.enable);
          message = "services.eosc-perf: database.createLocally and databaseServer.enable exclude each other: a host either serves its own API's database or a remote one.";
        }
      ];
    }

    (mkIf (cfg.enable && production) {
      assertions = [
        {
          assertion = cfg.secretKeyFile != null;
          message = "services.eosc-perf: production needs secretKeyFile (SECRET_KEY as a file outside the Nix store).";
        }
        {
          assertion = localDatabase || cfg.database.passwordFile != null;
          message = "services.eosc-perf: production with a remote database needs database.passwordFile.";
        }
        {
          assertion = cfg.adminEntitlements != null;
          message = "services.eosc-perf: production needs adminEntitlements (an empty list makes every registered user an administrator).";
        }
      ];
      warnings =
        lib.optional (listenAddress == null && cfg.frontendInterfaces != [ ] && !cfg.openFirewall)
          "services.eosc-perf: listenAddress is null, so the API listens on every address; only the firewall keeps port ${toString cfg.port} off the other interfaces."
        ++ lib.optional (!apiPortOpened)
          "services.eosc-perf: the API listens on ${
            if listenAddress == null then "every address" else listenAddress
          } but no firewall rule opens port ${toString cfg.port}, so no other host reaches it. Set services.eosc-perf.frontendInterfaces = [ \"eth1\" ] (the interfaces towards the clients or the proxy), proxyAddresses = [ <proxy address> ], openFirewall = true, or proxy.enable = true to put nginx in front on this host.";
    })

    # Port policy (rendered for the host's firewall backend by
    # module-firewall.nix): in production frontendInterfaces and/or
    # proxyAddresses; every interface with openFirewall; nothing else in
    # development.
    (mkIf cfg.enable {
      services.eosc-perf.internal.firewall = mkMerge [
        (mkIf cfg.openFirewall { globalPorts = [ cfg.port ]; })
        (mkIf (production && !cfg.openFirewall && cfg.proxyAddresses == [ ]) {
          interfacePorts = lib.genAttrs cfg.frontendInterfaces (_: [ cfg.port ]);
        })
        (mkIf (production && !cfg.openFirewall && cfg.proxyAddresses != [ ]) {
          sourceRules = [
            {
              inherit (cfg) port;
              sources = cfg.proxyAddresses;
              interfaces = cfg.frontendInterfaces;
              comment = "eosc-perf: proxies to the API";
            }
          ];
        })
      ];
    })

    (mkIf cfg.enable {
      environment.systemPackages = [ cfg.package ];

      # systemd.services.<name>: nixos/lib/systemd-unit-options.nix.
      systemd.services.eosc-perf = {
        description = "EOSC Performance API";
        wantedBy = [ "multi-user.target" ];
        wants = [ "network-online.target" ];
        # postgresql.target = postgresql.service + postgresql-setup.service
        # (database and role exist): nixos/modules/services/databases/postgresql.nix.
        requires = lib.optional localDatabase "postgresql.target";
        after = [ "network-online.target" ] ++ lib.optional localDatabase "postgresql.target";
        environment = unitEnvironment;

        serviceConfig = {
          ExecStart = "${lib.getExe cfg.package} serve";
          Restart = "always";
          RestartSec = "5s";

          # A fixed name for a dynamic user: PostgreSQL's peer authentication
          # maps it to the database role (module-postgresql.nix identMap).
          DynamicUser = true;
          User = "eosc-perf";
          Group = "eosc-perf";
          LoadCredential = credentials;
          UMask = "0077";

          # Hardening, as nixpkgs miniflux.nix / forgejo.nix (research/nix.md §2.7).
          CapabilityBoundingSet = if privilegedPort then [ "CAP_NET_BIND_SERVICE" ] else [ "" ];
          NoNewPrivileges = true;
          LockPersonality = true;
          MemoryDenyWriteExecute = true;
          DevicePolicy = "closed";
          PrivateDevices = true;
          PrivateTmp = true;
          # A private user namespace would drop the capability a low port needs.
          PrivateUsers = !privilegedPort;
          PrivateMounts = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          ProtectClock = true;
          ProtectHostname = true;
          ProtectControlGroups = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = true;
          ProtectProc = "invisible";
          ProcSubset = "pid";
          RemoveIPC = true;
          RestrictAddressFamilies = [
            "AF_INET"
            "AF_INET6"
            "AF_UNIX"
          ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          SystemCallArchitectures = "native";
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
          ];
        }
        // lib.optionalAttrs privilegedPort { AmbientCapabilities = [ "CAP_NET_BIND_SERVICE" ]; }
        # Read by systemd (as root) before the service starts.
        // lib.optionalAttrs (cfg.environmentFile != null) { EnvironmentFile = cfg.environmentFile; };
      };
    })
  ];
}
