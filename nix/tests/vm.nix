# NixOS VM test of the production topology (flake: checks.<system>.vm-test;
# its twin without Nix is tests/topology, the hosts those of nix/examples):
#
#   client  vlan 1           frontend-net only; trusts the test CA
#   proxy   vlans 1 and 2    nginx (services.eosc-perf.proxy): TLS on eth1 = frontend-net,
#                            eth2 = backend-net towards the API hosts
#   api1    vlan 2           the API, port 5000 let in from the proxy only; metrics on 9100
#   api2    vlan 2           the second replica
#   db      vlan 2           PostgreSQL on 5433 for the API hosts only, data on its own disk
#                            (the volume), the backup
#   rogue   vlan 2           a backend-net host that must reach nothing
#
# The test driver gives node n (names sorted: api1 1, api2 2, client 3, db 4,
# proxy 5, rogue 6) the address 192.168.<vlan>.<n> on eth1, eth2, … in the
# order of virtualisation.vlans (nixos/lib/testing/network.nix); the
# addresses are read from the nodes' configurations rather than written
# twice.
#
# Secrets are made up by the test script at run time and written into the
# VMs, so they are in no store path: the test then looks for them in the
# units' store closures, environments and PostgreSQL's statement log
# (log_statement = all). Until they exist the API refuses to start
# (LoadCredential fails) — which is checked first. The TLS certificate comes
# from a test CA made at build time; its key is copied out of the store at
# run time (the module refuses a key in the store).
#
# runNixOSTest: nixpkgs pkgs/build-support/testers/default.nix; the test
# module's hostPkgs: nixos/lib/testing/pkgs.nix; node options
# virtualisation.{vlans,emptyDiskImages,fileSystems}: nixos/modules/virtualisation/qemu-vm.nix
# (a module's own fileSystems are replaced in a VM, hence virtualisation.fileSystems);
# security.pki.certificateFiles: nixos/modules/security/ca.nix.
{ self }:
{ lib, hostPkgs, ... }:

let
  addressOf = node: interface: (lib.head node.networking.interfaces.${interface}.ipv4.addresses).address;
  secretDir = "/var/lib/eosc-perf-secrets"; # survives the db reboot, unlike /run
  tlsKey = "/var/lib/eosc-perf-tls/key.pem";
  dbPort = 5433;
  hostName = "perf.test";

  # A throwaway CA and a certificate for the proxy, signed by it.
  certs =
    hostPkgs.runCommand "eosc-perf-test-certs"
      {
        nativeBuildInputs = [ hostPkgs.openssl ];
      }
      ''
        mkdir $out
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
          -subj "/CN=eosc-perf VM test CA" -keyout ca-key.pem -out $out/ca.pem
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
          -subj "/CN=${hostName}" -keyout $out/key.pem -out server.csr
        printf 'subjectAltName=DNS:${hostName}\nextendedKeyUsage=serverAuth\n' > ext.cnf
        openssl x509 -req -in server.csr -CA $out/ca.pem -CAkey ca-key.pem -CAcreateserial \
          -days 3650 -extfile ext.cnf -out $out/cert.pem
      '';

  apiHost =
    { config, nodes, ... }:
    {
      virtualisation.vlans = [ 2 ];
      services.eosc-perf = {
        enable = true;
        listenAddress = addressOf config "eth1";
        frontendInterfaces = [ "eth1" ];
        proxyAddresses = [ (addressOf nodes.proxy "eth2") ];
        secretKeyFile = "${secretDir}/secret-key";
        adminEntitlements = [ "urn:example:eosc-perf:admin" ];
        database = {
          createLocally = false;
          host = addressOf nodes.db "eth1";
          port = dbPort;
          passwordFile = "${secretDir}/db-password";
        };
        settings = {
          # No registry and no OpenID provider can be reached from the VMs.
          BENCHMARK_IMAGE_CHECK = "off";
          METRICS_ADDR = "${addressOf config "eth1"}:9100";
          BACKEND_ROUTE = "https://${hostName}/api/v1";
        };
      };
    };
in
{
  name = "eosc-perf";

  defaults = {
    imports = [ self.nixosModules.default ];
    services.eosc-perf.environment = "production";
  };

  nodes = {
    client = {
      virtualisation.vlans = [ 1 ];
      security.pki.certificateFiles = [ "${certs}/ca.pem" ];
    };

    proxy =
      { config, nodes, ... }:
      {
        virtualisation.vlans = [
          1
          2
        ];
        services.eosc-perf.proxy = {
          enable = true;
          inherit hostName;
          sslCertificate = "${certs}/cert.pem";
          sslCertificateKey = tlsKey;
          listenAddresses = [ (addressOf config "eth1") ];
          interfaces = [ "eth1" ];
          upstreams = map (n: "${addressOf n "eth1"}:5000") [
            nodes.api1
            nodes.api2
          ];
        };
      };

    api1 = apiHost;
    api2 = apiHost;

    db =
      { nodes, config, ... }:
      {
        virtualisation.vlans = [ 2 ];
        virtualisation.emptyDiskImages = [ 1024 ];
        virtualisation.fileSystems."/data" = {
          device = "/dev/vdb";
          fsType = "ext4";
          autoFormat = true;
        };
        # Source-address filtering with the nftables firewall here; the
        # API hosts use the iptables one (module-firewall.nix does both).
        networking.nftables.enable = true;
        # Every statement in the journal: the role's password must not be.
        services.postgresql.settings.log_statement = "all";
        services.eosc-perf = {
          databaseServer = {
            enable = true;
            listenAddresses = [ (addressOf config "eth1") ];
            interfaces = [ "eth1" ];
            apiAddresses = map (n: addressOf n "eth1") [
              nodes.api1
              nodes.api2
            ];
          };
          database = {
            manageServer = true;
            port = dbPort;
            passwordFile = "${secretDir}/db-password";
          };
          # /data is an ext4 file system: its lost+found keeps initdb out of the root.
          dataDir = "/data/postgresql";
          backup.enable = true;
        };
      };

    rogue = {
      virtualisation.vlans = [ 2 ];
    };
  };

  testScript =
    { nodes, ... }:
    let
      proxyFront = addressOf nodes.proxy "eth1";
      api1Addr = addressOf nodes.api1 "eth1";
      api2Addr = addressOf nodes.api2 "eth1";
      dbAddr = addressOf nodes.db "eth1";
      port = toString dbPort;
    in
    ''
      import secrets

      SECRET_DIR = "${secretDir}"
      secret_key = secrets.token_hex(24)
      db_password = secrets.token_hex(24)
      CURL = "curl -s --max-time 10 --resolve ${hostName}:443:${proxyFront} --resolve ${hostName}:80:${proxyFront}"
      API = "https://${hostName}/api/v1"


      def write_secret(machine, name, value):
          machine.succeed(
              f"install -d -m 0700 {SECRET_DIR}"
              f" && umask 077 && printf %s {value} > {SECRET_DIR}/{name}"
          )


      def can_connect(machine, addr, port):
          # bash's /dev/tcp: exit 0 only when the TCP handshake completes.
          return machine.execute(f"timeout 5 bash -c '</dev/tcp/{addr}/{port}'")[0] == 0


      def https_status(path):
          return client.succeed(f"{CURL} -o /dev/null -w '%{{http_code}}' {API}{path}").strip()


      def no_secret_in(machine, text, where):
          for value in (secret_key, db_password):
              assert value not in text, f"a secret appears in {where}"


      def psql(sql, db="eosc_perf"):
          return db_vm.succeed(
              f"runuser -u postgres -- psql --port=${port} -v ON_ERROR_STOP=1 -tA -d {db} -c \"{sql}\""
          ).strip()


      db_vm = db
      apis = (api1, api2)
      ADDRESS = {"api1": "${api1Addr}", "api2": "${api2Addr}"}
      start_all()

      with subtest("PostgreSQL runs on the volume and port ${port}; its setup sets the role's verifier"):
          db.wait_for_unit("postgresql.service")
          db.succeed("findmnt -n -o SOURCE /data | grep -qx /dev/vdb")
          db.succeed("test -f /data/postgresql/PG_VERSION")
          db.succeed("test \"$(stat -c '%U %a' /data/postgresql)\" = 'postgres 700'")
          write_secret(db, "db-password", db_password)
          db.succeed("systemctl restart postgresql-setup.service")
          db.succeed("systemctl start postgresql.target")
          db.wait_for_unit("postgresql.target")
          assert psql("SELECT starts_with(rolpassword, 'SCRAM-SHA-256') FROM pg_authid WHERE rolname = 'eosc_perf'", "postgres") == "t"
          # log_statement = all logged the ALTER ROLE, with the verifier only.
          db.succeed("journalctl -u postgresql.service | grep -q 'ALTER ROLE'")
          no_secret_in(db, db.succeed("journalctl -b --no-pager"), "the database host's journal")

      with subtest("a production API without its secrets refuses to start"):
          for api in apis:
              api.wait_for_unit("multi-user.target")
              api.fail("systemctl is-active --quiet eosc-perf.service")
              write_secret(api, "db-password", db_password)
          api1.sleep(7)  # one RestartSec later: still the secret key missing
          for api in apis:
              api.fail("systemctl is-active --quiet eosc-perf.service")

      with subtest("two replicas starting at once migrate once"):
          for api in apis:
              write_secret(api, "secret-key", secret_key)
          for api in apis:
              api.wait_for_unit("eosc-perf.service")
              api.wait_until_succeeds(f"curl -sf --max-time 5 http://{ADDRESS[api.name]}:5000/healthz", timeout=120)
          assert psql("SELECT count(*) FROM (SELECT version_id FROM goose_db_version WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1) d") == "0"
          # One applied them; the other, after waiting on the advisory lock,
          # found nothing pending.
          idle = [a.execute("journalctl -u eosc-perf.service | grep -q 'no migration pending'")[0] == 0 for a in apis]
          assert idle.count(True) == 1, f"replicas that found no migration pending: {idle}"

      with subtest("the proxy serves the API over TLS and redirects HTTP"):
          proxy.succeed("install -d -m 0750 -o nginx -g nginx /var/lib/eosc-perf-tls")
          proxy.succeed("install -m 0400 -o nginx -g nginx ${certs}/key.pem ${tlsKey}")
          # nginx could not start without its key: clear the start limit.
          proxy.succeed("systemctl reset-failed nginx.service; systemctl restart nginx.service")
          proxy.wait_for_unit("nginx.service")
          client.wait_until_succeeds(f"{CURL} -f {API}/healthz", timeout=60)
          for path in ("/healthz", "/api-spec.json", "/tags"):
              status = https_status(path)
              assert status == "200", f"client GET {path}: {status}"
          # The documentation page names the public prefix (X-Script-Name).
          client.succeed(f"{CURL} -f {API}/ | grep -q /api/v1/swagger-ui/")
          location = client.succeed(f"{CURL} -o /dev/null -w '%{{redirect_url}}' http://${hostName}/api/v1/tags").strip()
          assert location == "https://${hostName}/api/v1/tags", f"HTTP redirect to {location}"

      with subtest("both replicas serve through the proxy"):
          for _ in range(8):
              assert https_status("/tags") == "200"
          for api in apis:
              api.succeed("journalctl -u eosc-perf.service | grep -q '\"path\":\"/tags\"'")

      with subtest("port policy: the proxy reaches the API hosts, the API hosts PostgreSQL, nobody else"):
          assert can_connect(client, "${proxyFront}", 443), "client cannot reach the proxy"
          assert can_connect(proxy, "${api1Addr}", 5000), "proxy cannot reach api1"
          assert can_connect(proxy, "${api2Addr}", 5000), "proxy cannot reach api2"
          assert can_connect(api1, "${dbAddr}", ${port}), "api1 cannot reach db:${port}"
          assert can_connect(api2, "${dbAddr}", ${port}), "api2 cannot reach db:${port}"
          assert can_connect(api1, "${api1Addr}", 9100), "api1's metrics listener is down"
          assert not can_connect(proxy, "${dbAddr}", ${port}), "proxy reaches db:${port}"
          assert not can_connect(rogue, "${dbAddr}", ${port}), "rogue reaches db:${port}"
          assert not can_connect(rogue, "${api1Addr}", 5000), "rogue reaches api1:5000"
          assert not can_connect(rogue, "${api2Addr}", 5000), "rogue reaches api2:5000"
          assert not can_connect(rogue, "${api1Addr}", 9100), "rogue reaches api1's metrics"
          assert not can_connect(proxy, "${api1Addr}", 9100), "proxy reaches api1's metrics"

      with subtest("no secret in the Nix store or in the units' environments"):
          for machine, unit in ((api1, "eosc-perf.service"), (db, "postgresql-setup.service")):
              no_secret_in(machine, machine.succeed(f"systemctl cat {unit}"), f"{unit} files")
              no_secret_in(machine, machine.succeed(f"systemctl show -p Environment {unit}"), f"{unit} environment")
              # The unit's store path, and everything it refers to (the VM's
              # Nix database holds the system closure: qemu-vm.nix regInfo).
              closure = machine.succeed(
                  f"nix-store -qR $(readlink -f /etc/systemd/system/{unit} | cut -d/ -f1-4)"
              ).split()
              for value in (secret_key, db_password):
                  machine.fail(f"grep -rqF -- {value} {' '.join(closure)}")
          no_secret_in(
              api1,
              api1.succeed("tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value eosc-perf.service)/environ"),
              "the API process environment",
          )
          # %d, the credentials directory, may show expanded.
          api1.succeed("systemctl show -p Environment eosc-perf.service | grep -Eq 'SECRET_KEY_FILE=[^ ]*/secret_key'")

      with subtest("the API survives a PostgreSQL restart"):
          pid = api1.succeed("systemctl show -p MainPID --value eosc-perf.service").strip()
          db.succeed("systemctl restart postgresql.service")
          db.wait_for_unit("postgresql.service")
          client.wait_until_succeeds(f"{CURL} -f {API}/tags", timeout=120)
          assert api1.succeed("systemctl show -p MainPID --value eosc-perf.service").strip() == pid, "the API was restarted"

      with subtest("a backup restored into an empty database is served"):
          psql("INSERT INTO tag (id, name, description) VALUES (gen_random_uuid(), 'vm-backup-marker', 'kept by pg_dump')")
          client.wait_until_succeeds(f"{CURL} -f {API}/tags | grep -q vm-backup-marker", timeout=60)
          db.succeed("systemctl start eosc-perf-backup.service")
          dump = db.succeed("ls /var/backup/eosc-perf/eosc_perf-*.dump | tail -n 1").strip()
          db.succeed("test \"$(stat -c '%U %a' /var/backup/eosc-perf)\" = 'postgres 700'")
          # The README's restore.
          for api in apis:
              api.succeed("systemctl stop eosc-perf.service")
          db.succeed("runuser -u postgres -- dropdb --port=${port} eosc_perf")
          db.succeed("runuser -u postgres -- createdb --port=${port} --owner=eosc_perf eosc_perf")
          db.succeed(
              "runuser -u postgres -- pg_restore --port=${port} --no-owner --role=eosc_perf --exit-on-error"
              f" --dbname=eosc_perf {dump}"
          )
          for api in apis:
              api.succeed("systemctl start eosc-perf.service")
          client.wait_until_succeeds(f"{CURL} -f {API}/tags | grep -q vm-backup-marker", timeout=120)

      with subtest("data survives a reboot of the database host (the volume)"):
          db.shutdown()
          db.start()
          db.wait_for_unit("postgresql.target")
          db.succeed("findmnt -n -o SOURCE /data | grep -qx /dev/vdb")
          client.wait_until_succeeds(f"{CURL} -f {API}/tags | grep -q vm-backup-marker", timeout=120)
    '';
}
