package nixeval

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// packagesResult is what nix/tests/packages-harness.nix returns: the
// arguments nix/{package,image,dev,shell}.nix give the nixpkgs builders.
type packagesResult struct {
	Package struct {
		Pname       string            `json:"pname"`
		Version     string            `json:"version"`
		VendorHash  string            `json:"vendorHash"`
		SubPackages []string          `json:"subPackages"`
		Ldflags     []string          `json:"ldflags"`
		Env         map[string]string `json:"env"`
		MainProgram string            `json:"mainProgram"`
	} `json:"package"`
	Image struct {
		Name     string   `json:"name"`
		Tag      string   `json:"tag"`
		Contents []string `json:"contents"`
		Config   struct {
			User         string              `json:"User"`
			Entrypoint   []string            `json:"Entrypoint"`
			Cmd          []string            `json:"Cmd"`
			Env          []string            `json:"Env"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts"`
			Healthcheck  struct {
				Test []string `json:"Test"`
			} `json:"Healthcheck"`
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	} `json:"image"`
	Dev struct {
		Text          string   `json:"text"`
		RuntimeInputs []string `json:"runtimeInputs"`
		Description   string   `json:"description"`
		Program       struct {
			Pname       string   `json:"pname"`
			SubPackages []string `json:"subPackages"`
			MainProgram string   `json:"mainProgram"`
		} `json:"program"`
	} `json:"dev"`
	Shell struct {
		Packages []string `json:"packages"`
	} `json:"shell"`
}

func TestPackagesAreBuiltAsRequired(t *testing.T) {
	libDir := nixpkgsLib(t, "the evaluation of nix/{package,image,dev,shell}.nix")
	var r packagesResult
	evalJSON(t, libDir, `import (repo + "/nix/tests/packages-harness.nix") { inherit lib; }`, &r)
	version := goVersion(t)

	t.Run("the package carries the program's version, vendorHash and CGO off", func(t *testing.T) {
		p := r.Package
		if p.Pname != "eosc-perf-api" || p.Version != version || p.MainProgram != "eosc-perf-api" {
			t.Errorf("pname %q version %q mainProgram %q, want eosc-perf-api %q eosc-perf-api", p.Pname, p.Version, p.MainProgram, version)
		}
		wantFlag := "-X github.com/eosc-perf/api/src/app.Version=" + version
		if !slices.Contains(p.Ldflags, wantFlag) {
			t.Errorf("ldflags %q lack %q", p.Ldflags, wantFlag)
		}
		if !slices.Equal(p.SubPackages, []string{"src/cmd/eosc-perf-api"}) {
			t.Errorf("subPackages %q", p.SubPackages)
		}
		if p.Env["CGO_ENABLED"] != "0" {
			t.Errorf("env.CGO_ENABLED = %q, want 0", p.Env["CGO_ENABLED"])
		}
		if !strings.HasPrefix(p.VendorHash, "sha256-") {
			t.Errorf("vendorHash %q is not an SRI sha256", p.VendorHash)
		}
	})

	t.Run("the image holds the program, certificates and time zones, runs serve as nobody", func(t *testing.T) {
		img, c := r.Image, r.Image.Config
		if img.Name != "eosc-perf-api" || img.Tag != version {
			t.Errorf("image %s:%s, want eosc-perf-api:%s", img.Name, img.Tag, version)
		}
		// No shell, no coreutils: the program (a static binary) and CA certificates;
		// tzdata comes in through ZONEINFO.
		if want := []string{"eosc-perf-api-" + version, "ca-certificates"}; !slices.Equal(img.Contents, want) {
			t.Errorf("contents %q, want %q", img.Contents, want)
		}
		if c.User != "65534:65534" {
			t.Errorf("User %q, want the numeric non-root 65534:65534", c.User)
		}
		if len(c.Entrypoint) != 1 || !strings.HasSuffix(c.Entrypoint[0], "/bin/eosc-perf-api") || !slices.Equal(c.Cmd, []string{"serve"}) {
			t.Errorf("Entrypoint %q Cmd %q, want the program and serve", c.Entrypoint, c.Cmd)
		}
		if _, ok := c.ExposedPorts["5000/tcp"]; !ok || len(c.ExposedPorts) != 1 {
			t.Errorf("ExposedPorts %v, want 5000/tcp", c.ExposedPorts)
		}
		if !slices.Contains(c.Env, "FLASK_ENV=production") || !slices.ContainsFunc(c.Env, func(e string) bool {
			return strings.HasPrefix(e, "ZONEINFO=/nix/store/") && strings.HasSuffix(e, "tzdata/share/zoneinfo")
		}) {
			t.Errorf("Env %q, want FLASK_ENV=production and ZONEINFO in tzdata", c.Env)
		}
		if len(c.Healthcheck.Test) != 3 || c.Healthcheck.Test[0] != "CMD" || c.Healthcheck.Test[2] != "healthcheck" {
			t.Errorf("Healthcheck.Test %q, want CMD <program> healthcheck", c.Healthcheck.Test)
		}
		for _, l := range []string{"title", "version", "source", "licenses"} {
			if c.Labels["org.opencontainers.image."+l] == "" {
				t.Errorf("label org.opencontainers.image.%s missing", l)
			}
		}
	})

	t.Run("nix run starts the dev command with PostgreSQL on PATH", func(t *testing.T) {
		d := r.Dev
		if !strings.Contains(d.Text, `exec eosc-perf-api-dev "$@"`) {
			t.Errorf("dev app runs %q", d.Text)
		}
		// The development program is built on its own: the package (and
		// the image) hold the service only.
		if p := d.Program; p.Pname != "eosc-perf-api-dev" || !slices.Equal(p.SubPackages, []string{"src/cmd/eosc-perf-api-dev"}) || p.MainProgram != "eosc-perf-api-dev" {
			t.Errorf("dev app's program %+v, want eosc-perf-api-dev built from src/cmd/eosc-perf-api-dev", p)
		}
		if !slices.ContainsFunc(d.RuntimeInputs, func(s string) bool { return strings.HasPrefix(s, "postgresql") }) {
			t.Errorf("dev app PATH %q lacks PostgreSQL", d.RuntimeInputs)
		}
	})

	t.Run("the shell has the tools", func(t *testing.T) {
		for _, want := range []string{"gopls", "golangci-lint", "goose", "postgresql", "update-vendor-hash"} {
			if !slices.ContainsFunc(r.Shell.Packages, func(s string) bool { return strings.HasPrefix(s, want) }) {
				t.Errorf("shell packages %q lack %s", r.Shell.Packages, want)
			}
		}
	})

	t.Run("vendorHash is the one nix/vendor-hash.nix holds", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), "nix", "vendor-hash.nix"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"`+r.Package.VendorHash+`"`) {
			t.Errorf("package vendorHash %q is not nix/vendor-hash.nix's", r.Package.VendorHash)
		}
	})
}
