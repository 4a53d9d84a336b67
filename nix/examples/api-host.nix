# The API host: frontend-net on eth0, backend-net on eth1.
{
  networking.interfaces.eth0.ipv4.addresses = [
    {
      address = "198.18.1.1";
      prefixLength = 24;
    }
  ];
  networking.interfaces.eth1.ipv4.addresses = [
    {
      address = "198.18.2.1";
      prefixLength = 24;
    }
  ];

  services.eosc-perf = {
    enable = true;
    environment = "production";
    # Listen on frontend-net only; 5000 is opened on eth0 only.
    listenAddress = "198.18.1.1";
    frontendInterfaces = [ "eth0" ];
    # Secrets are files outside the Nix store (sops-nix, agenix, or copied by
    # hand with mode 0600); the service reads them as systemd credentials.
    secretKeyFile = "/run/secrets/eosc-perf/secret-key";
    adminEntitlements = [ "urn:mace:egi.eu:group:perf.eosc-synergy.eu:role=admin#aai.egi.eu" ];
    database = {
      createLocally = false;
      host = "198.18.2.3"; # the database host on backend-net
      passwordFile = "/run/secrets/eosc-perf/db-password";
    };
    settings = {
      TRUSTED_OP_LIST = [ "https://aai.egi.eu/auth/realms/egi" ];
      BACKEND_ROUTE = "/api/v1";
      MAIL_SUPPORT = "perf-support@example.org";
      MAIL_FROM = "perf@example.org";
      MAIL_SERVER = "smtp.example.org";
    };
  };
}
