package nixeval

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, found from this file's location so that
// the tests do not depend on the working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// inCI reports whether the suite runs in CI, where a missing Nix is an error
// rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// nixTool returns the path of a Nix program. Without it the test skips with
// a message saying what did not run, except in CI, where it fails.
func nixTool(t testing.TB, name, what string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if inCI() {
		t.Fatalf("%s not found in CI: %s cannot run (.ci/run must install Debian's nix-bin)", name, what)
	}
	t.Skipf("%s not found: %s did NOT run (apt-get install nix-bin to run it)", name, what)
	return ""
}

// nixpkgsLib returns the directory of nixpkgs' lib (the one holding
// default.nix) from NIXPKGS_LIB, which may also name the root of a
// nixpkgs.lib or nixpkgs checkout. Unset, the test skips, saying that it did
// not run, in CI as well: CI cannot fetch nixpkgs.
func nixpkgsLib(t testing.TB, what string) string {
	t.Helper()
	dir := os.Getenv("NIXPKGS_LIB")
	if dir == "" {
		t.Skipf("NIXPKGS_LIB is not set: %s did NOT run. Set it to a checkout of "+
			"github.com/nix-community/nixpkgs.lib (or its lib/ directory) to run it.", what)
	}
	// lib/ holds default.nix and modules.nix; the root of a nixpkgs
	// checkout has a default.nix of its own, so look for both.
	for _, d := range []string{dir, filepath.Join(dir, "lib")} {
		if fileExists(filepath.Join(d, "default.nix")) && fileExists(filepath.Join(d, "modules.nix")) {
			return d
		}
	}
	t.Fatalf("NIXPKGS_LIB=%s is neither nixpkgs' lib directory nor a checkout holding one in lib/", dir)
	return ""
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// nixString quotes s as a Nix string literal.
func nixString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// evalJSON evaluates expr (with `lib` bound to nixpkgs' lib and `repo` to
// the repository) strictly and decodes the JSON result into out. The
// evaluation must not write to the store (--readonly-mode).
func evalJSON(t testing.TB, libDir, expr string, out any) {
	t.Helper()
	stdout, stderr, err := evalRaw(t, libDir, expr)
	if err != nil {
		t.Fatalf("nix-instantiate --eval failed: %v\n%s", err, stderr)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("decoding the evaluation result: %v\n%s", err, stdout)
	}
}

// readInputs reads the files the Nix programs run by a test read, so that
// `go test` (which only sees files its own process opens) re-runs the test
// when one of them changes instead of reporting a cached result.
func readInputs(t testing.TB) {
	t.Helper()
	root := repoRoot(t)
	paths := []string{"flake.nix", "flake.lock", "go.mod", "go.sum", "src/app/version.go"}
	err := filepath.WalkDir(filepath.Join(root, "nix"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, err := os.ReadFile(filepath.Join(root, p)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// evalRaw runs the evaluation and returns its output and error output.
func evalRaw(t testing.TB, libDir, expr string) (stdout, stderr []byte, err error) {
	t.Helper()
	bin := nixTool(t, "nix-instantiate", "the Nix evaluation")
	readInputs(t)
	full := "let lib = import " + nixString(libDir) + "; repo = " +
		nixString(repoRoot(t)) + "; in " + expr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--readonly-mode", "--eval", "--strict", "--json", "--expr", full)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// runCommand runs a program with a time limit and returns its standard
// output, or on failure its standard output and error output together.
// Warnings on the error output do not count: Debian's nix-bin without the
// nixbld group (nix-setup-systemd) warns about build-users-group on every
// call.
func runCommand(t testing.TB, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

// evalFile evaluates a .nix file strictly with nix-instantiate and returns
// its standard output and error output apart.
func evalFile(t testing.TB, bin, file string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--readonly-mode", "--eval", "--strict", file)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}
