package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// flakeHarness evaluates flake.nix's packages.x86_64-linux.kubernetes and
// kubernetes-dev with stand-ins for the two nixpkgs functions they use
// (lib.makeOverridable as nixpkgs defines it for attribute-set arguments,
// pkgs.writeText returning its name and text), so that the wrapping is
// checked where nixpkgs cannot be evaluated.
const flakeHarness = `
let
  repo = %s;
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  makeOverridable = f: args: f args // { override = new: makeOverridable f (args // new); };
  lib = { inherit genAttrs makeOverridable; };
  nixpkgs = {
    inherit lib;
    legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" ] (system: {
      writeText = name: text: { inherit name text; };
      callPackage = throw "callPackage is not available here";
    });
  };
  outputs = (import (repo + "/flake.nix")).outputs { self = outputs; inherit nixpkgs; };
  p = outputs.packages.x86_64-linux;
  file = d: { inherit (d) name text; };
in {
  prod = file p.kubernetes;
  dev = file p.kubernetes-dev;
  prodOverride = file (p.kubernetes.override { host = "o.example.org"; replicas = 4; });
  devOverride = file (p.kubernetes-dev.override { namespace = "d"; });
}`

func TestFlakePackagesWrapTheGenerator(t *testing.T) {
	t.Parallel()
	bin := nixInstantiate(t)
	readInputs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	expr := fmt.Sprintf(flakeHarness, nixString(repoRoot(t)))
	out, err := exec.CommandContext(ctx, bin, "--readonly-mode", "--eval", "--strict", "--json", "--expr", expr).Output()
	if err != nil {
		t.Fatalf("evaluating flake.nix's kubernetes packages: %v\n%s", err, stderrOf(err))
	}
	type file struct{ Name, Text string }
	var got struct{ Prod, Dev, ProdOverride, DevOverride file }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	decode := func(what string, f file, wantName string) *manifests {
		t.Helper()
		if f.Name != wantName {
			t.Errorf("%s: file name %q, want %q", what, f.Name, wantName)
		}
		m, err := decodeList([]byte(f.Text))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return m
	}
	prod := decode("kubernetes", got.Prod, "eosc-perf-api-kubernetes.json")
	dev := decode("kubernetes-dev", got.Dev, "eosc-perf-api-kubernetes-dev.json")
	if want := generate(t, prodDefaults); !sameJSON(t, prod.raw, want.raw) {
		t.Errorf("packages.kubernetes differs from nix/kubernetes.nix %s", prodDefaults)
	}
	if want := generate(t, "{ development = true; }"); !sameJSON(t, dev.raw, want.raw) {
		t.Error("packages.kubernetes-dev differs from nix/kubernetes.nix { development = true; }")
	}
	po := decode("kubernetes.override", got.ProdOverride, "eosc-perf-api-kubernetes.json")
	if d := one(t, "Deployment", po.deps); *d.Spec.Replicas != 4 || po.ings[0].Spec.Rules[0].Host != "o.example.org" {
		t.Errorf(".override: replicas %d, host %q; want 4 and o.example.org", *d.Spec.Replicas, po.ings[0].Spec.Rules[0].Host)
	}
	do := decode("kubernetes-dev.override", got.DevOverride, "eosc-perf-api-kubernetes-dev.json")
	if d := one(t, "Deployment", do.deps); d.Namespace != "d" || *d.Spec.Replicas != 1 || len(do.netpols) != 0 {
		t.Errorf("kubernetes-dev.override: namespace %q, replicas %d, %d policies; want d, the development variant", d.Namespace, *d.Spec.Replicas, len(do.netpols))
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ax, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return string(ax) == string(by)
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
