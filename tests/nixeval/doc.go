// Package nixeval checks the Nix bundle (flake.nix, nix/) with what runs on
// a machine that cannot evaluate the pinned nixpkgs: Debian's Nix 2.8 parses
// every .nix file, evaluates the NixOS module with nixpkgs' lib against
// stand-ins of the NixOS options it sets (nix/tests/eval-harness.nix), calls
// the package, image, dev app and shell with stand-ins of their builders
// (nix/tests/packages-harness.nix), and recomputes vendorHash. Pure Go checks
// keep flake.lock, nix/settings.json, nix/version.nix and the README's
// deployment example in step with the program.
//
// Without nix-instantiate the Nix checks skip, saying so, unless CI=true,
// where they fail (.ci/run installs nix-bin). The evaluations need nixpkgs'
// lib: NIXPKGS_LIB names a checkout of github.com/nix-community/nixpkgs.lib
// (or its lib/ directory); without it they skip and say that they did not
// run. The real evaluation (nixosSystem, the VM test) is `nix flake check`
// on a machine with Nix >= 2.18.
package nixeval
