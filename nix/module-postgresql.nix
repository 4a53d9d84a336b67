# The PostgreSQL half of services.eosc-perf (options in ./module.nix): the
# database of an API on this host (database.createLocally) or of an API on
# another host of backend-net (databaseServer.enable).
#
# nixpkgs sources checked (nixos-26.05 line):
# - nixos/modules/services/databases/postgresql.nix: enable, package (default
#   by stateVersion: pinned here), dataDir (a non-default one gets
#   ReadWritePaths but is not created: we create it), settings (freeform;
#   listen_addresses is set without mkDefault, hence mkForce), settings.port,
#   authentication (our lines come first: the defaults are mkAfter),
#   identMap, ensureDatabases, ensureUsers (ensureDBOwnership needs a database
#   of the same name), and the postgresql-setup.service whose `script` we
#   extend (it runs as postgres with psql on PATH and PGPORT set).
# - nixos/modules/services/networking/firewall.nix (allowedTCPPorts),
#   firewall-nftables.nix (extraInputRules: appended to the input-allow
#   chain) and firewall-iptables.nix (extraCommands: run before the final
#   refuse rule; chains nixos-fw, nixos-fw-accept); the backend follows
#   networking.nftables.enable.
# - systemd.tmpfiles.rules: nixos/modules/system/boot/systemd/tmpfiles.nix.
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
  production = cfg.environment == "production";
  forLocalApi = cfg.enable && db.createLocally;
  forRemoteApi = cfg.databaseServer.enable;

  settingsReference = lib.listToAttrs (
    map (s: lib.nameValuePair s.name s) (lib.importJSON ./settings.json).settings
  );

  # The role's password: the operator's file, or in development the program's
  # own development default (what the API uses when DB_PASSWORD is unset), so
  # that both ends agree without configuration. Never a secret in the store.
  developmentPassword = settingsReference.DB_PASSWORD.default.development;
  rolePasswordFile =
    if db.passwordFile != null then
      db.passwordFile
    else if !production then
      pkgs.writeText "eosc-perf-db-password-development" developmentPassword
    else
      null;

  # A host address without a prefix length means that host alone.
  hostMask =
    a:
    if lib.hasInfix "/" a then
      a
    else if lib.hasInfix ":" a then
      "${a}/128"
    else
      "${a}/32";
  isIPv6 = a: lib.hasInfix ":" a;
  apiAddresses = map hostMask cfg.databaseServer.apiAddresses;
  apiIPv4 = lib.filter (a: !isIPv6 a) apiAddresses;
  apiIPv6 = lib.filter isIPv6 apiAddresses;
  port = toString db.port;
  backendInterfaces = cfg.databaseServer.interfaces;

  # Production source filter: 5432 from the API hosts, on backend-net only.
  nftablesRule =
    let
      iif = lib.optionalString (backendInterfaces != [ ]) "iifname { ${
        lib.concatMapStringsSep ", " (i: ''"${i}"'') backendInterfaces
      } } ";
      rule =
        family: addrs:
        lib.optionalString (addrs != [ ])
          "${iif}${family} saddr { ${lib.concatStringsSep ", " addrs} } tcp dport ${port} accept comment \"eosc-perf: API hosts to PostgreSQL\"\n";
    in
    rule "ip" apiIPv4 + rule "ip6" apiIPv6;
  iptablesRules = lib.concatMapStrings (
    a:
    let
      tool = if isIPv6 a then "ip6tables" else "iptables";
      rule =
        iif:
        "${tool} -w -A nixos-fw -p tcp --dport ${port} -s ${a}${
          lib.optionalString (iif != null) " -i ${iif}"
        } -j nixos-fw-accept\n";
    in
    if backendInterfaces == [ ] then rule null else lib.concatMapStrings rule backendInterfaces
  ) apiAddresses;

  # psql runs the backquoted command through the shell and keeps its output
  # in a variable, so the password is neither in the store nor on a command
  # line; :'password' quotes it as a literal. Re-run at every start, so
  # changing the file changes the password.
  setPasswordScript = ''
    psql -v ON_ERROR_STOP=1 -d postgres <<'EOF'
    \set password `cat "$CREDENTIALS_DIRECTORY/eosc-perf-db-password"`
    ALTER ROLE "${db.user}" WITH LOGIN PASSWORD :'password';
    EOF
  '';
  ownershipScript = ''
    psql -v ON_ERROR_STOP=1 -d postgres -tAc 'ALTER DATABASE "${db.name}" OWNER TO "${db.user}"'
  '';
in
{
  config = mkIf (forLocalApi || forRemoteApi) (mkMerge [
    {
      services.postgresql = {
        enable = true;
        # Pinned, not left to system.stateVersion: a data directory belongs to
        # one major version. nixpkgs' postgresql.nix sets its own
        # `package = mkDefault …` (from stateVersion), and types.package
        # refuses two definitions of one priority: 900 beats that default
        # (1000) and still yields to a plain user setting (100).
        package = lib.mkOverride 900 pkgs.postgresql_17;
        dataDir = cfg.dataDir;
        settings.port = db.port;
        ensureDatabases = [ db.name ];
        ensureUsers = [
          {
            name = db.user;
            ensureDBOwnership = db.user == db.name;
          }
        ];
      };

      # The volume: created (or its owner and mode corrected) at boot, after
      # local file systems are mounted; postgresql.service has
      # RequiresMountsFor= on it.
      systemd.tmpfiles.rules = [ "d ${cfg.dataDir} 0700 postgres postgres - -" ];

      systemd.services.postgresql-setup = mkMerge [
        (mkIf (rolePasswordFile != null) {
          serviceConfig.LoadCredential = [ "eosc-perf-db-password:${rolePasswordFile}" ];
          script = lib.mkAfter setPasswordScript;
        })
        (mkIf (db.user != db.name) { script = lib.mkAfter ownershipScript; })
      ];
    }

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

    (mkIf (forRemoteApi && production) {
      assertions = [
        {
          assertion = cfg.databaseServer.listenAddresses != [ ];
          message = "services.eosc-perf.databaseServer: production needs listenAddresses (this host's backend-net addresses).";
        }
        {
          assertion = cfg.databaseServer.apiAddresses != [ ];
          message = "services.eosc-perf.databaseServer: production needs apiAddresses (the API host on backend-net).";
        }
        {
          assertion = db.passwordFile != null;
          message = "services.eosc-perf.databaseServer: production needs database.passwordFile (the role's password).";
        }
      ];
      services.postgresql.settings.listen_addresses = mkForce (
        lib.concatStringsSep "," cfg.databaseServer.listenAddresses
      );
      # Binding those addresses needs them configured: wait for the network
      # (the nixpkgs unit only orders itself after network.target).
      systemd.services.postgresql = {
        wants = [ "network-online.target" ];
        after = [ "network-online.target" ];
      };
      services.postgresql.authentication = lib.concatMapStrings (
        a: "host ${db.name} ${db.user} ${a} scram-sha-256\n"
      ) apiAddresses;
      networking.firewall.extraInputRules = mkIf config.networking.nftables.enable nftablesRule;
      networking.firewall.extraCommands = mkIf (!config.networking.nftables.enable) iptablesRules;
    })

    # Development: as the development compose file, which published 5432.
    # The role still needs its password over TCP.
    (mkIf (!production) {
      services.postgresql.settings.listen_addresses = mkForce "*";
      services.postgresql.authentication = ''
        host ${db.name} ${db.user} all scram-sha-256
      '';
      networking.firewall.allowedTCPPorts = [ db.port ];
    })
  ]);
}
