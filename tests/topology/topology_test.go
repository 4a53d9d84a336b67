package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The port policy of nix/module.nix, as nftables rulesets: on the API host
// the API port is open on frontend-net (eth1) only; on the database host
// 5432 is open to the API host's backend-net address only, with the rule
// nix/module-postgresql.nix writes for the nftables firewall.
const (
	apiRuleset = `table inet eosc_perf_topology {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname "eth1" tcp dport 5000 accept
	}
}
`
	dbRuleset = `table inet eosc_perf_topology {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname { "eth1" } ip saddr { ` + apiBackAddr + `/32 } tcp dport ` + dbPort + ` accept
	}
}
`
)

const apiURL = "http://" + apiFrontAddr + ":5000"

func TestReachabilityMatchesTheVMTest(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the topology test needs root (network namespaces): it did NOT run")
	}
	needTool(t, "ip", "iproute2")
	needTool(t, "nft", "nftables")
	dir := runDir(t)
	bin := apiBinary(t, dir)
	n := newNetwork(t)
	firewall(t, n.api, apiRuleset)
	firewall(t, n.db, dbRuleset)

	secretKey, dbPassword := randomHex(t), randomHex(t)
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"secret-key": secretKey, "db-password": dbPassword} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"FLASK_ENV=production",
		"LISTEN_ADDR=" + apiFrontAddr + ":5000",
		"DB_HOST=" + dbAddr, "DB_PORT=" + dbPort, "DB_NAME=" + dbName, "DB_USER=" + dbUser,
		"DB_PASSWORD_FILE=" + filepath.Join(secrets, "db-password"),
		"ADMIN_ENTITLEMENTS=urn:example:eosc-perf:admin",
		"BENCHMARK_IMAGE_CHECK=off", // no registry can be reached from the namespaces
		"DB_WAIT_TIMEOUT=30s",
		"SHUTDOWN_TIMEOUT=5s",
	}

	t.Run("a production API without its secret key refuses to start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("serve without SECRET_KEY: err %v (timeout: %v), want a prompt failure\n%s", err, ctx.Err(), out)
		}
		if !strings.Contains(string(out), "SECRET_KEY") {
			t.Errorf("the refusal does not name SECRET_KEY:\n%s", out)
		}
	})

	db := startDatabase(t, n.db, mkdir(t, dir, "db"), dbPassword)
	api := startAPI(t, n.api, dir, bin, append(env, "SECRET_KEY_FILE="+filepath.Join(secrets, "secret-key")))
	api.waitReady(t, n.client)

	cases := []struct {
		name         string
		from         string
		kind, target string
		reachable    bool
	}{
		{"client gets 200 from /healthz", n.client, "http", apiURL + "/healthz", true},
		{"client gets 200 from /api-spec.json", n.client, "http", apiURL + "/api-spec.json", true},
		{"client gets 200 from /tags", n.client, "http", apiURL + "/tags", true},
		{"client reaches the API port on frontend-net", n.client, "tcp", apiFrontAddr + ":5000", true},
		{"the API host reaches PostgreSQL on backend-net", n.api, "tcp", dbAddr + ":" + dbPort, true},
		{"client cannot reach PostgreSQL", n.client, "tcp", dbAddr + ":" + dbPort, false},
		{"rogue cannot reach PostgreSQL", n.rogue, "tcp", dbAddr + ":" + dbPort, false},
		{"rogue cannot reach the API on its backend-net address", n.rogue, "tcp", apiBackAddr + ":5000", false},
		{"rogue cannot reach the API on its frontend-net address", n.rogue, "tcp", apiFrontAddr + ":5000", false},
		{"PostgreSQL does not listen on the database host's loopback", n.db, "tcp", "127.0.0.1:" + dbPort, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, out := probe(t, tc.from, tc.kind, tc.target)
			switch {
			case tc.reachable && !ok:
				t.Errorf("%s %s from %s failed: %s", tc.kind, tc.target, tc.from, out)
			case tc.reachable && tc.kind == "http" && out != "200":
				t.Errorf("GET %s from %s: status %s, want 200", tc.target, tc.from, out)
			case !tc.reachable && ok:
				t.Errorf("%s %s from %s succeeded (%s), want unreachable", tc.kind, tc.target, tc.from, out)
			}
		})
	}

	t.Run("the API survives a PostgreSQL restart", func(t *testing.T) {
		db.stop()
		db.start()
		deadline := time.Now().Add(60 * time.Second)
		for {
			ok, out := probe(t, n.client, "http", apiURL+"/tags")
			if ok && out == "200" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /tags after the restart: %s\n%s", out, logTail(api.log))
			}
			select {
			case err := <-api.done:
				api.cmd = nil
				t.Fatalf("the API exited when PostgreSQL restarted (%v):\n%s", err, logTail(api.log))
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
}

// apiProcess is `eosc-perf-api serve` running in the api namespace.
type apiProcess struct {
	cmd  *exec.Cmd
	done <-chan error
	log  string
}

func startAPI(t *testing.T, ns, dir, bin string, env []string) *apiProcess {
	t.Helper()
	logPath := filepath.Join(dir, "api.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Dir = dir // no .env file there
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done, err := startInNamespace(ns, cmd)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiProcess{cmd: cmd, done: done, log: logPath}
	t.Cleanup(func() { a.stop(t) })
	return a
}

// waitReady polls /healthz from the client namespace until it answers 200.
func (a *apiProcess) waitReady(t *testing.T, client string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, out := probe(t, client, "http", apiURL+"/healthz")
		if ok && out == "200" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API did not answer /healthz from the client namespace (last: %s):\n%s", out, logTail(a.log))
		}
		select {
		case err := <-a.done:
			a.cmd = nil
			t.Fatalf("the API exited (%v):\n%s", err, logTail(a.log))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (a *apiProcess) stop(t *testing.T) {
	if a.cmd == nil {
		return
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		_ = a.cmd.Process.Signal(sig)
		select {
		case <-a.done:
			a.cmd = nil
			return
		case <-time.After(15 * time.Second):
		}
	}
	t.Errorf("the API (pid %d) did not stop", a.cmd.Process.Pid)
}

// apiBinary builds the program into dir, or takes EOSC_TOPOLOGY_BINARY (a
// binary built elsewhere, for example by `nix build`).
func apiBinary(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("EOSC_TOPOLOGY_BINARY"); bin != "" {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(dir, "eosc-perf-api")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./src/cmd/eosc-perf-api")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./src/cmd/eosc-perf-api: %v\n%s", err, out)
	}
	return bin
}

// runDir makes this run's directory in runParent, named for sweepLeftovers
// and searchable by PostgreSQL's unprivileged account.
func runDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(runParent, namePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	p := filepath.Join(parent, name)
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// needTool makes sure a program of a Debian package is on PATH. Without it
// the test skips, naming the package — except in CI (CI=true), which
// installs it (.ci/run), so that there a missing tool fails the test.
func needTool(t *testing.T, tool, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found in CI: .ci/run must install Debian's %s", tool, debianPackage)
	}
	t.Skipf("%s not found: the topology test did NOT run (apt-get install %s to run it)", tool, debianPackage)
}
