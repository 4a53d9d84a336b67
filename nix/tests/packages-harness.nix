# Calls nix/package.nix, image.nix, dev.nix and shell.nix with stand-ins of
# the nixpkgs builders they use, which hand back their arguments instead of
# derivations, and returns those arguments as plain data — so that
# tests/nixeval can check them with nothing but nixpkgs' lib (the pinned
# nixpkgs cannot be evaluated by Debian's Nix 2.8). The real builders are
# checked by `nix flake check` (checks.<system>.package and vm-test).
#
# Stand-ins mirror the calling conventions of nixpkgs (nixos-26.05 line):
# buildGoModule takes a function of finalAttrs (lib.extendMkDerivation in
# pkgs/build-support/go/module.nix); dockerTools.buildLayeredImage an attrset
# (pkgs/build-support/docker/default.nix); writeShellApplication and mkShell
# attrsets (trivial-builders, mkshell).
{ lib }:

let
  fakeStorePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  derivationOf =
    attrs:
    attrs
    // {
      type = "derivation";
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      outPath = fakeStorePath (attrs.name or attrs.pname);
      # mkDerivation's overrideAttrs, for a function of the old attributes.
      overrideAttrs = f: derivationOf (attrs // f attrs);
    };
  simplePackage = name: derivationOf { inherit name; };

  pkgs = {
    inherit lib;
    go = simplePackage "go-1.26.5" // {
      version = "1.26.5";
    };
    buildGoModule =
      f:
      let
        attrs = f attrs;
      in
      derivationOf attrs;
    dockerTools = {
      buildLayeredImage = args: derivationOf (args // { pname = args.name; version = args.tag; });
      caCertificates = simplePackage "ca-certificates";
    };
    writeShellApplication = args: derivationOf args;
    mkShell = args: derivationOf (args // { name = "shell"; });
    tzdata = simplePackage "tzdata";
    postgresql = simplePackage "postgresql-17";
    gopls = simplePackage "gopls";
    gotools = simplePackage "gotools";
    golangci-lint = simplePackage "golangci-lint";
    goose = simplePackage "goose";
    nixfmt-tree = simplePackage "nixfmt-tree";
  };
  callPackage =
    file: overrides:
    let
      f = import file;
    in
    f (lib.intersectAttrs (lib.functionArgs f) pkgs // overrides);

  package = callPackage ../package.nix { };
  image = callPackage ../image.nix { eosc-perf-api = package; };
  dev = callPackage ../dev.nix { eosc-perf-api = package; };
  shell = callPackage ../shell.nix { };
  names = map (p: p.name);
in
{
  package = {
    inherit (package)
      pname
      version
      vendorHash
      subPackages
      ldflags
      env
      doCheck
      ;
    mainProgram = package.meta.mainProgram;
    license = package.meta.license.spdxId;
    # package.src (lib.fileset) is left alone: lib.fileset needs
    # builtins.readFileType, which Nix 2.8 lacks.
  };
  image = {
    inherit (image) name tag;
    contents = names image.contents;
    inherit (image) config;
  };
  dev = {
    inherit (dev) name text;
    runtimeInputs = names dev.runtimeInputs;
    inherit (dev.meta) description mainProgram;
    # The development program, built from the package with overrideAttrs.
    program =
      let
        p = lib.findFirst (p: p ? subPackages) null dev.runtimeInputs;
      in
      {
        inherit (p) pname subPackages;
        inherit (p.meta) mainProgram;
      };
  };
  shell = {
    packages = names shell.packages;
    inherit (shell) GOTOOLCHAIN;
  };
}
