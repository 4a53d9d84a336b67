package nixeval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's Deploy section documents the three ways to deploy, and its
// NixOS example is the one the flake evaluates (nix/examples, used by
// checks.<system>.module-eval), so the documentation cannot rot unnoticed.
func TestReadmeDeploySection(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, deploy, found := strings.Cut(string(raw), "\n## Deploy\n")
	if !found {
		t.Fatal(`README.md has no "## Deploy" section`)
	}
	if next := strings.Index(deploy, "\n## "); next >= 0 {
		deploy = deploy[:next]
	}
	for _, want := range []string{"nix run", "nix build .#image", "docker load < result", "podman load",
		"docker run", "SECRET_KEY_FILE=", "DB_PASSWORD_FILE=", "nix develop", "nix flake check",
		"nix/update-vendor-hash.sh", "eosc-perf.nixosModules.default",
		// issue 9: agenix's path, restarts on secret change, the restore.
		"/run/agenix/", "restartUnits", "restartTriggers", "pg_restore", "--role=eosc_perf", "manageServer"} {
		if !strings.Contains(deploy, want) {
			t.Errorf("the Deploy section does not mention %q", want)
		}
	}
	for _, example := range []string{"proxy-host.nix", "api-host.nix", "db-host.nix"} {
		src, err := os.ReadFile(filepath.Join(root, "nix", "examples", example))
		if err != nil {
			t.Fatal(err)
		}
		// A host's configuration needs both to build (issue 9, defect 8).
		for _, want := range []string{`system.stateVersion = "26.05";`, "boot.loader.systemd-boot.enable = true;"} {
			if !strings.Contains(string(src), want) {
				t.Errorf("nix/examples/%s lacks %s", example, want)
			}
		}
		block := "```nix\n" + strings.TrimRight(string(src), "\n") + "\n```"
		if !strings.Contains(deploy, block) {
			t.Errorf("the Deploy section lacks nix/examples/%s verbatim in a nix code block", example)
		}
	}
}
