package nixeval

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The lock must pin nixpkgs by revision and content hash, whatever revision
// `nix flake update` chose: a fixed revision here would fail the first update.
var (
	revPattern     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	narHashPattern = regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`)
)

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
	if got := sortedKeys(np.Locked); !slices.Equal(got, []string{"lastModified", "narHash", "owner", "repo", "rev", "type"}) {
		t.Errorf("nixpkgs locked has %v, want lastModified, narHash, owner, repo, rev, type", got)
	}
	for k, want := range map[string]string{"owner": "NixOS", "repo": "nixpkgs", "type": "github"} {
		if np.Locked[k] != want {
			t.Errorf("nixpkgs locked %s = %v, want %q (the same repository as flake.nix's url)", k, np.Locked[k], want)
		}
	}
	if rev, _ := np.Locked["rev"].(string); !revPattern.MatchString(rev) {
		t.Errorf("nixpkgs locked rev %v, want a full commit hash", np.Locked["rev"])
	}
	if h, _ := np.Locked["narHash"].(string); !narHashPattern.MatchString(h) {
		t.Errorf("nixpkgs locked narHash %v, want an SRI sha256 hash", np.Locked["narHash"])
	}
	if lm, _ := np.Locked["lastModified"].(float64); lm < 1.7e9 || lm != float64(int64(lm)) {
		t.Errorf("nixpkgs locked lastModified %v, want a Unix time", np.Locked["lastModified"])
	}
	// The pin's consistency: the lock was made from the url flake.nix names.
	flake, err := os.ReadFile(filepath.Join(repoRoot(t), "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`inputs\.nixpkgs\.url = "github:NixOS/nixpkgs/([^"]+)";`).FindSubmatch(flake)
	if m == nil {
		t.Fatal(`flake.nix has no inputs.nixpkgs.url = "github:NixOS/nixpkgs/<branch>"`)
	}
	if string(m[1]) != "nixos-26.05" {
		t.Errorf("flake.nix follows %s, want nixos-26.05 (DESIGN.md §6)", m[1])
	}
	wantOriginal := map[string]any{"owner": "NixOS", "repo": "nixpkgs", "ref": string(m[1]), "type": "github"}
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
