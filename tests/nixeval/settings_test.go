package nixeval

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite nix/settings.json from `eosc-perf-api config --json`")

// The module reads the program's settings reference from nix/settings.json
// (to refuse unknown names, secrets and bad enum values in `settings`); it
// must be what `eosc-perf-api config --json` prints. With -update the test
// rewrites it.
func TestSettingsJSONIsCurrent(t *testing.T) {
	root := repoRoot(t)
	// `go run` compiles the program outside this process: read its sources so
	// that a change to them invalidates a cached result of this test.
	err := filepath.WalkDir(filepath.Join(root, "src", "app"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./src/cmd/eosc-perf-api", "config", "--json")
	cmd.Dir = root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run ./src/cmd/eosc-perf-api config --json: %v\n%s", err, errOut.Bytes())
	}
	path := filepath.Join(root, "nix", "settings.json")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, out.Bytes()) {
		t.Errorf("nix/settings.json differs from `eosc-perf-api config --json`; refresh it with\n" +
			"  go test ./tests/nixeval -run TestSettingsJSONIsCurrent -update")
	}
}
