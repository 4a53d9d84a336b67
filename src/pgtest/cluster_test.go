package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// connect opens a pool for dsn and checks that it answers.
func connect(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	return db
}

func TestStartCreateDatabasesStopLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*defaultStartTimeout)
	defer cancel()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	pid, dir := c.PID(), c.Dir()
	if c.Host() != "127.0.0.1" || c.Port() <= 0 {
		t.Errorf("address %s:%d, want 127.0.0.1 and a port", c.Host(), c.Port())
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("temporary directory %s: %v, %v; want mode 0700", dir, fi, err)
	}

	super := connect(t, c.SuperDSN())
	var isSuper bool
	if err := super.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&isSuper); err != nil || !isSuper {
		t.Errorf("SuperDSN role is superuser = %v (%v), want true", isSuper, err)
	}
	for setting, want := range map[string]string{"fsync": "off", "full_page_writes": "off", "listen_addresses": "127.0.0.1", "TimeZone": "UTC"} {
		var got string
		if err := super.QueryRowContext(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil || got != want {
			t.Errorf("setting %s = %q (%v), want %q", setting, got, err, want)
		}
	}

	dsnA, err := c.CreateDatabase(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	dsnB, err := c.CreateDatabase(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	a, b := connect(t, dsnA), connect(t, dsnB)
	for name, db := range map[string]*sql.DB{"alpha": a, "beta": b} {
		var user, database, owner string
		var super, createdb bool
		err := db.QueryRowContext(ctx, `
			SELECT current_user, current_database(), pg_get_userbyid(d.datdba), r.rolsuper, r.rolcreatedb
			FROM pg_database d, pg_roles r
			WHERE d.datname = current_database() AND r.rolname = current_user`).Scan(&user, &database, &owner, &super, &createdb)
		if err != nil {
			t.Fatal(err)
		}
		if user != name || database != name || owner != name || super || createdb {
			t.Errorf("%s: user %s, database %s, owner %s, superuser %v, createdb %v; want a plain owner role of the same name",
				name, user, database, owner, super, createdb)
		}
	}
	if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_alpha (x int)"); err != nil {
		t.Fatalf("owner cannot create a table: %v", err)
	}
	var found bool
	if err := b.QueryRowContext(ctx, "SELECT to_regclass('only_in_alpha') IS NOT NULL").Scan(&found); err != nil || found {
		t.Errorf("table of alpha visible in beta: %v (%v)", found, err)
	}
	a.Close()
	b.Close()
	super.Close()

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	if processExists(pid) || groupAlive(pid) {
		t.Errorf("postgres (pid %d) or one of its processes still runs after Stop", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s still there after Stop: %v", dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

func TestCreateDatabaseRejectsBadNames(t *testing.T) {
	t.Parallel()
	c := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name, db string
	}{
		{"empty name is rejected", ""},
		{"upper case is rejected", "Alpha"},
		{"leading digit is rejected", "1abc"},
		{"dash is rejected", "a-b"},
		{"quote is rejected", `x"; DROP ROLE postgres; --`},
		{"64 characters are rejected", strings.Repeat("a", 64)},
		{"existing role name is rejected", "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if dsn, err := c.CreateDatabase(ctx, tt.db); err == nil {
				t.Errorf("CreateDatabase(%q) = %q, want an error", tt.db, dsn)
			}
		})
	}
}

func TestNewDatabaseIsFreshAndDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	c := Shared(t)
	var names []string
	for _, sub := range []string{"first", "second"} {
		t.Run(sub, func(t *testing.T) {
			db := connect(t, NewDatabase(t))
			var name string
			var tables int
			err := db.QueryRow(`SELECT current_database(),
				(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables)
			if err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("new database has %d tables, want 0", tables)
			}
			if _, err := db.Exec("CREATE TABLE t (x int)"); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v, want two distinct", names)
	}
	for _, name := range names {
		var n int
		if err := c.super.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
			t.Errorf("database %s: %d left (%v), want dropped", name, n, err)
		}
		if err := c.super.QueryRow("SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n); err != nil || n != 0 {
			t.Errorf("role %s: %d left (%v), want dropped", name, n, err)
		}
	}
}

func TestDatabaseNameIsValidForAnyTestName(t *testing.T) {
	t.Parallel()
	tests := []string{
		"TestX",
		"TestX/sub_test_with_spaces_and_UPPER",
		"Test/ünïcödé/名前",
		strings.Repeat("TestVeryLong", 20),
	}
	seen := map[string]bool{}
	for i, name := range tests {
		got := databaseName(name, uint64(i+1))
		if !validName.MatchString(got) {
			t.Errorf("databaseName(%q) = %q, not a valid name", name, got)
		}
		if seen[got] {
			t.Errorf("databaseName(%q) = %q, a duplicate", name, got)
		}
		seen[got] = true
	}
}

func TestFindBinaries(t *testing.T) {
	t.Parallel()
	if _, err := findBinaries(""); err != nil {
		t.Errorf("default search: %v, want the installed PostgreSQL", err)
	}
	if _, err := findBinaries(t.TempDir()); err == nil {
		t.Error("directory without programs accepted, want an error")
	}
	if got := debianVersion("/usr/lib/postgresql/17/bin") > debianVersion("/usr/lib/postgresql/9.6/bin"); !got {
		t.Error("version 17 does not sort above 9.6")
	}
}

// searchableTempDir makes a directory the server's account can reach
// (t.TempDir is private to us, and as root the programs run as another user).
func searchableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtest-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStartFailureReportsTheCauseAndLeavesNothing(t *testing.T) {
	t.Parallel()
	failing := "#!/bin/sh\necho boom-from-$0 >&2\nexit 1\n"
	initdb, err := findBinaries("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		initdb   string // a script, or "" for a link to the real one
		postgres string
		wantErr  []string
	}{
		{"failing initdb is reported with its output", failing, failing, []string{"initdb", "boom-from-"}},
		{"failing server is reported with its log", "", failing, []string{"postgres", "boom-from-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, parent := searchableTempDir(t), searchableTempDir(t)
			if tt.initdb == "" {
				if err := os.Symlink(initdb.initdb, bin+"/initdb"); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(bin+"/initdb", []byte(tt.initdb), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin+"/postgres", []byte(tt.postgres), 0o755); err != nil {
				t.Fatal(err)
			}
			c, err := Start(context.Background(), Options{BinDir: bin, ParentDir: parent, StartTimeout: 20 * time.Second})
			if err == nil {
				c.Stop()
				t.Fatal("Start succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("Start left %d entries in %s", len(entries), parent)
			}
		})
	}
}

// The owner check must never remove the directory of a live cluster.
func TestSweepKeepsLiveAndUnmarkedDirectories(t *testing.T) {
	t.Parallel()
	c := Shared(t)
	if stale(c.Dir()) {
		t.Error("the running shared cluster's directory is considered stale")
	}
	unmarked := t.TempDir()
	if stale(unmarked) {
		t.Error("a directory without owner file is considered stale")
	}
	dead := t.TempDir()
	// pid 0x3fffff exceeds the default pid_max, so it belongs to nobody.
	if err := os.WriteFile(dead+"/"+ownerFile, []byte("4194303 12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !stale(dead) {
		t.Error("a directory whose owner is gone is not considered stale")
	}
}

func TestNewDatabaseFromCopiesThePreparedTemplateOnce(t *testing.T) {
	t.Parallel()
	c := Shared(t)
	var prepared atomic.Int32
	prepare := func(ctx context.Context, dsn string) error {
		prepared.Add(1)
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (42)`)
		return err
	}
	type copyOf struct{ name, tableOwner, dbOwner string }
	copies := make([]copyOf, 4)
	t.Run("copies", func(t *testing.T) {
		for i := range copies {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				db := connect(t, NewDatabaseFrom(t, "pgtest_tmpl_test", prepare))
				var x int
				cp := &copies[i]
				err := db.QueryRow(`SELECT x, current_database(), tableowner, pg_get_userbyid(d.datdba)
					FROM t, pg_tables, pg_database d
					WHERE tablename = 't' AND d.datname = current_database()`).Scan(&x, &cp.name, &cp.tableOwner, &cp.dbOwner)
				if err != nil || x != 42 {
					t.Fatalf("copy holds %d (%v), want the template's row 42", x, err)
				}
				if cp.tableOwner != cp.name || cp.dbOwner != cp.name {
					t.Errorf("table owned by %s, database by %s, want the copy's own role %s", cp.tableOwner, cp.dbOwner, cp.name)
				}
				// The owner may change what it owns, in its copy only.
				if _, err := db.Exec(`DROP TABLE t`); err != nil {
					t.Errorf("the copy's owner cannot drop the copied table: %v", err)
				}
			})
		}
	})
	if n := prepared.Load(); n != 1 {
		t.Errorf("prepare ran %d times, want once", n)
	}
	names := map[string]bool{}
	for _, cp := range copies {
		names[cp.name] = true
	}
	if len(names) != len(copies) {
		t.Errorf("copies %v, want %d distinct databases", copies, len(copies))
	}
	// The template is intact (the copies dropped their table) and closed.
	var isTemplate, allowConn bool
	var owner string
	err := c.super.QueryRow(`SELECT datistemplate, datallowconn, pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'pgtest_tmpl_test'`).Scan(&isTemplate, &allowConn, &owner)
	if err != nil || !isTemplate || allowConn || owner != Superuser {
		t.Errorf("template: is_template %v, allow_connections %v, owner %s (%v); want a closed template of %s", isTemplate, allowConn, owner, err, Superuser)
	}
	dsn, err := c.CreateDatabaseFrom(context.Background(), "pgtest_tmpl_check", "pgtest_tmpl_test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.DropDatabase(context.Background(), "pgtest_tmpl_check")
	var x int
	if err := connect(t, dsn).QueryRow(`SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
		t.Errorf("a later copy holds %d (%v), want the template unchanged", x, err)
	}
}

func TestCreateTemplateFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	c := Shared(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := c.CreateTemplate(ctx, "pgtest_tmpl_fail", func(context.Context, string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("CreateTemplate = %v, want the error of prepare", err)
	}
	var n int
	if err := c.super.QueryRow(`SELECT (SELECT count(*) FROM pg_database WHERE datname = 'pgtest_tmpl_fail')
		+ (SELECT count(*) FROM pg_roles WHERE rolname = 'pgtest_tmpl_fail')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d databases or roles left (%v), want none", n, err)
	}
}
