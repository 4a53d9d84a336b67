package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

func TestMapErrorClassifies(t *testing.T) {
	pqErr := func(code string) error { return &pq.Error{Code: pqerror.Code(code), Message: "m"} }
	cases := []struct {
		name string
		err  error
		want perf.Kind
	}{
		{"admin shutdown 57P01", pqErr("57P01"), perf.Unavailable},
		{"crash shutdown 57P02", pqErr("57P02"), perf.Unavailable},
		{"cannot connect now 57P03", pqErr("57P03"), perf.Unavailable},
		{"connection failure 08006", pqErr("08006"), perf.Unavailable},
		{"too many connections 53300", pqErr("53300"), perf.Unavailable},
		{"query canceled 57014", pqErr("57014"), perf.Unavailable},
		{"deadlock left over 40P01", pqErr("40P01"), perf.Unavailable},
		{"invalid text representation 22P02", pqErr("22P02"), perf.Invalid},
		{"string too long 22001", pqErr("22001"), perf.Invalid},
		{"NUL 22P05", pqErr("22P05"), perf.Invalid},
		{"unique violation 23505", pqErr("23505"), perf.Conflict},
		{"not null violation 23502", pqErr("23502"), perf.Conflict},
		{"too many columns 54011", pqErr("54011"), perf.Invalid},
		{"undefined table 42P01", pqErr("42P01"), perf.Internal},
		{"syntax error 42601", pqErr("42601"), perf.Internal},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, perf.Unavailable},
		{"EOF on a dead connection", io.EOF, perf.Unavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, perf.Unavailable},
		{"bad connection", driver.ErrBadConn, perf.Unavailable},
		{"closed pool", errors.New("sql: database is closed"), perf.Unavailable},
		{"client went away", context.Canceled, perf.Unavailable},
		{"scan error", fmt.Errorf(`sql: Scan error on column index 0, name "n": converting driver.Value type string ("x") to a int: invalid syntax`), perf.Internal},
		{"no rows", sql.ErrNoRows, perf.Internal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError(fmt.Errorf("wrapped: %w", tc.err), "op")
			if got := perf.KindOf(err); got != tc.want {
				t.Fatalf("kind %v, want %v (%v)", got, tc.want, err)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("the cause is lost: %v", err)
			}
		})
	}
	given := perf.Errorf(perf.NotFound, "x")
	if mapError(given, "op") != given {
		t.Fatal("a perf error does not pass through")
	}
}

// TestMapErrorOnRealErrors: the errors PostgreSQL and database/sql really
// return for bad data and for programming errors.
func TestMapErrorOnRealErrors(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT 'x'`).Scan(&n)
	if got := perf.KindOf(mapError(err, "scan")); got != perf.Internal {
		t.Errorf("scan error %v: kind %v, want internal", err, got)
	}
	var s string
	err = db.QueryRow(`SELECT $1::jsonb::text`, `{"x":"\ud800"}`).Scan(&s)
	if got := perf.KindOf(mapError(err, "insert")); got != perf.Invalid {
		t.Errorf("lone surrogate %v: kind %v, want invalid", err, got)
	}
	err = db.QueryRow(`SELECT nothing FROM nowhere`).Scan(&s)
	if got := perf.KindOf(mapError(err, "select")); got != perf.Internal {
		t.Errorf("undefined table %v: kind %v, want internal", err, got)
	}
	db.Close()
	err = db.QueryRow(`SELECT 1`).Scan(&n)
	if got := perf.KindOf(mapError(err, "closed")); got != perf.Unavailable {
		t.Errorf("closed pool %v: kind %v, want unavailable", err, got)
	}
}
