package nixeval

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vendorHash must follow go.mod, go.sum and the imports of every package:
// nix/update-vendor-hash.sh recomputes it (the NAR hash of `go mod vendor`)
// and this test fails until nix/vendor-hash.nix holds the result.
func TestVendorHashIsCurrent(t *testing.T) {
	nixTool(t, "nix", "the vendorHash staleness check")
	root := repoRoot(t)
	readInputs(t)
	out, err := runCommand(t, "bash", filepath.Join(root, "nix", "update-vendor-hash.sh"), "--print")
	if err != nil {
		t.Fatalf("nix/update-vendor-hash.sh --print: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fresh := lines[len(lines)-1]
	if !strings.HasPrefix(fresh, "sha256-") {
		t.Fatalf("nix/update-vendor-hash.sh printed %q, want an SRI sha256", out)
	}
	raw, err := os.ReadFile(filepath.Join(root, "nix", "vendor-hash.nix"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^"(sha256-[A-Za-z0-9+/=]+)"$`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("nix/vendor-hash.nix holds no \"sha256-…\" line:\n%s", raw)
	}
	if m[1] != fresh {
		t.Errorf("vendorHash is stale: nix/vendor-hash.nix has %s, go.mod/go.sum and the imports give %s; "+
			"run nix/update-vendor-hash.sh", m[1], fresh)
	}
}
