# The HTTPS reverse proxy of services.eosc-perf (options proxy.* in
# ./module-options.nix): nginx on frontend-net in front of one or more API
# hosts, the production layout the seed recommends.
#
# nixpkgs sources checked (nixos-26.05 line):
# - nixos/modules/services/web-servers/nginx/default.nix: enable,
#   recommendedProxySettings (Host, X-Real-IP, X-Forwarded-For,
#   X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Server on every
#   proxyPass location), recommendedTlsSettings, upstreams.<name>.servers
#   (attrs of server parameters, freeform: max_fails, fail_timeout) and
#   extraConfig, virtualHosts (vhost-options.nix: forceSSL = HTTPS plus a
#   redirecting HTTP server block, enableACME, sslCertificate,
#   sslCertificateKey, listenAddresses, locations: location-options.nix
#   proxyPass, extraConfig, root, tryFiles, return).
# - nixos/modules/security/acme/default.nix: nginx's enableACME adds
#   security.acme.certs.<hostName>; that module asserts acceptTerms and an
#   email (security.acme.defaults.email) itself.
# - Open-source nginx has passive health checks only: a server failing
#   max_fails times is skipped for fail_timeout; proxy_next_upstream retries
#   the request on the next one.
{
  config,
  lib,
  ...
}:

let
  inherit (lib) mkIf mkMerge;
  cfg = config.services.eosc-perf;
  p = cfg.proxy;

  upstreams = if p.upstreams != [ ] then p.upstreams else [ "127.0.0.1:${toString cfg.port}" ];
  root = p.apiPrefix == "";

  apiLocation = {
    # With a URI part, nginx replaces the matched prefix by it: the API sees
    # paths without the prefix, and X-Script-Name names it.
    proxyPass = if root then "http://eosc-perf-api" else "http://eosc-perf-api/";
    # nginx's recommendedProxySettings put the X-Forwarded-* headers in this
    # location (include) and `Connection ""` at the http level, which any
    # proxy_set_header here cancels: restate it, so the upstream keepalive
    # keeps working.
    extraConfig = ''
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
    ''
    + lib.optionalString (!root) ''
      proxy_set_header X-Script-Name ${p.apiPrefix};
    '';
  };
in
{
  config = mkIf p.enable {
    assertions = [
      {
        assertion = p.acme || (p.sslCertificate != null && p.sslCertificateKey != null);
        message = "services.eosc-perf.proxy: set acme = true (with security.acme.acceptTerms and security.acme.defaults.email), or give sslCertificate and sslCertificateKey.";
      }
      {
        assertion = !(p.acme && (p.sslCertificate != null || p.sslCertificateKey != null));
        message = "services.eosc-perf.proxy: acme and sslCertificate/sslCertificateKey exclude each other.";
      }
      {
        assertion = cfg.enable || p.upstreams != [ ];
        message = "services.eosc-perf.proxy: no API on this host (services.eosc-perf.enable is false), so set proxy.upstreams to the API hosts (\"198.18.2.1:5000\" …).";
      }
      {
        assertion = p.frontendRoot == null || !root;
        message = "services.eosc-perf.proxy: frontendRoot serves /, so the API needs a prefix (apiPrefix, for example \"/api/v1\").";
      }
    ];
    warnings =
      lib.optional (p.interfaces == [ ] && !cfg.openFirewall)
        "services.eosc-perf.proxy: no firewall rule opens ports 80 and 443; set proxy.interfaces = [ \"eth1\" ] (frontend-net) or openFirewall = true.";

    services.nginx = {
      enable = true;
      recommendedProxySettings = true;
      recommendedTlsSettings = true;
      upstreams.eosc-perf-api = {
        servers = lib.genAttrs upstreams (_: {
          max_fails = 3;
          fail_timeout = "10s";
        });
        extraConfig = ''
          keepalive 16;
        '';
      };
      virtualHosts.${p.hostName} = mkMerge [
        {
          forceSSL = true;
          enableACME = p.acme;
          inherit (p) listenAddresses;
          locations = if root then { "/" = apiLocation; } else { "${p.apiPrefix}/" = apiLocation; };
        }
        (mkIf (!p.acme && p.sslCertificate != null && p.sslCertificateKey != null) {
          sslCertificate = p.sslCertificate;
          sslCertificateKey = p.sslCertificateKey;
        })
        (mkIf (!root) {
          locations."/" =
            if p.frontendRoot != null then
              {
                root = p.frontendRoot;
                tryFiles = "$uri $uri/ /index.html";
              }
            else
              { return = "404"; };
        })
      ];
    };

    services.eosc-perf.internal.firewall = mkMerge [
      (mkIf (p.interfaces != [ ]) {
        interfacePorts = lib.genAttrs p.interfaces (_: [
          80
          443
        ]);
      })
      (mkIf (p.interfaces == [ ] && cfg.openFirewall) {
        globalPorts = [
          80
          443
        ];
      })
    ];
  };
}
