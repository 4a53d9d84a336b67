# The container image: dockerTools.buildLayeredImage (nixpkgs
# pkgs/build-support/docker/default.nix; arguments as documented in
# doc/build-helpers/images/dockertools.section.md). It holds the program and
# its closure (a static binary: nothing else), CA certificates and the time
# zone database (the whole tzdata output) — no shell, no package manager. `config` is the Docker Image
# Specification v1.3 config object, written into the image as given.
#
#   nix build .#image && docker load < result     (or: podman load -i result)
{
  lib,
  dockerTools,
  tzdata,
  eosc-perf-api,
}:

let
  exe = lib.getExe eosc-perf-api;
  seconds = s: s * 1000000000; # the image spec counts Healthcheck durations in nanoseconds
in
dockerTools.buildLayeredImage {
  name = "eosc-perf-api";
  tag = eosc-perf-api.version;

  # /etc/ssl/certs/{ca-bundle.crt,ca-certificates.crt} for the HTTPS calls to
  # the OpenID providers and container registries (dockerTools.caCertificates,
  # from cacert), and /bin/eosc-perf-api as a link into the store.
  contents = [
    eosc-perf-api
    dockerTools.caCertificates
  ];

  config = {
    # Numeric: the image has no /etc/passwd to resolve a name (65534 = nobody).
    User = "65534:65534";
    Entrypoint = [ exe ];
    Cmd = [ "serve" ];
    ExposedPorts."5000/tcp" = { };
    Env = [
      "FLASK_ENV=production"
      "LISTEN_ADDR=:5000"
      # Go reads time zones from $ZONEINFO. Referencing tzdata here puts its
      # whole output (share/zoneinfo and the rest of the package, a few MB)
      # into the image's closure, not only the zoneinfo directory.
      "ZONEINFO=${tzdata}/share/zoneinfo"
    ];
    # `healthcheck` GETs /healthz on the port of LISTEN_ADDR and exits 0 on 200.
    Healthcheck = {
      Test = [
        "CMD"
        exe
        "healthcheck"
      ];
      Interval = seconds 30;
      Timeout = seconds 5;
      StartPeriod = seconds 60;
      Retries = 3;
    };
    Labels = {
      "org.opencontainers.image.title" = "eosc-perf-api";
      "org.opencontainers.image.description" = eosc-perf-api.meta.description;
      "org.opencontainers.image.version" = eosc-perf-api.version;
      "org.opencontainers.image.source" = eosc-perf-api.meta.homepage;
      "org.opencontainers.image.licenses" = eosc-perf-api.meta.license.spdxId;
    };
  };
}
