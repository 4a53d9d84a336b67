# `nix run`: local development with nothing to install and nothing left behind.
# `eosc-perf-api dev` starts a throwaway PostgreSQL cluster in a temporary
# directory (src/pgtest: initdb and postgres found on PATH), migrates it, loads
# sample data, starts a development OpenID provider and serves the API on
# :5000 in development mode; on exit everything is removed. This wrapper only
# puts nixpkgs' PostgreSQL on PATH.
# writeShellApplication: nixpkgs pkgs/build-support/trivial-builders/default.nix
# (name, text, runtimeInputs, meta).
{
  writeShellApplication,
  postgresql,
  eosc-perf-api,
}:

writeShellApplication {
  name = "eosc-perf-api-dev";
  runtimeInputs = [
    eosc-perf-api
    postgresql
  ];
  text = ''
    exec eosc-perf-api dev "$@"
  '';
  meta = {
    description = "Run eosc-perf-api in development mode with a throwaway PostgreSQL";
    mainProgram = "eosc-perf-api-dev";
  };
}
