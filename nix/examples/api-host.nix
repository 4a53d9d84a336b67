# An API host on backend-net (eth0); use it for each replica with its own
# address: import ./api-host.nix { address = "198.18.2.1"; }.
{ address }:
{
  system.stateVersion = "26.05";
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.interfaces.eth0.ipv4.addresses = [
    {
      inherit address;
      prefixLength = 24;
    }
  ];

  services.eosc-perf = {
    enable = true;
    environment = "production";
    # Reachable from the proxy only: 5000 is let through on eth0 from the
    # proxy's backend-net address, not from the other hosts there.
    listenAddress = address;
    frontendInterfaces = [ "eth0" ];
    proxyAddresses = [ "198.18.2.10" ];
    # Secrets are files outside the Nix store, read as systemd credentials:
    # sops-nix writes them under /run/secrets/, agenix under /run/agenix/.
    secretKeyFile = "/run/secrets/eosc-perf/secret-key";
    adminEntitlements = [ "urn:mace:egi.eu:group:perf.eosc-synergy.eu:role=admin#aai.egi.eu" ];
    database = {
      createLocally = false;
      host = "198.18.2.3"; # the database host
      port = 5433;
      passwordFile = "/run/secrets/eosc-perf/db-password";
    };
    settings = {
      TRUSTED_OP_LIST = [ "https://aai.egi.eu/auth/realms/egi" ];
      BACKEND_ROUTE = "https://perf.example.org/api/v1";
      MAIL_SUPPORT = "perf-support@example.org";
      MAIL_FROM = "perf@example.org";
      MAIL_SERVER = "smtp.example.org";
    };
  };
}
