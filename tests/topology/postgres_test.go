package topology

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/pgtest"
	_ "github.com/lib/pq" // the superuser connection over the Unix socket
)

// The database and role of the deployment (the module's defaults), on a
// port other than 5432, as the production example (database.port = 5433).
const (
	dbName = "eosc_perf"
	dbUser = "eosc_perf"
	dbPort = "5433"
)

// database is PostgreSQL serving backend-net from the db namespace. It is
// started directly rather than through src/pgtest, whose cluster listens on
// 127.0.0.1 of the calling namespace and cannot be moved into another one.
type database struct {
	t        *testing.T
	ns       string
	bin      string // directory of initdb and postgres
	uid, gid uint32 // PostgreSQL refuses to run as root
	dir      string // data/, socket/, postgres.log
	verifier string // the SCRAM-SHA-256 verifier of the role's password
	done     <-chan error
	cmd      *exec.Cmd
}

// startDatabase creates a cluster that lets the API hosts in with a password
// and nobody else over TCP, listening on the backend-net address only, and
// creates the role and its database. The role's password is set from its
// SCRAM-SHA-256 verifier (what `eosc-perf-api scram-verifier` prints, as the
// NixOS module's postgresql-setup does): PostgreSQL never sees the password.
func startDatabase(t *testing.T, ns, dir, verifier string) *database {
	t.Helper()
	db := &database{t: t, ns: ns, bin: postgresBinaries(t), dir: dir, verifier: verifier}
	db.uid, db.gid = serverAccount(t)
	for _, sub := range []string{"data", "socket", "backup"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, int(db.uid), int(db.gid)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(db.bin, "initdb"), "-D", db.path("data"), "-U", "postgres",
		"--auth-local=trust", "--auth-host=reject", "--no-sync", "--encoding=UTF8", "--locale=C")
	initdb.SysProcAttr = db.credentials()
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// Ours replaces initdb's: the superuser on the private socket (this
	// test), and the role from the API host's backend address. Anything else
	// is rejected, as with the module's pg_hba lines.
	hba := "local all postgres trust\n" +
		"host " + dbName + " " + dbUser + " " + api1Addr + "/32 scram-sha-256\n" +
		"host " + dbName + " " + dbUser + " " + api2Addr + "/32 scram-sha-256\n"
	if err := os.WriteFile(db.path("data", "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(db.path("data", "pg_hba.conf"), int(db.uid), int(db.gid)); err != nil {
		t.Fatal(err)
	}
	db.start()
	t.Cleanup(db.stop)

	super := db.superuser()
	defer super.Close()
	// Identifiers are constants and a verifier holds no quote (base64, '$', ':').
	if strings.ContainsAny(verifier, "'\\") || !strings.HasPrefix(verifier, "SCRAM-SHA-256$") {
		t.Fatalf("not a verifier: %q", verifier)
	}
	for _, stmt := range []string{
		"CREATE ROLE " + dbUser + " LOGIN PASSWORD '" + verifier + "'",
		"CREATE DATABASE " + dbName + " OWNER " + dbUser,
	} {
		if _, err := super.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return db
}

func (db *database) path(elem ...string) string {
	return filepath.Join(append([]string{db.dir}, elem...)...)
}

func (db *database) credentials() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: db.uid, Gid: db.gid, Groups: []uint32{}}}
}

// start runs the server in the db namespace and waits until it answers.
func (db *database) start() {
	t := db.t
	t.Helper()
	logFile, err := os.OpenFile(db.path("postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(db.bin, "postgres"), "-D", db.path("data"), "-p", dbPort,
		"-k", db.path("socket"),
		"-c", "listen_addresses="+dbAddr, // backend-net only: not even its loopback
		"-c", "unix_socket_permissions=0700",
		"-c", "password_encryption=scram-sha-256",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "logging_collector=off")
	cmd.Dir = db.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = db.credentials()
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // PostgreSQL's immediate shutdown
	done, err := startInNamespace(db.ns, cmd)
	if err != nil {
		t.Fatal(err)
	}
	db.cmd, db.done = cmd, done

	super := db.superuser()
	defer super.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := super.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case werr := <-done:
			db.cmd = nil
			t.Fatalf("postgres exited during start-up (%v):\n%s", werr, logTail(db.path("postgres.log")))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres not ready after 30 s (%v):\n%s", err, logTail(db.path("postgres.log")))
		}
	}
}

// stop shuts the server down: fast shutdown, then immediate, then SIGKILL.
func (db *database) stop() {
	if db.cmd == nil {
		return
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		_ = db.cmd.Process.Signal(sig)
		select {
		case <-db.done:
			db.cmd = nil
			return
		case <-time.After(10 * time.Second):
		}
	}
	db.t.Errorf("postgres (pid %d) did not stop", db.cmd.Process.Pid)
}

// tool runs a PostgreSQL client program (pg_dump, pg_restore, createdb,
// dropdb) as the server's account against the Unix socket, as the NixOS
// module's backup and the README's restore do as postgres.
func (db *database) tool(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(db.bin, name),
		append([]string{"--host=" + db.path("socket"), "--port=" + dbPort, "--username=postgres"}, args...)...)
	cmd.SysProcAttr = db.credentials()
	cmd.Dir = db.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// superuser connects as postgres over the Unix socket, which is a file and
// so reachable from this process whatever its network namespace.
func (db *database) superuser() *sql.DB { return db.superuserOn("postgres") }

// superuserOn connects as postgres to database name over the Unix socket.
func (db *database) superuserOn(name string) *sql.DB {
	dsn := fmt.Sprintf("host=%s port=%s user=postgres dbname=%s sslmode=disable connect_timeout=2",
		db.path("socket"), dbPort, name)
	c, err := sql.Open("postgres", dsn)
	if err != nil {
		db.t.Fatal(err)
	}
	return c
}

// postgresBinaries finds the directory holding initdb and postgres, as
// src/pgtest does.
func postgresBinaries(t *testing.T) string {
	t.Helper()
	dir, err := pgtest.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// serverAccount is the unprivileged account PostgreSQL runs as, chosen (or
// created) as src/pgtest does.
func serverAccount(t *testing.T) (uid, gid uint32) {
	t.Helper()
	cred, err := pgtest.ServerCredential(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cred == nil {
		t.Fatal("the topology test runs as root, so PostgreSQL needs an unprivileged account")
	}
	return cred.Uid, cred.Gid
}
