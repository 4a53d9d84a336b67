# The shape of flake.nix's outputs, evaluated with nixpkgs' lib only: the
# package set is a stand-in that throws when touched, so only what can be
# known without nixpkgs is looked at (names, app metadata, inputs).
# Used by tests/nixeval.
{ lib }:

let
  flake = import ../../flake.nix;
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  nixpkgs = {
    inherit lib;
    outPath = "/nonexistent-nixpkgs";
    legacyPackages = lib.genAttrs systems (
      system: throw "flake-outputs.nix: the package set of ${system} is not available here"
    );
  };
  outputs = flake.outputs {
    self = outputs // {
      outPath = ../..;
    };
    inherit nixpkgs;
  };
  namesPerSystem = name: lib.mapAttrs (_: lib.attrNames) outputs.${name};
in
{
  inherit (flake) description inputs;
  outputs = lib.attrNames outputs;
  packages = namesPerSystem "packages";
  apps = namesPerSystem "apps";
  devShells = namesPerSystem "devShells";
  checks = namesPerSystem "checks";
  formatter = lib.attrNames outputs.formatter;
  nixosModules = lib.attrNames outputs.nixosModules;
  overlays = lib.attrNames outputs.overlays;
  defaultApps = lib.mapAttrs (_: apps: {
    inherit (apps.default) type;
    description = apps.default.meta.description or "";
    attributes = lib.attrNames apps.default;
  }) outputs.apps;
}
