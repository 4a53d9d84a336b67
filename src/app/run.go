package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: eosc-perf-api [command]

commands:
  serve                     serve the API (default)
  migrate up|down|status    apply, roll back one, or list the database migrations
  config [--markdown|--json]
                            the effective settings (secrets redacted), or the
                            settings reference
  healthcheck               exit 0 when the local service answers /healthz
  scram-verifier [--password-file FILE]
                            print the SCRAM-SHA-256 verifier of a password (from
                            FILE or stdin) for PostgreSQL's ALTER ROLE … PASSWORD
  version                   print the version

For local development run eosc-perf-api-dev (go run ./src/cmd/eosc-perf-api-dev).
`

// errUsage marks a command line that was not understood.
var errUsage = errors.New("usage")

// Run runs the command line args (args[0] is the program name) and returns
// the process exit code. It reads the environment only through lookup and
// writes only to stdout and stderr, so tests can run it in-process.
func Run(ctx context.Context, args []string, lookup LookupEnv, stdout, stderr io.Writer) int {
	cmd, rest := "serve", []string(nil)
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	dir, _ := os.Getwd()
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, lookup, dir, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, rest, lookup, dir, stdout, stderr)
	case "dev":
		// Development tooling (a throwaway PostgreSQL, a provider that
		// mints tokens) is kept out of the service binary.
		err = fmt.Errorf("%w: dev is a program of its own: go run ./src/cmd/eosc-perf-api-dev (or nix run)", errUsage)
	case "config":
		err = runConfig(rest, lookup, dir, stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(ctx, lookup, dir)
	case "scram-verifier":
		err = runScramVerifier(rest, os.Stdin, stdout, stderr)
	case "version":
		_, err = fmt.Fprintln(stdout, Version)
	case "help", "-h", "--help":
		_, err = fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "eosc-perf-api: %v\n\n%s", err, usage)
		return 2
	}
	fmt.Fprintf(stderr, "eosc-perf-api %s: %s\n", cmd, indentLines(err.Error()))
	return 1
}

// indentLines puts every line after the first of a multi-line error (one
// problem per line) on its own indented line.
func indentLines(s string) string {
	return strings.ReplaceAll(s, "\n", "\n  ")
}
