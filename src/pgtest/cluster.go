// Package pgtest runs a throwaway PostgreSQL cluster in a temporary
// directory, for tests and for `eosc-perf-api-dev`.
//
// Start runs initdb and then the postgres server as a child process (not
// through pg_ctl, which would detach it): the server lives in its own process
// group and gets SIGQUIT from the kernel when our process dies for any reason
// (a panic, a test timeout, SIGKILL), so a stray server never outlives us.
// Stop shuts it down and removes the directory. Directories left behind by
// processes that were killed are removed by the next Start.
//
// The server listens on 127.0.0.1 only, on a random free port, and on a Unix
// socket inside the temporary directory. Authentication: trust on the socket
// (reachable only through the private directory) and scram-sha-256 with
// random passwords on TCP, so other local users cannot log in. Durability is
// switched off (fsync, full_page_writes, synchronous_commit): the data is
// thrown away anyway.
//
// PostgreSQL refuses to run as root. When we are root, the programs run as
// the "postgres" account of Debian's packages, or as a system account
// "pgtest" created with useradd, and the temporary directory is given to it.
//
// For tests, call Main from TestMain and NewDatabase in each test; see
// testmain.go. A test that needs a prepared database (migrated, say) calls
// NewDatabaseFrom: the preparation runs once per test binary on a template
// database, and each test gets a copy made with CREATE DATABASE ... TEMPLATE.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the driver for the superuser pool
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb and postgres. Empty: the directory of initdb on
	// PATH, else the highest version in /usr/lib/postgresql/*/bin.
	BinDir string
	// ParentDir is where the temporary directory is created. Empty: the
	// system temporary directory (or /tmp when that is not searchable by the
	// server's account).
	ParentDir string
	// Port is the TCP port on 127.0.0.1. Zero picks a free one.
	Port int
	// StartTimeout bounds initdb plus server start-up. Zero means three
	// minutes: initdb alone takes over half a minute on a loaded machine.
	StartTimeout time.Duration
}

// Superuser is the name of the cluster's superuser role.
const Superuser = "postgres"

const (
	defaultStartTimeout = 3 * time.Minute
	host                = "127.0.0.1"
	portAttempts        = 5 // a picked free port may be taken before postgres binds it
)

// Cluster is a running throwaway PostgreSQL server. Its methods are safe for
// concurrent use.
type Cluster struct {
	bins     binaries
	account  serverAccount
	dir      string // the temporary directory; everything lives below it
	dataDir  string
	sockDir  string
	logPath  string
	port     int
	password string // the superuser's

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the server process has exited
	waitErr error         // the server's exit status, set before exited closes

	super *sql.DB // superuser pool on the "postgres" database

	stopOnce sync.Once
	stopErr  error
}

// Start creates a cluster in a new temporary directory and starts its
// server. On error nothing is left behind.
func Start(ctx context.Context, opt Options) (_ *Cluster, retErr error) {
	timeout := opt.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	bins, err := findBinaries(opt.BinDir)
	if err != nil {
		return nil, err
	}
	account, err := chooseAccount(ctx)
	if err != nil {
		return nil, err
	}
	parent, err := parentDir(opt.ParentDir, account)
	if err != nil {
		return nil, err
	}
	sweepStale(parent)
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{
		bins:     bins,
		account:  account,
		dir:      dir,
		dataDir:  filepath.Join(dir, "data"),
		sockDir:  filepath.Join(dir, "socket"),
		logPath:  filepath.Join(dir, "postgres.log"),
		password: randomHex(16),
	}
	defer func() {
		if retErr != nil {
			if err := c.Stop(); err != nil {
				retErr = errors.Join(retErr, err)
			}
		}
	}()
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	port := opt.Port
	for attempt := 1; ; attempt++ {
		if opt.Port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.startServer(ctx, port)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortInUse) || opt.Port != 0 || attempt == portAttempts {
			return nil, err
		}
	}
}

// prepareDir writes the owner marker and hands the directory to the
// server's account.
func (c *Cluster) prepareDir() error {
	if err := writeOwner(c.dir); err != nil {
		return err
	}
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	for _, p := range []string{c.dir, c.sockDir} {
		if err := c.account.chown(p); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

// initdb creates the data directory with the superuser's password.
func (c *Cluster) initdb(ctx context.Context) error {
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer os.Remove(pwfile)
	if err := c.account.chown(pwfile); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	cmd := exec.CommandContext(ctx, c.bins.initdb,
		"--pgdata", c.dataDir, "--username", Superuser, "--pwfile", pwfile,
		"--auth-local", "trust", "--auth-host", "scram-sha-256",
		"--encoding", "UTF8", "--locale", "C", "--no-sync")
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = c.account.sysProcAttr()
	// initdb runs postgres in bootstrap mode as its child: on timeout kill
	// the whole process group, not only initdb.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, tail(out, 20))
	}
	return nil
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("pgtest: port in use")

// startServer runs postgres on port and waits until it accepts the
// superuser's connections.
func (c *Cluster) startServer(ctx context.Context, port int) error {
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// The child inherits its own descriptor; ours is not needed after Start.
	defer logFile.Close()

	cmd := exec.Command(c.bins.postgres,
		"-D", c.dataDir, "-p", strconv.Itoa(port), "-k", c.sockDir,
		"-c", "listen_addresses="+host,
		"-c", "unix_socket_permissions=0700",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "password_encryption=scram-sha-256",
		"-c", "max_connections=300",
		"-c", "jit=off", // compiling plans costs more than it saves on test data
		"-c", "timezone=UTC", "-c", "log_timezone=UTC",
		"-c", "logging_collector=off")
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = c.account.sysProcAttr()
	// The kernel stops the server when the thread that started it dies; the
	// goroutine below keeps that thread alive for the server's lifetime, so
	// in practice that is when our whole process dies. SIGQUIT is
	// PostgreSQL's immediate shutdown.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT

	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.cmd, c.exited, c.port = cmd, exited, port
	if c.super != nil {
		c.super.Close()
	}
	c.super, err = sql.Open("postgres", c.SuperDSN())
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return c.waitReady(ctx)
}

// waitReady polls until the server answers, exits or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.super.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			logTail := c.LogTail(20)
			c.cmd = nil // nothing left to stop
			if containsAny(logTail, "could not create any TCP/IP sockets", "Address already in use") {
				return fmt.Errorf("%w: %d\n%s", errPortInUse, c.port, logTail)
			}
			return fmt.Errorf("pgtest: postgres exited during start-up (%v); log %s:\n%s", c.waitErr, c.logPath, logTail)
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready: %w (last error: %v); log %s:\n%s",
				ctx.Err(), err, c.logPath, c.LogTail(20))
		case <-tick.C:
		}
	}
}

// Host is the address the server listens on: 127.0.0.1.
func (c *Cluster) Host() string { return host }

// Port is the server's TCP port.
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster's temporary directory (removed by Stop).
func (c *Cluster) Dir() string { return c.dir }

// PID is the process id of the postmaster.
func (c *Cluster) PID() int { return c.cmd.Process.Pid }

// Done is closed when the server process exits, whether through Stop or
// not; a long-running caller (dev) watches it to notice a crashed server.
func (c *Cluster) Done() <-chan struct{} { return c.exited }

// SuperDSN is a lib/pq URL for the superuser on the "postgres" database.
func (c *Cluster) SuperDSN() string { return c.dsn(Superuser, c.password, "postgres") }

// dsn builds a lib/pq URL for a TCP connection to the cluster.
func (c *Cluster) dsn(user, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(host, strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	return u.String()
}

// childEnv is the whole environment of the server programs: nothing of ours
// (PG* variables, locale) may change how the cluster is made.
func childEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "LANG=C", "TZ=UTC"}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
