# The program, built with buildGoModule (nixpkgs pkgs/build-support/go/module.nix).
#
# vendorHash lives in nix/vendor-hash.nix and is recomputed offline by
# nix/update-vendor-hash.sh (the NAR hash of `go mod vendor`); tests/nixeval
# fails when it is stale. The version comes from src/app/version.go through
# nix/version.nix and is set again with -ldflags -X, so `eosc-perf-api version`
# prints the same string whether built by Go or by Nix.
{
  lib,
  buildGoModule,
  go,
}:

let
  # The Go sources and what they embed (migrations, OpenAPI assets) plus the
  # tests: everything but the Nix files and the documentation, so that
  # editing those does not rebuild the program. tests/ must stay in: the
  # goModules derivation runs `go mod vendor` on this tree, and the vendor
  # directory (hence vendorHash) depends on the imports of every package in it,
  # test packages included — exactly what nix/update-vendor-hash.sh sees.
  # lib.fileset: nixpkgs lib/fileset/default.nix.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.difference ../. (
      lib.fileset.unions [
        ./.
        ../flake.nix
        ../flake.lock
        (lib.fileset.maybeMissing ../README.md)
        (lib.fileset.maybeMissing ../.ci)
      ]
    );
  };
in
# go.mod says `go 1.26.0` (goose v3.30.0, x/sys and x/sync require it), and
# buildGoModule sets GOTOOLCHAIN=local: an older Go would fail late and
# obscurely, so fail early and clearly (research/nix.md §2.2).
assert lib.assertMsg (lib.versionAtLeast go.version "1.26")
  "eosc-perf-api needs Go >= 1.26 (go.mod), nixpkgs provides ${go.version}";

buildGoModule (finalAttrs: {
  pname = "eosc-perf-api";
  version = import ./version.nix;
  inherit src;

  vendorHash = import ./vendor-hash.nix;

  subPackages = [ "src/cmd/eosc-perf-api" ];

  # A static binary without libc: it runs in the image without a loader.
  # `env.CGO_ENABLED` is the spelling module.nix reads (args.env.CGO_ENABLED).
  env.CGO_ENABLED = "0";

  ldflags = [
    "-s"
    "-w"
    "-X github.com/eosc-perf/api/src/app.Version=${finalAttrs.version}"
  ];

  # The tests need PostgreSQL (and, for tests/topology, root and network
  # namespaces); they run in the flake's checks.<system>.go-tests instead,
  # which adds PostgreSQL. The package itself stays buildable anywhere.
  doCheck = false;

  meta = {
    description = "EOSC Performance API: benchmarks, results, sites and flavors over HTTP (Go reimplementation of the Flask service 1.2.3)";
    homepage = "https://github.com/eosc-perf/api";
    # Upstream EOSC-synergy/eosc-perf-backend is MIT; this reimplementation keeps it.
    license = lib.licenses.mit;
    mainProgram = "eosc-perf-api";
    platforms = lib.platforms.linux;
  };
})
