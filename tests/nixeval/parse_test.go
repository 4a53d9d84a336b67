package nixeval

import (
	"context"
	"io/fs"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nixFiles lists the repository's .nix files, relative to root.
func nixFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "vendor", "node_modules", "result":
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) == ".nix" {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every .nix file must parse with Debian's Nix 2.8, which also keeps newer
// syntax (pipe operators) out of the flake.
func TestEveryNixFileParses(t *testing.T) {
	bin := nixTool(t, "nix-instantiate", "the parse check of the .nix files")
	root := repoRoot(t)
	files := nixFiles(t, root)
	for _, want := range []string{"flake.nix", "nix/package.nix", "nix/image.nix", "nix/dev.nix",
		"nix/shell.nix", "nix/module.nix", "nix/tests/vm.nix"} {
		found := false
		for _, f := range files {
			found = found || f == want
		}
		if !found {
			t.Errorf("%s is missing", want)
		}
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "--parse", filepath.Join(root, f)).CombinedOutput()
			if err != nil {
				t.Errorf("nix-instantiate --parse %s: %v\n%s", f, err, out)
			}
		})
	}
}
