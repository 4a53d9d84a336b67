package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ExecScript runs a SQL script (several statements, such as pg_dump's
// --inserts output) on one connection to dsn, as the role of dsn, in one
// simple query: a failure leaves nothing behind. The connection is closed
// afterwards, so the script's session settings (search_path) go with it.
func ExecScript(tb testing.TB, dsn, script string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, script); err != nil {
		tb.Fatalf("pgtest: run script: %v", err)
	}
}

// Client runs one of PostgreSQL's client programs (psql, pg_dump) from the
// installation of the server programs, against dsn, and returns its
// standard output. Extra arguments come before the connection string.
func Client(tb testing.TB, program, dsn string, args ...string) string {
	tb.Helper()
	dir, err := BinDir()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, program), append(args, dsn)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PSQLRC=/dev/null")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("pgtest: %s %s: %v\n%s", program, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Psql feeds script to psql -v ON_ERROR_STOP=1 --single-transaction as
// the role of dsn (the way an operator restores a plain pg_dump). A psql
// older than the August 2025 releases (13.22, 14.19, 15.14, 16.10, 17.6)
// does not know the \restrict lines newer pg_dumps write; for such a psql
// they are left out, as an operator would have to.
func Psql(tb testing.TB, dsn, script string) {
	tb.Helper()
	if !psqlKnowsRestrict(tb) {
		script = stripRestrict(script)
	}
	f, err := os.CreateTemp(tb.TempDir(), "*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.WriteString(script); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	Client(tb, "psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", f.Name())
}

// Dump returns a full plain dump (schema and data, rows as INSERTs in a
// stable order) of the database of dsn, for comparing a database before
// and after something that must not change it.
func Dump(tb testing.TB, dsn string) string {
	tb.Helper()
	return stripRestrict(Client(tb, "pg_dump", dsn, "--no-owner", "--no-privileges", "--inserts", "--rows-per-insert=1"))
}

// restrictLine matches the \restrict and \unrestrict lines that pg_dump
// 15.14 and later write with a random key.
var restrictLine = regexp.MustCompile(`(?m)^\\(un)?restrict .*\n`)

func stripRestrict(dump string) string { return restrictLine.ReplaceAllString(dump, "") }

// psqlKnowsRestrict reports whether the psql of BinDir understands
// \restrict (added in 13.22, 14.19, 15.14, 16.10 and 17.6; 18 has it).
func psqlKnowsRestrict(tb testing.TB) bool {
	tb.Helper()
	out := Client(tb, "psql", "--version")
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	first := map[int]int{13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
	if need, ok := first[major]; ok {
		return minor >= need
	}
	return major >= 18
}
