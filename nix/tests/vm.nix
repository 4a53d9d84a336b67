# NixOS VM test of the production deployment (flake: checks.<system>.vm-test;
# its twin without Nix is tests/topology).
#
#   client  vlan 1           frontend-net only
#   api     vlans 1 and 2    eth1 = frontend-net (the API listens here), eth2 = backend-net
#   db      vlan 2           backend-net; PostgreSQL data on its own disk (the volume)
#   rogue   vlan 2           a backend-net host that must reach nothing
#
# The test driver gives node n (names sorted: api 1, client 2, db 3, rogue 4)
# the address 192.168.<vlan>.<n> on eth1, eth2, … in the order of
# virtualisation.vlans (nixos/lib/testing/network.nix); the addresses are read
# from the nodes' configurations rather than written twice.
#
# Secrets are made up by the test script at run time and written into the
# VMs, so they are in no store path: the test then looks for them in the
# units' store closures and environments. Until they exist the API refuses to
# start (LoadCredential fails) — which is checked first.
#
# runNixOSTest: nixpkgs pkgs/build-support/testers/default.nix; node options
# virtualisation.{vlans,emptyDiskImages,fileSystems}: nixos/modules/virtualisation/qemu-vm.nix
# (a module's own fileSystems are replaced in a VM, hence virtualisation.fileSystems).
{ self }:
{ lib, ... }:

let
  addressOf = node: interface: (lib.head node.networking.interfaces.${interface}.ipv4.addresses).address;
  secretDir = "/var/lib/eosc-perf-secrets"; # survives the db reboot, unlike /run
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
    };

    api =
      { config, nodes, ... }:
      {
        virtualisation.vlans = [
          1
          2
        ];
        services.eosc-perf = {
          enable = true;
          listenAddress = addressOf config "eth1";
          frontendInterfaces = [ "eth1" ];
          secretKeyFile = "${secretDir}/secret-key";
          adminEntitlements = [ "urn:example:eosc-perf:admin" ];
          database = {
            createLocally = false;
            host = addressOf nodes.db "eth1";
            passwordFile = "${secretDir}/db-password";
          };
          # No registry and no OpenID provider can be reached from the VMs.
          settings.BENCHMARK_IMAGE_CHECK = "off";
        };
      };

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
        # Source-address filtering for 5432 uses the nftables firewall here
        # (module-postgresql.nix also supports iptables).
        networking.nftables.enable = true;
        services.eosc-perf = {
          databaseServer = {
            enable = true;
            listenAddresses = [ (addressOf config "eth1") ];
            interfaces = [ "eth1" ];
            apiAddresses = [ (addressOf nodes.api "eth2") ];
          };
          database.passwordFile = "${secretDir}/db-password";
          # /data is an ext4 file system: its lost+found keeps initdb out of the root.
          dataDir = "/data/postgresql";
        };
      };

    rogue = {
      virtualisation.vlans = [ 2 ];
    };
  };

  testScript =
    { nodes, ... }:
    let
      apiFront = addressOf nodes.api "eth1";
      apiBack = addressOf nodes.api "eth2";
      dbAddr = addressOf nodes.db "eth1";
    in
    ''
      import secrets

      SECRET_DIR = "${secretDir}"
      secret_key = secrets.token_hex(24)
      db_password = secrets.token_hex(24)


      def write_secret(machine, name, value):
          machine.succeed(
              f"install -d -m 0700 {SECRET_DIR}"
              f" && umask 077 && printf %s {value} > {SECRET_DIR}/{name}"
          )


      def can_connect(machine, addr, port):
          # bash's /dev/tcp: exit 0 only when the TCP handshake completes.
          return machine.execute(f"timeout 5 bash -c '</dev/tcp/{addr}/{port}'")[0] == 0


      def http_status(machine, path):
          return machine.succeed(
              f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 http://${apiFront}:5000{path}"
          ).strip()


      def no_secret_in(machine, text, where):
          for value in (secret_key, db_password):
              assert value not in text, f"a secret appears in {where}"


      start_all()

      with subtest("PostgreSQL runs on the volume, its setup waits for the role's password"):
          db.wait_for_unit("postgresql.service")
          db.succeed("findmnt -n -o SOURCE /data | grep -qx /dev/vdb")
          db.succeed("test -f /data/postgresql/PG_VERSION")
          db.succeed("test \"$(stat -c '%U %a' /data/postgresql)\" = 'postgres 700'")
          write_secret(db, "db-password", db_password)
          db.succeed("systemctl restart postgresql-setup.service")
          db.succeed("systemctl start postgresql.target")
          db.wait_for_unit("postgresql.target")

      with subtest("a production API without its secrets refuses to start"):
          api.wait_for_unit("multi-user.target")
          api.fail("systemctl is-active --quiet eosc-perf.service")
          write_secret(api, "db-password", db_password)
          api.sleep(7)  # one RestartSec later: still the secret key missing
          api.fail("systemctl is-active --quiet eosc-perf.service")
          client.fail("curl -sf --max-time 5 http://${apiFront}:5000/healthz")

      with subtest("with its secrets the API starts and serves the frontend"):
          write_secret(api, "secret-key", secret_key)
          api.wait_for_unit("eosc-perf.service")
          client.wait_until_succeeds("curl -sf --max-time 5 http://${apiFront}:5000/healthz", timeout=120)
          for path in ("/healthz", "/api-spec.json", "/tags"):
              status = http_status(client, path)
              assert status == "200", f"client GET {path}: {status}"

      with subtest("port policy: only the API host reaches PostgreSQL, only frontend-net reaches the API"):
          assert can_connect(api, "${dbAddr}", 5432), "api cannot reach db:5432"
          assert not can_connect(client, "${dbAddr}", 5432), "client reaches db:5432"
          assert not can_connect(rogue, "${dbAddr}", 5432), "rogue reaches db:5432"
          assert not can_connect(rogue, "${apiBack}", 5000), "rogue reaches api:5000 on backend-net"
          assert not can_connect(rogue, "${apiFront}", 5000), "rogue reaches api:5000 on frontend-net"
          assert can_connect(client, "${apiFront}", 5000), "client cannot reach api:5000"

      with subtest("no secret in the Nix store or in the units' environments"):
          for machine, unit in ((api, "eosc-perf.service"), (db, "postgresql-setup.service")):
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
              api,
              api.succeed("tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value eosc-perf.service)/environ"),
              "the API process environment",
          )
          # %d, the credentials directory, may show expanded.
          api.succeed("systemctl show -p Environment eosc-perf.service | grep -Eq 'SECRET_KEY_FILE=[^ ]*/secret_key'")

      with subtest("the API survives a PostgreSQL restart"):
          pid = api.succeed("systemctl show -p MainPID --value eosc-perf.service").strip()
          db.succeed("systemctl restart postgresql.service")
          db.wait_for_unit("postgresql.service")
          client.wait_until_succeeds("curl -sf --max-time 5 http://${apiFront}:5000/tags", timeout=120)
          assert api.succeed("systemctl show -p MainPID --value eosc-perf.service").strip() == pid, "the API was restarted"

      with subtest("data survives a reboot of the database host (the volume)"):
          db.succeed(
              "runuser -u postgres -- psql -v ON_ERROR_STOP=1 -d eosc_perf -c "
              "\"INSERT INTO tag (id, name, description) VALUES (gen_random_uuid(), 'vm-volume-marker', 'kept across reboots')\""
          )
          client.wait_until_succeeds("curl -sf http://${apiFront}:5000/tags | grep -q vm-volume-marker", timeout=60)
          db.shutdown()
          db.start()
          db.wait_for_unit("postgresql.target")
          db.succeed("findmnt -n -o SOURCE /data | grep -qx /dev/vdb")
          client.wait_until_succeeds("curl -sf http://${apiFront}:5000/tags | grep -q vm-volume-marker", timeout=120)
    '';
}
