package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbidden are packages the service binary must not link: the testing
// package, and the development tooling — a throwaway PostgreSQL and an
// OpenID provider that mints tokens — which lives in eosc-perf-api-dev.
var forbidden = []string{
	"testing",
	"github.com/eosc-perf/api/src/pgtest",
	"github.com/eosc-perf/api/src/oidctest",
	"github.com/eosc-perf/api/src/dev",
	"github.com/eosc-perf/api/src/samples",
}

// deps lists the packages a command links, as `go list -deps` does.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the dependencies: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", pkg)
	cmd.Dir = "../../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

func TestServiceBinaryLinksNoTestOrDevelopmentCode(t *testing.T) {
	t.Parallel()
	got := deps(t, "./src/cmd/eosc-perf-api")
	if !slices.Contains(got, "github.com/eosc-perf/api/src/app") {
		t.Fatalf("go list -deps lists %d packages without src/app: %q", len(got), got)
	}
	for _, p := range forbidden {
		if slices.Contains(got, p) {
			t.Errorf("the service binary links %s", p)
		}
	}
	// The check itself: the development command does link them.
	dev := deps(t, "./src/cmd/eosc-perf-api-dev")
	for _, p := range []string{"testing", "github.com/eosc-perf/api/src/oidctest"} {
		if !slices.Contains(dev, p) {
			t.Errorf("eosc-perf-api-dev does not link %s: the check above proves nothing", p)
		}
	}
}
