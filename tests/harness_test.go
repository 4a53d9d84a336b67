package tests

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/app"
	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/store"
)

// adminEntitlement is the entitlement the test deployments make admin.
const adminEntitlement = "urn:mace:egi.eu:group:perf:role=admin"

// service is one running instance of the program with its own database,
// a trusted OpenID provider and an untrusted one.
type service struct {
	URL     string
	OP      *oidctest.Provider // trusted
	Rogue   *oidctest.Provider // not in TRUSTED_OP_LIST
	Env     map[string]string
	DSN     string
	logs    *syncBuffer
	stopped chan int
	cancel  context.CancelFunc
}

// syncBuffer collects the program's log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startService starts the program in production mode on a random
// loopback port with a fresh, migrated database (migratedDatabase).
// overrides change or (with "") blank settings. Each service is isolated
// (its own database, providers and ports): tests using it run in parallel.
func startService(t testing.TB, overrides map[string]string) *service {
	t.Helper()
	return startServiceOn(t, overrides, nil)
}

// startServiceOn is startService with prepare run on the fresh database
// (given its URL and the trusted provider's issuer) before the program
// starts, to give it content made by someone else.
func startServiceOn(t testing.TB, overrides map[string]string, prepare func(dsn, issuer string)) *service {
	t.Helper()
	s := newService(t, overrides, prepare)
	s.start(t)
	return s
}

// newService prepares what startServiceOn starts.
func newService(t testing.TB, overrides map[string]string, prepare func(dsn, issuer string)) *service {
	t.Helper()
	op := oidctest.StartT(t, oidctest.Options{Path: "/oidc"})
	rogue := oidctest.StartT(t, oidctest.Options{Path: "/oidc"})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, append(op.CertPEM(), rogue.CertPEM()...), 0o600); err != nil {
		t.Fatal(err)
	}
	var dsn string
	if prepare != nil {
		// Content made by someone else (an upstream 1.2.3 database) goes
		// into an empty database, which the program then migrates.
		dsn = pgtest.NewDatabase(t)
		prepare(dsn, op.Issuer())
	} else {
		dsn = migratedDatabase(t)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	env := map[string]string{
		"FLASK_ENV":             "production",
		"SECRET_KEY":            "test-secret",
		"DB_USER":               u.User.Username(),
		"DB_PASSWORD":           pw,
		"DB_HOST":               u.Hostname(),
		"DB_PORT":               u.Port(),
		"DB_NAME":               strings.TrimPrefix(u.Path, "/"),
		"TRUSTED_OP_LIST":       op.Issuer(),
		"ADMIN_ENTITLEMENTS":    adminEntitlement,
		"OIDC_CA_FILE":          caFile,
		"LISTEN_ADDR":           "127.0.0.1:0",
		"LOG_LEVEL":             "info",
		"BENCHMARK_IMAGE_CHECK": "off",
		"SHUTDOWN_TIMEOUT":      "5s",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return &service{OP: op, Rogue: rogue, Env: env, DSN: dsn, logs: &syncBuffer{}, stopped: make(chan int, 1)}
}

// migratedDatabase returns a new database of the test's own with every
// migration applied: a copy of a template database migrated once per test
// binary (by store.Migrate, as serve does at start), much faster than
// migrating each test's database.
func migratedDatabase(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabaseFrom(t, "migrated", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		return store.Migrate(ctx, db, store.MigrateUp, nil)
	})
}

// start runs the program and waits for its "listening" log line.
func (s *service) start(t testing.TB) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := s.Env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	pr, pw := io.Pipe()
	out := io.MultiWriter(s.logs, pw)
	go func() {
		code := app.Run(ctx, []string{"eosc-perf-api", "serve"}, lookup, io.Discard, out)
		pw.Close()
		s.stopped <- code
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			var line struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "listening" {
				addr <- line.Addr
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case code := <-s.stopped:
		cancel()
		t.Fatalf("service exited with %d before listening:\n%s", code, s.logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("service did not listen within 60s:\n%s", s.logs.String())
	}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("service log (errors):\n%s", s.errorLines())
		}
	})
}

// errorLines returns the log lines at warn level or above.
func (s *service) errorLines() string {
	var out []string
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) || strings.Contains(line, `"level":"warn"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// stop ends the program (like SIGTERM) and waits for it.
func (s *service) stop(t testing.TB) int {
	t.Helper()
	if s.cancel == nil {
		return 0
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.stopped:
		return code
	case <-time.After(30 * time.Second):
		t.Errorf("service did not stop within 30s:\n%s", s.logs.String())
		return -1
	}
}

// Logs returns what the program logged so far.
func (s *service) Logs() string { return s.logs.String() }

// response is what a request got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// request is one HTTP call in a test.
type request struct {
	Method string
	Path   string // with query string
	Token  string
	Body   any // marshalled as JSON unless it is a string or []byte
	Header map[string]string
	// ContentType defaults to application/json when there is a body.
	ContentType string
}

// do sends req to the service and validates the response against the
// OpenAPI document.
func (s *service) do(t testing.TB, req request) *response {
	t.Helper()
	var body io.Reader
	if req.Body != nil {
		switch b := req.Body.(type) {
		case string:
			body = strings.NewReader(b)
		case []byte:
			body = bytes.NewReader(b)
		default:
			buf, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.NewReader(buf)
		}
	}
	hr, err := http.NewRequest(req.Method, s.URL+req.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	checkResponse(t, hr, r)
	return r
}

// get, post, put and del are shorthands for do.
func (s *service) get(t testing.TB, path, token string) *response {
	t.Helper()
	return s.do(t, request{Method: "GET", Path: path, Token: token})
}

func (s *service) post(t testing.TB, path, token string, body any) *response {
	t.Helper()
	return s.do(t, request{Method: "POST", Path: path, Token: token, Body: body})
}

func (s *service) put(t testing.TB, path, token string, body any) *response {
	t.Helper()
	return s.do(t, request{Method: "PUT", Path: path, Token: token, Body: body})
}

func (s *service) del(t testing.TB, path, token string) *response {
	t.Helper()
	return s.do(t, request{Method: "DELETE", Path: path, Token: token})
}

// want fails the test unless r has the status.
func (r *response) want(t testing.TB, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// wantBody fails unless the body equals the JSON text want (key order and
// spacing do not matter).
func (r *response) wantBody(t testing.TB, want string) *response {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, r.Body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("body = %s\nwant   %s", g, e)
	}
	return r
}

// callers are the caller kinds of API.md §14 with their tokens.
type callers struct {
	Anon, Untrusted, Unreg, User, Owner, Admin string
	// Subs of the registered callers, for checks on stored data.
	UserSub, OwnerSub, AdminSub string
}

// newCallers registers a user, an owner and an admin through the API and
// mints tokens for all caller kinds.
func (s *service) newCallers(t testing.TB) callers {
	t.Helper()
	c := callers{UserSub: "user-1", OwnerSub: "owner-1", AdminSub: "admin-1"}
	c.Untrusted = s.Rogue.MintT(t, oidctest.User{Sub: "rogue-1", Email: "rogue@example.org"}, oidctest.TokenOptions{})
	c.Unreg = s.token(t, "unreg-1", false)
	c.User = s.register(t, c.UserSub, false)
	c.Owner = s.register(t, c.OwnerSub, false)
	c.Admin = s.register(t, c.AdminSub, true)
	return c
}

// token mints a token of the trusted provider for sub (an admin has the
// admin entitlement); the user has a verified e-mail.
func (s *service) token(t testing.TB, sub string, admin bool) string {
	t.Helper()
	u := oidctest.User{Sub: sub, Email: sub + "@example.org", EmailVerified: oidctest.Bool(true),
		Entitlements: []string{"urn:mace:egi.eu:group:other"}}
	if admin {
		u.Entitlements = append(u.Entitlements, adminEntitlement)
	}
	s.OP.SetUser(u)
	return s.OP.MintT(t, u, oidctest.TokenOptions{Lifetime: time.Hour})
}

// register mints a token for sub and registers it through the API.
func (s *service) register(t testing.TB, sub string, admin bool) string {
	t.Helper()
	tok := s.token(t, sub, admin)
	s.post(t, "/users:register", tok, nil).want(t, http.StatusCreated)
	return tok
}

// items returns the items of a page body.
func (r *response) items(t testing.TB) []map[string]any {
	t.Helper()
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("not a page: %v: %s", err, r.Body)
	}
	return p.Items
}

// openDB connects to the service's database, for checks of stored data.
func openDB(t testing.TB, s *service) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
