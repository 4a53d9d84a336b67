# The proxy host: frontend-net (the clients) on eth0, backend-net on eth1.
# nginx terminates TLS and spreads the requests over the two API hosts.
{
  system.stateVersion = "26.05";
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.interfaces.eth0.ipv4.addresses = [
    {
      address = "198.18.1.1";
      prefixLength = 24;
    }
  ];
  networking.interfaces.eth1.ipv4.addresses = [
    {
      address = "198.18.2.10";
      prefixLength = 24;
    }
  ];

  # Let's Encrypt through nixpkgs' security.acme (HTTP-01 on port 80).
  security.acme = {
    acceptTerms = true;
    defaults.email = "perf-admin@example.org";
  };

  services.eosc-perf.proxy = {
    enable = true;
    hostName = "perf.example.org";
    acme = true; # or sslCertificate and sslCertificateKey
    # 80 (redirect to HTTPS, ACME) and 443 on frontend-net only.
    listenAddresses = [ "198.18.1.1" ];
    interfaces = [ "eth0" ];
    upstreams = [
      "198.18.2.1:5000"
      "198.18.2.2:5000"
    ];
    # The upstream web frontend's layout: the static site at /, the API
    # under /api/v1 (prefix stripped, X-Script-Name set).
    apiPrefix = "/api/v1";
    frontendRoot = "/var/www/eosc-perf-frontend";
  };
}
