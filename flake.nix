{
  description = "eosc-perf-api: the EOSC Performance API (Go) — package, container image, development app, NixOS module";

  # One input, pinned in flake.lock (research/nix.md §1.1). nixpkgs refuses to
  # evaluate under Nix < 2.18 (lib/minfeatures.nix): use a current Nix.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: _prev: {
        eosc-perf-api = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (
        _system: pkgs:
        let
          eosc-perf-api = pkgs.callPackage ./nix/package.nix { };
        in
        {
          default = eosc-perf-api;
          inherit eosc-perf-api;
          image = pkgs.callPackage ./nix/image.nix { inherit eosc-perf-api; };
        }
        # Kubernetes manifests (nix/kubernetes.nix, builtins only): one JSON
        # `List` for `kubectl apply -f result`. Its arguments (host, image,
        # tlsSecret, database, …) through .override { … }.
        // (
          let
            manifests =
              name: defaults:
              lib.makeOverridable (
                args: pkgs.writeText "${name}.json" (builtins.toJSON (import ./nix/kubernetes.nix args))
              ) defaults;
          in
          {
            # The administrators of the EOSC Performance service in EGI Check-in.
            kubernetes = manifests "eosc-perf-api-kubernetes" {
              adminEntitlements = [ "urn:mace:egi.eu:group:perf.eosc-synergy.eu:role=admin#aai.egi.eu" ];
            };
            kubernetes-dev = manifests "eosc-perf-api-kubernetes-dev" { development = true; };
          }
        )
      );

      apps = forAllSystems (
        system: pkgs: {
          default = {
            type = "app";
            program = lib.getExe (
              pkgs.callPackage ./nix/dev.nix { eosc-perf-api = self.packages.${system}.default; }
            );
            meta.description = "eosc-perf-api in development mode with a throwaway PostgreSQL, sample data and a development OpenID provider";
          };
        }
      );

      devShells = forAllSystems (
        _system: pkgs: {
          default = pkgs.callPackage ./nix/shell.nix { };
        }
      );

      # The module itself is nix/module.nix, whose package option defaults to
      # pkgs.eosc-perf-api (overlays.default). This wrapper also works without
      # the overlay: it builds the package from the host's own pkgs, so
      # cross-compilation and the host's overlays apply.
      nixosModules.default =
        { pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.eosc-perf.package = lib.mkDefault (
            pkgs.eosc-perf-api or (pkgs.callPackage ./nix/package.nix { })
          );
        };

      checks = forAllSystems (
        system: pkgs: {
          package = self.packages.${system}.default;
          # The whole Go test suite with PostgreSQL at hand (src/pgtest finds
          # initdb on PATH). buildGoModule's own checkPhase would only test
          # subPackages, hence `go test ./...`. What needs root (tests/topology)
          # or Nix (tests/nixeval) reports itself skipped in the sandbox.
          go-tests = self.packages.${system}.default.overrideAttrs (old: {
            pname = "eosc-perf-api-go-tests";
            src = ./.;
            doCheck = true;
            nativeCheckInputs = (old.nativeCheckInputs or [ ]) ++ [ pkgs.postgresql ];
            checkPhase = ''
              runHook preCheck
              export GOFLAGS=''${GOFLAGS//-trimpath/}
              go test -count=1 ./...
              runHook postCheck
            '';
          });
          vm-test = pkgs.testers.runNixOSTest (import ./nix/tests/vm.nix { inherit self; });
          module-eval = pkgs.callPackage ./nix/tests/module-eval.nix { inherit self nixpkgs; };
        }
      );

      # `nix fmt`: nixfmt (RFC 166 style) over the tree; pkgs/by-name/ni/nixfmt-tree.
      formatter = forAllSystems (_system: pkgs: pkgs.nixfmt-tree);
    };
}
