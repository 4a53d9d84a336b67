package nixeval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goVersion reads the initial value of app.Version from src/app/version.go
// without compiling the program (which these tests do not depend on).
func goVersion(t *testing.T) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "src", "app", "version.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name != "Version" || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: Version must be a string literal (nix/version.nix reads it)", path)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
	}
	t.Fatalf("%s declares no var Version", path)
	return ""
}

// The Nix package's version is the program's: nix/version.nix reads it from
// src/app/version.go, and -ldflags -X sets the same string.
func TestNixVersionIsTheProgramVersion(t *testing.T) {
	bin := nixTool(t, "nix-instantiate", "the version check of nix/version.nix")
	want := goVersion(t)
	root := repoRoot(t)
	readInputs(t)
	// Only stdout is the value: Nix writes warnings (a missing nixbld group,
	// say) to stderr.
	out, stderr, err := evalFile(t, bin, filepath.Join(root, "nix", "version.nix"))
	if err != nil {
		t.Fatalf("nix/version.nix: %v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Quote(want) {
		t.Errorf("nix/version.nix = %s, src/app/version.go says %q", got, want)
	}
}
