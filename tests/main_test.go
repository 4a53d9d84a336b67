// Package tests holds the black-box tests of eosc-perf-api: the whole
// program started in-process by app.Run against a real PostgreSQL (pgtest)
// and real tokens from an in-process OpenID provider over TLS (oidctest),
// driven over HTTP, every response checked against the OpenAPI document.
package tests

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/eosc-perf/api/src/pgtest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	raiseParallelism()
	code := pgtest.Main(m)
	if code == 0 {
		if err := checkAllServedSeen(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// raiseParallelism lets twice as many tests run at once as go test would
// (GOMAXPROCS, at least 4), unless -parallel was given: the tests here
// mostly wait — for PostgreSQL, the providers, the program's answers — so
// that more of them in parallel finish sooner (on two cores, 21 s instead
// of 31 s).
func raiseParallelism() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(max(4, 2*runtime.GOMAXPROCS(0))))
	}
}
