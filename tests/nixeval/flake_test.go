package nixeval

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The pin of research/nix.md §1.1: nixos-26.05 at 8eeec934, locked by
// several independent flake.lock files with this narHash.
var wantNixpkgsLock = map[string]any{
	"lastModified": float64(1784011430),
	"narHash":      "sha256-lDebytrYdd47IBLwvNOD+6AGeoqZ78CIKlp70hzW280=",
	"owner":        "NixOS",
	"repo":         "nixpkgs",
	"rev":          "8eeec934ae0dbeca3d7868c059568a65c08b2fc3",
	"type":         "github",
}

func TestFlakeLockPinsNixos2605(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "flake.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Version int    `json:"version"`
		Root    string `json:"root"`
		Nodes   map[string]struct {
			Inputs   map[string]any `json:"inputs"`
			Locked   map[string]any `json:"locked"`
			Original map[string]any `json:"original"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	if lock.Version != 7 || lock.Root != "root" {
		t.Errorf("lock version %d, root %q: want 7 and \"root\"", lock.Version, lock.Root)
	}
	if got := sortedKeys(lock.Nodes); !slices.Equal(got, []string{"nixpkgs", "root"}) {
		t.Errorf("lock nodes %v, want exactly root and nixpkgs (one input)", got)
	}
	if got := lock.Nodes["root"].Inputs; !reflect.DeepEqual(got, map[string]any{"nixpkgs": "nixpkgs"}) {
		t.Errorf("root inputs %v, want only nixpkgs", got)
	}
	np := lock.Nodes["nixpkgs"]
	if !reflect.DeepEqual(np.Locked, wantNixpkgsLock) {
		t.Errorf("nixpkgs locked %v, want %v", np.Locked, wantNixpkgsLock)
	}
	wantOriginal := map[string]any{"owner": "NixOS", "repo": "nixpkgs", "ref": "nixos-26.05", "type": "github"}
	if !reflect.DeepEqual(np.Original, wantOriginal) {
		t.Errorf("nixpkgs original %v, want %v", np.Original, wantOriginal)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestFlakeOutputsHaveTheRequiredShape(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of flake.nix's outputs")
	var got struct {
		Inputs       map[string]map[string]string `json:"inputs"`
		Outputs      []string                     `json:"outputs"`
		Packages     map[string][]string          `json:"packages"`
		Apps         map[string][]string          `json:"apps"`
		DevShells    map[string][]string          `json:"devShells"`
		Checks       map[string][]string          `json:"checks"`
		Formatter    []string                     `json:"formatter"`
		NixosModules []string                     `json:"nixosModules"`
		Overlays     []string                     `json:"overlays"`
		DefaultApps  map[string]struct {
			Type        string   `json:"type"`
			Description string   `json:"description"`
			Attributes  []string `json:"attributes"`
		} `json:"defaultApps"`
	}
	evalJSON(t, libDir, `import (repo + "/nix/tests/flake-outputs.nix") { inherit lib; }`, &got)

	wantInputs := map[string]map[string]string{"nixpkgs": {"url": "github:NixOS/nixpkgs/nixos-26.05"}}
	if !reflect.DeepEqual(got.Inputs, wantInputs) {
		t.Errorf("inputs %v, want only %v", got.Inputs, wantInputs)
	}
	wantOutputs := []string{"apps", "checks", "devShells", "formatter", "nixosModules", "overlays", "packages"}
	if !slices.Equal(got.Outputs, wantOutputs) {
		t.Errorf("outputs %v, want %v", got.Outputs, wantOutputs)
	}
	systems := []string{"aarch64-linux", "x86_64-linux"}
	perSystem := map[string]struct {
		got  map[string][]string
		want []string
	}{
		"packages":  {got.Packages, []string{"default", "image"}},
		"apps":      {got.Apps, []string{"default"}},
		"devShells": {got.DevShells, []string{"default"}},
		"checks":    {got.Checks, []string{"module-eval", "package", "vm-test"}},
	}
	for name, ps := range perSystem {
		if s := sortedKeys(ps.got); !slices.Equal(s, systems) {
			t.Errorf("%s for systems %v, want %v", name, s, systems)
		}
		for system, attrs := range ps.got {
			for _, w := range ps.want {
				if !slices.Contains(attrs, w) {
					t.Errorf("%s.%s lacks %s (has %v)", name, system, w, attrs)
				}
			}
		}
	}
	if !slices.Equal(got.Formatter, systems) {
		t.Errorf("formatter for %v, want %v", got.Formatter, systems)
	}
	if !slices.Equal(got.NixosModules, []string{"default"}) || !slices.Equal(got.Overlays, []string{"default"}) {
		t.Errorf("nixosModules %v, overlays %v: want default each", got.NixosModules, got.Overlays)
	}
	for system, app := range got.DefaultApps {
		if app.Type != "app" || strings.TrimSpace(app.Description) == "" {
			t.Errorf("apps.%s.default: type %q, meta.description %q: want an app with a description", system, app.Type, app.Description)
		}
		// Current Nix warns about any other attribute of an app.
		if !slices.Equal(app.Attributes, []string{"meta", "program", "type"}) {
			t.Errorf("apps.%s.default has attributes %v, want meta, program, type", system, app.Attributes)
		}
	}
}
