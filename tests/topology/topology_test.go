package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// The port policy of nix/module.nix for the production example
// (nix/examples), as nftables rulesets: on the proxy host 80 and 443 on
// frontend-net (eth1) only (proxy.interfaces); on the API hosts 5000 from the
// proxy's backend-net address only (proxyAddresses), the metrics port from
// nobody; on the database host the database port from the API hosts only,
// with the rule nix/module-firewall.nix writes for the nftables firewall.
const (
	proxyRuleset = `table inet eosc_perf_topology {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname "eth1" tcp dport { 80, 443 } accept
	}
}
`
	apiRuleset = `table inet eosc_perf_topology {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname { "eth1" } ip saddr { ` + proxyBackAddr + `/32 } tcp dport 5000 accept
	}
}
`
	dbRuleset = `table inet eosc_perf_topology {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname { "eth1" } ip saddr { ` + api1Addr + `/32, ` + api2Addr + `/32 } tcp dport ` + dbPort + ` accept
	}
}
`
)

const (
	proxyURL    = "https://" + proxyFrontAddr
	apiURL      = proxyURL + apiPrefix
	metricsPort = "9100"
)

// frontendPage is the static frontend the proxy serves at /.
const frontendPage = "<!doctype html><title>eosc-perf frontend</title><p>topology test frontend</p>\n"

func TestProductionTopology(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the topology test needs root (network namespaces): it did NOT run")
	}
	needTool(t, "ip", "iproute2")
	needTool(t, "nft", "nftables")
	nginxBinary(t)
	dir := runDir(t)
	bin := apiBinary(t, dir)
	n := newNetwork(t)
	firewall(t, n.proxy, proxyRuleset)
	firewall(t, n.api1, apiRuleset)
	firewall(t, n.api2, apiRuleset)
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
	envFor := func(addr string) []string {
		return []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"FLASK_ENV=production",
			"LISTEN_ADDR=" + addr + ":5000",
			"METRICS_ADDR=" + addr + ":" + metricsPort,
			"DB_HOST=" + dbAddr, "DB_PORT=" + dbPort, "DB_NAME=" + dbName, "DB_USER=" + dbUser,
			"DB_PASSWORD_FILE=" + filepath.Join(secrets, "db-password"),
			"ADMIN_ENTITLEMENTS=urn:example:eosc-perf:admin",
			"BACKEND_ROUTE=" + apiURL,
			"BENCHMARK_IMAGE_CHECK=off", // no registry can be reached from the namespaces
			"DB_WAIT_TIMEOUT=30s",
			"SHUTDOWN_TIMEOUT=5s",
		}
	}

	t.Run("a production API without its secret key refuses to start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env, cmd.Dir = envFor(api1Addr), dir
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("serve without SECRET_KEY: err %v (timeout: %v), want a prompt failure\n%s", err, ctx.Err(), out)
		}
		if !strings.Contains(string(out), "SECRET_KEY") {
			t.Errorf("the refusal does not name SECRET_KEY:\n%s", out)
		}
	})

	// The role's password reaches PostgreSQL as its verifier only.
	verifier := scramVerifier(t, bin, filepath.Join(secrets, "db-password"))
	if strings.Contains(verifier, dbPassword) {
		t.Fatal("the verifier holds the password")
	}
	db := startDatabase(t, n.db, mkdir(t, dir, "db"), verifier)

	// The proxy: TLS with a test CA, the frontend at /.
	proxyDir := mkdir(t, dir, "proxy")
	caFile, certFile, keyFile := testCA(t, proxyDir, "perf.test", proxyFrontAddr)
	www := mkdir(t, proxyDir, "www")
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte(frontendPage), 0o644); err != nil {
		t.Fatal(err)
	}
	accessLog := startNginx(t, n.proxy, n.client, proxyDir, certFile, keyFile, www)

	// Two replicas start at once on the empty database: each runs the
	// migrations under goose and an advisory lock.
	apiEnv := func(addr string) []string {
		return append(envFor(addr), "SECRET_KEY_FILE="+filepath.Join(secrets, "secret-key"))
	}
	api1 := startAPI(t, n.api1, mkdir(t, dir, "api1"), bin, apiEnv(api1Addr))
	api2 := startAPI(t, n.api2, mkdir(t, dir, "api2"), bin, apiEnv(api2Addr))
	api1.waitReady(t, n.proxy, "http://"+api1Addr+":5000")
	api2.waitReady(t, n.proxy, "http://"+api2Addr+":5000")

	t.Run("two replicas starting at once migrated once", func(t *testing.T) {
		super := db.superuserOn(dbName)
		defer super.Close()
		var dup, applied int
		if err := super.QueryRow(`SELECT count(*) FROM (SELECT version_id FROM goose_db_version
			WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dup); err != nil {
			t.Fatal(err)
		}
		if err := super.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if dup != 0 || applied == 0 {
			t.Errorf("goose_db_version: %d migrations applied, %d applied more than once", applied, dup)
		}
		// One replica applied them; the other, waiting on the lock, then
		// found nothing pending (store.Migrate's start-up log line).
		var idle int
		for _, a := range []*apiProcess{api1, api2} {
			if strings.Contains(readFile(t, a.log), "no migration pending") {
				idle++
			}
		}
		if idle != 1 {
			t.Errorf("%d of the 2 replicas found no migration pending, want exactly 1:\n%s\n%s", idle, logTail(api1.log), logTail(api2.log))
		}
	})

	https := func(t *testing.T, path string) (int, string) {
		t.Helper()
		ok, out := probeCA(t, n.client, "https", proxyURL+path, caFile)
		if !ok {
			t.Fatalf("GET %s from the client: %s", path, out)
		}
		status, body, _ := strings.Cut(out, "\n")
		code, err := strconv.Atoi(strings.Fields(status)[0])
		if err != nil {
			t.Fatalf("GET %s: status line %q", path, status)
		}
		return code, body
	}

	t.Run("reachability", func(t *testing.T) {
		cases := []struct {
			name         string
			from         string
			kind, target string
			reachable    bool
		}{
			{"client reaches the proxy's HTTPS port", n.client, "tcp", proxyFrontAddr + ":443", true},
			{"client reaches the proxy's HTTP port (redirect)", n.client, "tcp", proxyFrontAddr + ":80", true},
			{"the proxy reaches API host 1", n.proxy, "tcp", api1Addr + ":5000", true},
			{"the proxy reaches API host 2", n.proxy, "tcp", api2Addr + ":5000", true},
			{"API host 1 reaches PostgreSQL on " + dbPort, n.api1, "tcp", dbAddr + ":" + dbPort, true},
			{"API host 2 reaches PostgreSQL on " + dbPort, n.api2, "tcp", dbAddr + ":" + dbPort, true},
			// The metrics listener is up (so the refusals below are the firewall's).
			{"API host 1 serves its metrics on its own address", n.api1, "tcp", api1Addr + ":" + metricsPort, true},
			{"client cannot reach an API host", n.client, "tcp", api1Addr + ":5000", false},
			{"client cannot reach PostgreSQL", n.client, "tcp", dbAddr + ":" + dbPort, false},
			{"the proxy cannot reach PostgreSQL", n.proxy, "tcp", dbAddr + ":" + dbPort, false},
			{"the proxy cannot reach an API host's metrics", n.proxy, "tcp", api1Addr + ":" + metricsPort, false},
			{"rogue cannot reach PostgreSQL", n.rogue, "tcp", dbAddr + ":" + dbPort, false},
			{"rogue cannot reach API host 1", n.rogue, "tcp", api1Addr + ":5000", false},
			{"rogue cannot reach API host 2", n.rogue, "tcp", api2Addr + ":5000", false},
			{"rogue cannot reach API host 1's metrics", n.rogue, "tcp", api1Addr + ":" + metricsPort, false},
			{"rogue cannot reach the proxy on backend-net", n.rogue, "tcp", proxyBackAddr + ":443", false},
			{"PostgreSQL does not listen on the database host's loopback", n.db, "tcp", "127.0.0.1:" + dbPort, false},
			{"an API host does not listen on its loopback", n.api1, "tcp", "127.0.0.1:5000", false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ok, out := probe(t, tc.from, tc.kind, tc.target)
				switch {
				case tc.reachable && !ok:
					t.Errorf("%s %s from %s failed: %s", tc.kind, tc.target, tc.from, out)
				case !tc.reachable && ok:
					t.Errorf("%s %s from %s succeeded (%s), want unreachable", tc.kind, tc.target, tc.from, out)
				}
			})
		}
	})

	t.Run("TLS through the proxy", func(t *testing.T) {
		for _, path := range []string{apiPrefix + "/healthz", apiPrefix + "/api-spec.json", apiPrefix + "/tags"} {
			if code, body := https(t, path); code != 200 {
				t.Errorf("GET %s: %d\n%s", path, code, body)
			}
		}
		// The documentation page names the public prefix (X-Script-Name).
		if code, body := https(t, apiPrefix+"/"); code != 200 || !strings.Contains(body, apiPrefix+"/swagger-ui/") {
			t.Errorf("GET %s/: %d, want the documentation page under %s:\n%.500s", apiPrefix, code, apiPrefix, body)
		}
		// The frontend at /, with the single-page application fallback.
		for _, path := range []string{"/", "/benchmarks/some-id"} {
			if code, body := https(t, path); code != 200 || body != strings.TrimSpace(frontendPage) {
				t.Errorf("GET %s: %d %q, want the frontend page", path, code, body)
			}
		}
		// Plain HTTP is redirected to HTTPS.
		ok, out := probe(t, n.client, "http", "http://"+proxyFrontAddr+apiPrefix+"/tags")
		if !ok || out != "301 https://"+proxyFrontAddr+apiPrefix+"/tags" {
			t.Errorf("GET http://…/tags: %s, want a 301 to https", out)
		}
		// Only the test CA's certificate is trusted: a client that does not
		// trust it refuses the connection.
		other, _, _ := testCA(t, mkdir(t, proxyDir, "other-ca"), "perf.test", proxyFrontAddr)
		if ok, out := probeCA(t, n.client, "https", apiURL+"/healthz", other); ok {
			t.Errorf("a client trusting another CA got %s", out)
		}
	})

	t.Run("both replicas serve through the proxy", func(t *testing.T) {
		before := readFile(t, accessLog)
		for range 6 {
			if code, _ := https(t, apiPrefix+"/tags"); code != 200 {
				t.Fatalf("GET /tags: %d", code)
			}
		}
		served := upstreamsIn(readFile(t, accessLog)[len(before):], apiPrefix+"/tags")
		for _, addr := range []string{api1Addr + ":5000", api2Addr + ":5000"} {
			if served[addr] == 0 {
				t.Errorf("%s served none of the requests: %v", addr, served)
			}
		}
	})

	t.Run("the API survives a PostgreSQL restart", func(t *testing.T) {
		db.stop()
		db.start()
		waitFor(t, 60*time.Second, func() (bool, string) {
			code, body := https(t, apiPrefix+"/tags")
			return code == 200, fmt.Sprint(code, " ", body)
		}, api1, api2)
	})

	t.Run("with one replica down the proxy serves from the other", func(t *testing.T) {
		api1.stop(t)
		for range 4 {
			if code, body := https(t, apiPrefix+"/tags"); code != 200 {
				t.Fatalf("GET /tags with API host 1 down: %d\n%s", code, body)
			}
		}
	})

	t.Run("a backup restored into an empty database is served", func(t *testing.T) {
		super := db.superuserOn(dbName)
		_, err := super.Exec(`INSERT INTO tag (id, name, description) VALUES (gen_random_uuid(), 'topology-backup-marker', 'kept by pg_dump')`)
		super.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, body := https(t, apiPrefix+"/tags"); !strings.Contains(body, "topology-backup-marker") {
			t.Fatalf("the marker is not served before the backup:\n%.500s", body)
		}
		// The module's backup command (module-postgresql.nix), then the
		// README's restore, verbatim but for the socket directory.
		// The backup directory belongs to PostgreSQL's account, mode 0700,
		// as the module's backup.directory.
		dump := db.path("backup", "eosc_perf-backup.dump")
		db.tool(t, "pg_dump", "--format=custom", "--file="+dump, dbName)
		api2.stop(t)
		db.tool(t, "dropdb", dbName)
		db.tool(t, "createdb", "--owner="+dbUser, dbName)
		db.tool(t, "pg_restore", "--no-owner", "--role="+dbUser, "--exit-on-error", "--dbname="+dbName, dump)

		api1 = startAPI(t, n.api1, filepath.Join(dir, "api1"), bin, apiEnv(api1Addr))
		api2 = startAPI(t, n.api2, filepath.Join(dir, "api2"), bin, apiEnv(api2Addr))
		api1.waitReady(t, n.proxy, "http://"+api1Addr+":5000")
		api2.waitReady(t, n.proxy, "http://"+api2Addr+":5000")
		if code, body := https(t, apiPrefix+"/tags"); code != 200 || !strings.Contains(body, "topology-backup-marker") {
			t.Errorf("after the restore GET /tags: %d, want the marker:\n%.500s", code, body)
		}
		// The restored tables belong to the API's role.
		super = db.superuserOn(dbName)
		defer super.Close()
		var foreign int
		if err := super.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1`, dbUser).Scan(&foreign); err != nil {
			t.Fatal(err)
		}
		if foreign != 0 {
			t.Errorf("%d restored tables are not owned by %s", foreign, dbUser)
		}
	})
}

// scramVerifier runs `eosc-perf-api scram-verifier` as the NixOS module's
// postgresql-setup does.
func scramVerifier(t *testing.T, bin, passwordFile string) string {
	t.Helper()
	out, err := exec.Command(bin, "scram-verifier", "--password-file", passwordFile).Output()
	if err != nil {
		t.Fatalf("scram-verifier: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// upstreamsIn counts the upstream addresses of an access log's lines for path.
func upstreamsIn(log, path string) map[string]int {
	served := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == path && f[1] == "200" {
			served[f[2]]++
		}
	}
	return served
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond until it holds, failing when an API process exits or
// the time is up.
func waitFor(t *testing.T, limit time.Duration, cond func() (bool, string), apis ...*apiProcess) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %v: %s", limit, last)
		}
		for _, a := range apis {
			select {
			case err := <-a.done:
				a.cmd = nil
				t.Fatalf("an API exited (%v):\n%s", err, logTail(a.log))
			default:
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
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

// waitReady polls base/healthz from namespace from until it answers 200.
func (a *apiProcess) waitReady(t *testing.T, from, base string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, out := probe(t, from, "http", base+"/healthz")
		if ok && out == "200" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API did not answer %s/healthz from %s (last: %s):\n%s", base, from, out, logTail(a.log))
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
