// Package tests holds the black-box tests of eosc-perf-api: the whole
// program started in-process by app.Run against a real PostgreSQL (pgtest)
// and real tokens from an in-process OpenID provider over TLS (oidctest),
// driven over HTTP, every response checked against the OpenAPI document.
package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/eosc-perf/api/src/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if code == 0 {
		if err := checkAllServedSeen(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	os.Exit(code)
}
