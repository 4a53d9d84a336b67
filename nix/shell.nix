# `nix develop`: the tools to work on eosc-perf-api. The Go of this shell is
# the one nixpkgs builds the package with, so `go mod vendor` here writes the
# same vendor/modules.txt as the goModules derivation (update-vendor-hash).
# mkShell: nixpkgs pkgs/build-support/mkshell/default.nix (packages); the
# tools are pkgs/by-name/go/{gopls,gotools,golangci-lint,goose} and
# pkgs/by-name/ni/nixfmt-tree.
{
  mkShell,
  writeShellApplication,
  go,
  gopls,
  gotools,
  golangci-lint,
  goose,
  postgresql,
  nixfmt-tree,
}:

let
  # The script must run on the working tree, not on a copy in the store:
  # find the repository root from the current directory.
  update-vendor-hash = writeShellApplication {
    name = "update-vendor-hash";
    runtimeInputs = [ go ];
    text = ''
      dir=$PWD
      while [ ! -x "$dir/nix/update-vendor-hash.sh" ] || [ ! -f "$dir/go.mod" ]; do
        if [ "$dir" = / ]; then
          echo "update-vendor-hash: run it inside the eosc-perf-api working tree" >&2
          exit 1
        fi
        dir=$(dirname "$dir")
      done
      exec "$dir/nix/update-vendor-hash.sh" "$@"
    '';
  };
in
mkShell {
  packages = [
    go
    gopls
    gotools
    golangci-lint
    goose
    postgresql # initdb/postgres for src/pgtest and `eosc-perf-api-dev`
    nixfmt-tree
    update-vendor-hash
  ];
  # Never let the go command fetch another toolchain than the shell's.
  GOTOOLCHAIN = "local";
}
