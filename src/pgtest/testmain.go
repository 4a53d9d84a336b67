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
		shared.cluster, shared.err = Start(context.Background(), Options{})
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
	dropAtCleanup(tb, c, name)
	return dsn
}

// dropAtCleanup drops the database name and its role when the test ends.
func dropAtCleanup(tb testing.TB, c *Cluster, name string) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			tb.Error(err)
		}
	})
}

// templates are the template databases of the shared cluster by name, each
// made once per test binary by the first NewDatabaseFrom that names it.
var templates struct {
	mu    sync.Mutex
	byKey map[string]*templateState
}

type templateState struct {
	once sync.Once
	err  error
}

// NewDatabaseFrom is NewDatabase for a database that starts as a copy of
// the template database named template: the first call with that name
// creates the template on the shared cluster and runs prepare on it (the
// migrations, say) — once per test binary, however many tests ask at the
// same time — and every call then copies it (CREATE DATABASE ... TEMPLATE)
// into a database of the test's own, owned by a role of its own that owns
// every object in it. If prepare fails, every call fails with its error.
func NewDatabaseFrom(tb testing.TB, template string, prepare func(ctx context.Context, dsn string) error) string {
	tb.Helper()
	c := Shared(tb)
	templates.mu.Lock()
	if templates.byKey == nil {
		templates.byKey = map[string]*templateState{}
	}
	tp := templates.byKey[template]
	if tp == nil {
		tp = &templateState{}
		templates.byKey[template] = tp
	}
	templates.mu.Unlock()
	tp.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tp.err = c.CreateTemplate(ctx, template, prepare)
	})
	if tp.err != nil {
		tb.Fatal(tp.err)
	}
	name := databaseName(tb.Name(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := c.CreateDatabaseFrom(ctx, name, template)
	if err != nil {
		tb.Fatal(err)
	}
	dropAtCleanup(tb, c, name)
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
