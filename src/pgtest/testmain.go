package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// shared is the one cluster of a test binary, started by the first
// NewDatabase or Shared and stopped by Main.
var shared struct {
	mu      sync.Mutex
	main    bool // Main is running
	cluster *Cluster
	err     error // the start error, reported to every later caller
}

// dbCounter keeps database names unique within the test binary.
var dbCounter atomic.Uint64

// Main runs the tests of a package that uses NewDatabase or Shared, and
// stops the shared cluster afterwards, also when the binary is interrupted
// (SIGINT, SIGTERM, SIGHUP). Use it as
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// The cluster is started on first use, so a run that selects no database
// test starts no server. A test that panics, or a -timeout, kills the
// binary without running deferred code; the kernel then stops the server
// (see the package comment) and the next Start removes the directory.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "pgtest: %v: stopping the PostgreSQL server\n", sig)
			stopShared()
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()

	code := m.Run()

	signal.Stop(sigs)
	close(done)
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopShared stops the shared cluster if it was started.
func stopShared() error {
	shared.mu.Lock()
	c := shared.cluster
	shared.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Stop()
}

// Shared returns the test binary's cluster, starting it on first use. It
// fails the test when Main is not in use (nothing would stop the server) or
// the cluster cannot start.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		tb.Fatal("pgtest: call pgtest.Main from TestMain to use the shared cluster")
	}
	if shared.cluster == nil && shared.err == nil {
		// A bit more than Start's own timeout, which applies inside.
		ctx, cancel := context.WithTimeout(context.Background(), 2*defaultStartTimeout)
		shared.cluster, shared.err = Start(ctx, Options{})
		cancel()
	}
	if shared.err != nil {
		tb.Fatalf("pgtest: %v", shared.err)
	}
	return shared.cluster
}

// NewDatabase creates a fresh database on the shared cluster for this test,
// owned by a role that is not superuser, and returns its lib/pq URL. The
// database and role are dropped when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	c := Shared(tb)
	name := databaseName(tb.Name(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := c.CreateDatabase(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			tb.Error(err)
		}
	})
	return dsn
}

// databaseName derives a valid, unique database name from a test name, so
// that a database seen in the server log points to its test.
func databaseName(testName string, n uint64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return fmt.Sprintf("t%d_%s_%s", n, b.String(), randomHex(3))
}
