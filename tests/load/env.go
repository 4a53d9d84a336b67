package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/pgtest"
)

// adminEntitlement makes the benchmark's administrator an admin.
const adminEntitlement = "urn:mace:egi.eu:group:perf:role=admin"

// env is everything the benchmark started; close removes it all.
type env struct {
	tmp     string // our temporary directory (binary, CA file, server log)
	cluster *pgtest.Cluster
	op      *oidctest.Provider
	dsn     string // the application database, as its owner
	server  *serverProc
	addr    string // 127.0.0.1:port of the server
	url     string // http://addr
}

// close stops the server, the provider and the cluster and removes the
// temporary directory, reporting what failed.
func (e *env) close() error {
	var errs []error
	if e.server != nil {
		errs = append(errs, e.server.stop())
	}
	if e.op != nil {
		errs = append(errs, e.op.Close())
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Stop())
	}
	if e.tmp != "" {
		errs = append(errs, os.RemoveAll(e.tmp))
	}
	return errors.Join(errs...)
}

// startEnv starts PostgreSQL, the OpenID provider and the server. On error
// what was started is already stopped.
func startEnv(ctx context.Context, cfg config, root string, log io.Writer) (_ *env, retErr error) {
	e := &env{}
	var err error
	defer func() {
		if retErr != nil {
			if err := e.close(); err != nil {
				retErr = errors.Join(retErr, err)
			}
		}
	}()
	if e.tmp, err = os.MkdirTemp("", "eosc-perf-load-"); err != nil {
		return nil, err
	}
	bin := cfg.Server
	if bin == "" {
		fmt.Fprintln(log, "building the server…")
		bin = filepath.Join(e.tmp, "eosc-perf-api")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./src/cmd/eosc-perf-api")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %w\n%s", err, out)
		}
	}

	fmt.Fprintln(log, "starting PostgreSQL and the OpenID provider…")
	if e.cluster, err = pgtest.Start(ctx, pgtest.Options{}); err != nil {
		return nil, err
	}
	if e.dsn, err = e.cluster.CreateDatabase(ctx, "perf_load"); err != nil {
		return nil, err
	}
	if e.op, err = oidctest.Start(oidctest.Options{Path: "/oidc"}); err != nil {
		return nil, err
	}
	caFile := filepath.Join(e.tmp, "oidc-ca.pem")
	if err := os.WriteFile(caFile, e.op.CertPEM(), 0o600); err != nil {
		return nil, err
	}

	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(e.dsn)
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	environ := []string{
		"FLASK_ENV=production",
		"SECRET_KEY=load-benchmark",
		"DB_USER=" + u.User.Username(),
		"DB_PASSWORD=" + pw,
		"DB_HOST=" + u.Hostname(),
		"DB_PORT=" + u.Port(),
		"DB_NAME=" + strings.TrimPrefix(u.Path, "/"),
		"DB_MAX_OPEN_CONNS=" + strconv.Itoa(cfg.Pool),
		// DB_MAX_IDLE_CONNS left to its default: as many as open.
		"TRUSTED_OP_LIST=" + e.op.Issuer(),
		"ADMIN_ENTITLEMENTS=" + adminEntitlement,
		"OIDC_CA_FILE=" + caFile,
		"LISTEN_ADDR=" + addr,
		"LOG_LEVEL=warn",
		"BENCHMARK_IMAGE_CHECK=off",
		"SHUTDOWN_TIMEOUT=5s",
		// The defaults (8 heavy requests, 1 s queue) shed load with 503s
		// beyond 8 slow requests at once, as a production service should;
		// the benchmark measures throughput, so every client gets a slot.
		"MAX_HEAVY_REQUESTS=" + strconv.Itoa(cfg.Clients),
		"HEAVY_QUEUE_WAIT=60s",
	}
	fmt.Fprintln(log, "starting the server on", addr, "…")
	if e.server, err = startServer(bin, e.tmp, environ); err != nil {
		return nil, err
	}
	e.addr, e.url = addr, "http://"+addr
	if err := e.server.waitReady(ctx, e.url, time.Minute); err != nil {
		return nil, err
	}
	return e, nil
}

// repoRoot is the directory of the go.mod of the working directory.
func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the repository (go run ./tests/load)")
	}
	return filepath.Dir(mod), nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// serverProc is the running server process.
type serverProc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited closes
}

// startServer runs `bin serve` with exactly environ, its output going to
// a log file in dir. The process gets SIGTERM from the kernel if the thread
// that started it dies (the goroutine below keeps that thread for the
// process's lifetime), so it never outlives a killed benchmark.
func startServer(bin, dir string, environ []string) (*serverProc, error) {
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir // no stray .env
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	p := &serverProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	return p, nil
}

// waitReady polls /readyz until it answers 200, the server exits or the
// timeout passes.
func (p *serverProc) waitReady(ctx context.Context, base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(base + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("server exited during start-up (%v):\n%s", p.waitErr, p.logTail(30))
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w\n%s", ctx.Err(), p.logTail(30))
		case <-tick.C:
		}
	}
}

// peakRSS returns the process's VmHWM in bytes.
func (p *serverProc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// stop sends SIGTERM (graceful shutdown) and, if the server has not exited
// after 15 s, SIGKILL.
func (p *serverProc) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return errors.New("server did not stop within 15s after SIGTERM; killed")
}

// logTail returns the last n lines of the server's log.
func (p *serverProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
