package store_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/store"
)

// startingServer is a PostgreSQL stand-in on loopback that answers every
// connection like a server still starting up (FATAL 57P03), counting them.
func startingServer(t *testing.T) (dsn string, attempts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	attempts = new(atomic.Int64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				var n int32
				if binary.Read(r, binary.BigEndian, &n) != nil || n < 8 {
					return
				}
				if _, err := io.CopyN(io.Discard, r, int64(n-4)); err != nil { // the startup message
					return
				}
				var body []byte
				for _, f := range []string{"SFATAL", "VFATAL", "C57P03", "Mthe database system is starting up"} {
					body = append(append(body, f...), 0)
				}
				body = append(body, 0)
				msg := append([]byte{'E'}, binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))...)
				conn.Write(append(msg, body...))
			}()
		}
	}()
	return fmt.Sprintf("postgres://u:p@%s/db?sslmode=disable", ln.Addr()), attempts
}

func waitReady(t *testing.T, dsn string, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	st, err := store.Open(dsn, store.PoolOptions{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	err = st.WaitReady(testContext(t), timeout, nil)
	return time.Since(start), err
}

// A server that is starting up is waited for, up to DB_WAIT_TIMEOUT; 0s
// means exactly one attempt.
func TestWaitReadyRetriesStartingServer(t *testing.T) {
	t.Parallel()
	dsn, attempts := startingServer(t)
	_, err := waitReady(t, dsn, 0)
	if err == nil || !strings.Contains(err.Error(), "starting up") || attempts.Load() != 1 {
		t.Errorf("timeout 0s: %v after %d attempts, want the 57P03 error after exactly one", err, attempts.Load())
	}
	dsn, attempts = startingServer(t)
	took, err := waitReady(t, dsn, time.Second)
	if err == nil || !strings.Contains(err.Error(), "not reachable after") || attempts.Load() < 3 || took > 3*time.Second {
		t.Errorf("timeout 1s: %v after %d attempts in %v, want several attempts within about 1s", err, attempts.Load(), took)
	}
}

// Failures that waiting cannot heal stop the wait at once, with the
// server's message; a reachable database is ready in one attempt.
func TestWaitReadyStopsAtOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitReady(t, dsn, 0); err != nil {
		t.Fatalf("reachable database with timeout 0s: %v", err)
	}

	wrongPassword := *u
	wrongPassword.User = url.UserPassword(u.User.Username(), "wrong")
	missingDB := *u
	missingDB.Path = "/no_such_database"
	// A role without CONNECT on the database.
	role := dbRole(t, dsn) + "_nc"
	super := superOn(t, dsn)
	ctx := testContext(t)
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN PASSWORD 'pw'", "REVOKE CONNECT ON DATABASE " + dbRole(t, dsn) + " FROM PUBLIC"} {
		if _, err := super.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = freshPool(t, pgtest.Shared(t).SuperDSN()).Exec("DROP ROLE IF EXISTS " + role)
	})
	noPrivilege := *u
	noPrivilege.User = url.UserPassword(role, "pw")

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	tests := []struct {
		name, dsn, want string
		timeout         time.Duration
	}{
		{"wrong password", wrongPassword.String(), "password authentication failed", 30 * time.Second},
		{"missing database", missingDB.String(), `database "no_such_database" does not exist`, 30 * time.Second},
		{"missing privilege", noPrivilege.String(), "permission denied for database", 30 * time.Second},
		{"connection refused, one attempt", "postgres://u:p@" + refusedAddr + "/db?sslmode=disable", "connection refused", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			took, err := waitReady(t, tt.dsn, tt.timeout)
			if err == nil || !strings.Contains(err.Error(), tt.want) || took > 3*time.Second {
				t.Errorf("WaitReady = %v after %v, want %q at once", err, took, tt.want)
			}
		})
	}
}
