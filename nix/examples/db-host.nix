# The database host: backend-net on eth0, PostgreSQL data on its own disk,
# a nightly dump.
{
  system.stateVersion = "26.05";
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.interfaces.eth0.ipv4.addresses = [
    {
      address = "198.18.2.3";
      prefixLength = 24;
    }
  ];
  # Port 5433 is let through from the API hosts' addresses only: an nftables
  # rule here (the module writes the equivalent for networking.firewall.backend
  # = "iptables" or "firewalld").
  networking.nftables.enable = true;

  # The volume. XFS has no lost+found, so PostgreSQL can own its root.
  fileSystems."/data" = {
    device = "/dev/disk/by-label/eosc-perf-data";
    fsType = "xfs";
  };

  services.eosc-perf = {
    environment = "production";
    databaseServer = {
      enable = true;
      listenAddresses = [ "198.18.2.3" ];
      interfaces = [ "eth0" ];
      apiAddresses = [
        "198.18.2.1"
        "198.18.2.2"
      ];
    };
    database = {
      # This host's PostgreSQL serves eosc-perf only: the module owns it
      # (PostgreSQL 17, data in dataDir, the port below).
      manageServer = true;
      port = 5433;
      # The same password as on the API hosts; PostgreSQL receives only its
      # SCRAM-SHA-256 verifier.
      passwordFile = "/run/secrets/eosc-perf/db-password";
    };
    dataDir = "/data";
    # pg_dump at 02:15 into /var/backup/eosc-perf, the newest 14 kept.
    backup.enable = true;
  };
}
