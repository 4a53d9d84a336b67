# The database host: backend-net on eth0, PostgreSQL data on its own disk.
{
  networking.interfaces.eth0.ipv4.addresses = [
    {
      address = "198.18.2.3";
      prefixLength = 24;
    }
  ];
  # 5432 is let through from the API host's address only: an nftables rule
  # (with the iptables firewall the module writes the equivalent rule).
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
      apiAddresses = [ "198.18.2.1" ];
    };
    # The same password as on the API host; it sets the role's password.
    database.passwordFile = "/run/secrets/eosc-perf/db-password";
    dataDir = "/data";
  };
}
