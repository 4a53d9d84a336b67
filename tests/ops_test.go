package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/app"
	"github.com/eosc-perf/api/src/dev"
	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/pgtest"
)

// run runs the program in-process with env and returns its exit code and
// output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := app.Run(ctx, append([]string{"eosc-perf-api"}, args...), lookup, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestProductionServeWithEmptyEnvironmentNamesEveryProblem(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, map[string]string{}, "serve")
	if code == 0 {
		t.Fatal("serve with an empty environment exited 0")
	}
	for _, name := range []string{"SECRET_KEY", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME", "ADMIN_ENTITLEMENTS"} {
		re := regexp.MustCompile(`(?m)^.*Environment variable ["']` + name + `["'] (not set|empty).*$`)
		if !re.MatchString(stderr) {
			t.Errorf("stderr does not name %s on a line of its own:\n%s", name, stderr)
		}
	}
	if strings.Count(stderr, "\n") < 7 {
		t.Errorf("expected one problem per line:\n%s", stderr)
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "version")
	if code != 0 || strings.TrimSpace(out) != app.Version {
		t.Fatalf("version = %d %q", code, out)
	}
	code, _, errOut := run(t, nil, "bogus")
	if code != 2 || !strings.Contains(errOut, "usage") {
		t.Fatalf("unknown command = %d %q", code, errOut)
	}
	code, out, _ = run(t, nil, "config", "--markdown")
	if code != 0 || !strings.Contains(out, "DB_PASSWORD") {
		t.Fatalf("config --markdown = %d", code)
	}
	code, out, _ = run(t, map[string]string{"FLASK_ENV": "development", "DB_PASSWORD": "hunter2"}, "config")
	if code != 0 || strings.Contains(out, "hunter2") || !strings.Contains(out, "DB_PASSWORD=<redacted>") {
		t.Fatalf("config must redact secrets: %d\n%s", code, out)
	}
	code, _, _ = run(t, nil, "migrate", "sideways")
	if code != 2 {
		t.Fatalf("migrate sideways = %d", code)
	}
	// The development environment is not in the service binary: `dev`
	// says where it went.
	code, _, errOut = run(t, nil, "dev")
	if code != 2 || !strings.Contains(errOut, "go run ./src/cmd/eosc-perf-api-dev") {
		t.Fatalf("dev = %d %q, want 2 and a pointer to eosc-perf-api-dev", code, errOut)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	s := startService(t, nil) // migrates up at start
	s.stop(t)
	code, out, errOut := run(t, s.Env, "migrate", "status")
	if code != 0 || !strings.Contains(out, "00001_initial.sql") {
		t.Fatalf("status = %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run(t, s.Env, "migrate", "down"); code != 0 {
		t.Fatalf("down = %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run(t, s.Env, "migrate", "up"); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("up = %d\n%s\n%s", code, out, errOut)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	s.get(t, "/healthz", "").want(t, 200)
	s.get(t, "/readyz", "").want(t, 200)
	s.get(t, "/tags", "").want(t, 200)

	t.Run("healthcheck command", func(t *testing.T) {
		env := map[string]string{"LISTEN_ADDR": strings.TrimPrefix(s.URL, "http://")}
		if code, _, errOut := run(t, env, "healthcheck"); code != 0 {
			t.Fatalf("healthcheck = %d: %s", code, errOut)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		free := ln.Addr().String()
		ln.Close()
		if code, _, _ := run(t, map[string]string{"LISTEN_ADDR": free}, "healthcheck"); code == 0 {
			t.Fatal("healthcheck of a closed port exited 0")
		}
	})
	t.Run("metrics on their own listener", func(t *testing.T) {
		m := regexp.MustCompile(`"addr":"([^"]+)"[^}]*"message":"metrics listening"`).FindStringSubmatch(s.Logs())
		if m == nil {
			t.Fatalf("no metrics listener in the log:\n%s", s.Logs())
		}
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`http_requests_total{method="GET",route="/tags",status="200"} 1`,
			`http_request_duration_seconds_bucket{method="GET",route="/tags"`,
			`go_sql_max_open_connections{db_name="eosc_perf"}`,
			"\neosc_perf_results_pending_index 0\n",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		// The API listener does not serve metrics.
		s.get(t, "/metrics", "").want(t, 404)
	})
	t.Run("readyz fails when the schema is not current", func(t *testing.T) {
		db := openDB(t, s)
		if _, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id > 0`); err != nil {
			t.Fatal(err)
		}
		r := s.get(t, "/readyz", "")
		if r.Status != 503 {
			t.Fatalf("readyz = %d", r.Status)
		}
		s.get(t, "/healthz", "").want(t, 200)
	})
}

// TestTokenCacheHitMakesNoOutboundCall: a repeated request with the same
// token is answered without calling the provider again.
func TestTokenCacheHitMakesNoOutboundCall(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tok := s.register(t, "cached", false)
	s.get(t, "/users/self", tok).want(t, 200)
	before := s.OP.Requests()
	for range 5 {
		s.get(t, "/users/self", tok).want(t, 200)
	}
	if after := s.OP.Requests(); after != before {
		t.Fatalf("cached token made %d outbound calls", after-before)
	}
	// A new token is verified (userinfo called once more).
	before = s.OP.Count(oidctest.Userinfo)
	s.get(t, "/users/self", s.OP.MintT(t, oidctest.User{Sub: "cached", Email: "cached@example.org"}, oidctest.TokenOptions{})).want(t, 200)
	if s.OP.Count(oidctest.Userinfo) != before+1 {
		t.Fatal("a new token did not call userinfo")
	}
	// An untrusted issuer is never contacted.
	untrusted := s.Rogue.MintT(t, oidctest.User{Sub: "x", Email: "x@example.org"}, oidctest.TokenOptions{})
	s.get(t, "/users/self", untrusted).want(t, 401)
	if n := s.Rogue.Requests(); n != 0 {
		t.Fatalf("untrusted provider received %d requests", n)
	}
}

// TestGracefulShutdownFinishesInFlightRequest: on SIGTERM (the context
// ending) a request being received still completes.
func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tok := s.register(t, "slow", false)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.URL+"/tags", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	pw.Write([]byte(`{"name":`))
	time.Sleep(200 * time.Millisecond) // the handler is now reading the body
	s.cancel()                         // SIGTERM
	// New connections are refused while the in-flight request finishes.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), time.Second)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
	}
	if !refused {
		t.Error("listener still accepts connections during shutdown")
	}
	pw.Write([]byte(`"late"}`))
	pw.Close()
	resp := <-done
	if resp == nil || resp.StatusCode != 201 {
		t.Fatalf("in-flight request = %v", resp)
	}
	resp.Body.Close()
	select {
	case code := <-s.stopped:
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("service did not stop")
	}
	s.cancel = nil
}

// TestNoSecretsInLogs: tokens, the database password and the secret key
// never appear in a log line, also with debug logging.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"LOG_LEVEL": "debug", "SECRET_KEY": "very-secret-key-123"})
	c := s.newCallers(t)
	s.get(t, "/users/self", c.User).want(t, 200)
	s.get(t, "/users/self", c.Untrusted).want(t, 401)
	s.get(t, "/users/self", "garbage").want(t, 401)
	s.post(t, "/tags", c.Admin, map[string]any{"name": "x"}).want(t, 201)
	s.stop(t)
	logs := s.Logs()
	for name, secret := range map[string]string{
		"user token": c.User, "admin token": c.Admin, "untrusted token": c.Untrusted,
		"database password": s.Env["DB_PASSWORD"], "secret key": "very-secret-key-123",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	if !strings.Contains(logs, `"message":"request"`) {
		t.Fatal("no access log lines")
	}
}

// TestDevCommand starts `eosc-perf-api-dev`, uses the printed admin token
// to create a tag, and checks that Ctrl-C removes what it started.
func TestDevCommand(t *testing.T) {
	t.Parallel()
	pgtest.Shared(t) // started by now, so that it is among the directories before
	before := tempDirs(t)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		exited <- dev.Run(ctx, []string{"eosc-perf-api-dev", "--addr", "127.0.0.1:0"},
			func(string) (string, bool) { return "", false }, pw, &stderr)
		pw.Close()
	}()
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			b.Write(buf[:n])
			if strings.Contains(b.String(), "Press Ctrl-C") {
				banner <- b.String()
				io.Copy(io.Discard, pr)
				return
			}
			if err != nil {
				banner <- b.String()
				return
			}
		}
	}()
	var text string
	select {
	case text = <-banner:
	case code := <-exited:
		t.Fatalf("dev exited with %d:\n%s", code, stderr.String())
	case <-time.After(90 * time.Second):
		cancel()
		t.Fatalf("no banner:\n%s", stderr.String())
	}
	api := regexp.MustCompile(`API\s+(http://\S+)`).FindStringSubmatch(text)
	admin := regexp.MustCompile(`export ADMIN_TOKEN=(\S+)`).FindStringSubmatch(text)
	userTok := regexp.MustCompile(`export USER_TOKEN=(\S+)`).FindStringSubmatch(text)
	if api == nil || admin == nil || userTok == nil || strings.Index(text, "ADMIN_TOKEN") < strings.Index(text, "USER_TOKEN") {
		cancel()
		t.Fatalf("banner lacks the URL or the tokens (admin last):\n%s", text)
	}
	do := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, api[1]+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The runner's personal access token may upload results, nothing else.
	if runner := regexp.MustCompile(`export RUNNER_TOKEN=(eoscperf_\S+)`).FindStringSubmatch(text); runner == nil {
		t.Errorf("banner lacks the runner's token:\n%s", text)
	} else if a, b := do("POST", "/results", runner[1], `{}`), do("POST", "/tags", runner[1], `{"name":"x"}`); a != 422 || b != 403 {
		t.Errorf("runner token: POST /results %d (want 422: authenticated, query incomplete), POST /tags %d (want 403)", a, b)
	}
	if got := do("POST", "/tags", admin[1], `{"name":"from-dev-banner"}`); got != 201 {
		t.Errorf("admin token creating a tag = %d", got)
	}
	if got := do("GET", "/users/self:try_admin", admin[1], ""); got != 204 {
		t.Errorf("admin token is not admin: %d", got)
	}
	if got := do("GET", "/users/self:try_admin", userTok[1], ""); got != 403 {
		t.Errorf("user token try_admin = %d, want 403", got)
	}
	// The sample data: the approved c-ray benchmark, its sites and results.
	totals := map[string]float64{"/benchmarks?docker_image=thechristophe/openbench-c-ray": 1, "/sites": 6,
		"/results": 25 * 13, "/results?filters=machine.cpu.count%20%3E%3D%2016": 3 * 13}
	for path, want := range totals {
		resp, err := http.Get(api[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Total float64 }
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if page.Total != want {
			t.Errorf("dev seed: GET %s total = %v, want %v", path, page.Total, want)
		}
	}
	cancel() // Ctrl-C
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("dev exited with %d:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not stop")
	}
	if _, err := http.Get(api[1] + "/healthz"); err == nil {
		t.Error("the API still answers after Ctrl-C")
	}
	if after := tempDirs(t); len(after) > len(before) {
		t.Errorf("dev left temporary directories behind: %v", after)
	}
}

// tempDirs lists pgtest's temporary cluster directories that belong to
// this process (their owner file starts with our pid): other test binaries
// run at the same time.
func tempDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "eosc-pgtest-") {
			continue
		}
		owner, err := os.ReadFile(filepath.Join(os.TempDir(), e.Name(), "owner"))
		if pid, _, _ := strings.Cut(string(owner), " "); err == nil && pid == strconv.Itoa(os.Getpid()) {
			out = append(out, e.Name())
		}
	}
	return out
}
