# `nix run`: local development with nothing to install and nothing left behind.
# `eosc-perf-api-dev` starts a throwaway PostgreSQL cluster in a temporary
# directory (src/pgtest: initdb and postgres found on PATH), migrates it, loads
# sample data, starts a development OpenID provider and serves the API on
# :5000 in development mode; on exit everything is removed. It is a program of
# its own (src/cmd/eosc-perf-api-dev), built here from the package's source,
# so that the service binary and the image never contain a provider that
# mints tokens. This wrapper also puts nixpkgs' PostgreSQL on PATH.
# writeShellApplication: nixpkgs pkgs/build-support/trivial-builders/default.nix
# (name, text, runtimeInputs, meta).
{
  writeShellApplication,
  postgresql,
  eosc-perf-api,
}:

let
  # buildGoModule reads subPackages in its build phase, so overrideAttrs can
  # pick the other command (as the flake's go-tests check overrides checkPhase).
  eosc-perf-api-dev = eosc-perf-api.overrideAttrs (old: {
    pname = "eosc-perf-api-dev";
    subPackages = [ "src/cmd/eosc-perf-api-dev" ];
    meta = old.meta // {
      mainProgram = "eosc-perf-api-dev";
    };
  });
in
writeShellApplication {
  name = "eosc-perf-api-dev";
  runtimeInputs = [
    eosc-perf-api-dev
    postgresql
  ];
  text = ''
    exec eosc-perf-api-dev "$@"
  '';
  meta = {
    description = "Run eosc-perf-api in development mode with a throwaway PostgreSQL";
    mainProgram = "eosc-perf-api-dev";
  };
}
