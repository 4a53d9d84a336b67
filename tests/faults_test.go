package tests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/pgtest"
)

// The fault suite of issue 10: PostgreSQL restarted under write load,
// shutdown under read load, database errors that are the client's fault.

// faultCluster starts a PostgreSQL cluster of the test's own (the shared
// one cannot be restarted) with one database whose commits are synchronous,
// so that an acknowledged write survives an immediate shutdown.
func faultCluster(t *testing.T) (*pgtest.Cluster, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	dsn, err := c.CreateDatabase(ctx, "faults")
	if err != nil {
		t.Fatal(err)
	}
	super, err := sql.Open("postgres", c.SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	// The cluster runs with synchronous_commit=off for speed; the
	// database's own setting wins in its sessions.
	if _, err := super.ExecContext(ctx, "ALTER DATABASE faults SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	return c, dsn
}

// dbSettings are the DB_* overrides that point the service at dsn.
func dbSettings(t *testing.T, dsn string) map[string]string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	return map[string]string{"DB_USER": u.User.Username(), "DB_PASSWORD": pw, "DB_HOST": u.Hostname(),
		"DB_PORT": u.Port(), "DB_NAME": strings.TrimPrefix(u.Path, "/")}
}

// outcome is one request of the write load.
type outcome struct {
	start  time.Time
	status int // 0: no answer
	err    string
	name   string // of the tag written
}

// writeLoad posts tags from n clients until stop is closed, each request
// checked against the OpenAPI document.
func writeLoad(t *testing.T, s *service, token, prefix string, n int, stop chan struct{}) (wait func() []outcome) {
	var mu sync.Mutex
	var out []outcome
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{start: time.Now(), name: fmt.Sprintf("%s-%d-%d", prefix, g, i)}
				body, _ := json.Marshal(map[string]string{"name": o.name})
				hr, _ := http.NewRequest("POST", s.URL+"/tags", bytes.NewReader(body))
				hr.Header.Set("Content-Type", "application/json")
				hr.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(hr)
				if err != nil {
					o.err = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.status = resp.StatusCode
					checkResponse(t, hr, &response{Status: resp.StatusCode, Header: resp.Header, Body: b})
				}
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond) // a bounded load, no busy loop while it is down
			}
		}()
	}
	return func() []outcome { wg.Wait(); return out }
}

// readyz returns the status and reason of GET /readyz.
func readyz(t *testing.T, s *service) (int, string) {
	t.Helper()
	r := s.get(t, "/readyz", "")
	var body struct{ Reason string }
	_ = json.Unmarshal(r.Body, &body)
	return r.Status, body.Reason
}

// TestDatabaseRestartUnderWriteLoad restarts PostgreSQL (fast, then
// immediate shutdown) while four clients write: while it is down every
// write gets 503 and /readyz says the database is not reachable; when it is
// back the service recovers by itself (/readyz at once, writes within
// seconds), and every acknowledged write is in the database.
func TestDatabaseRestartUnderWriteLoad(t *testing.T) {
	t.Parallel()
	cluster, dsn := faultCluster(t)
	s := startService(t, dbSettings(t, dsn))
	token := s.register(t, "writer", false)

	var all []outcome
	for _, mode := range []pgtest.ShutdownMode{pgtest.Fast, pgtest.Immediate} {
		stop := make(chan struct{})
		wait := writeLoad(t, s, token, mode.String(), 4, stop)
		time.Sleep(500 * time.Millisecond)

		if err := cluster.Halt(mode); err != nil {
			close(stop)
			wait()
			t.Fatal(err)
		}
		down := time.Now()
		for i := 0; i < 5; i++ {
			if code, reason := readyz(t, s); code != 503 || reason != "database not reachable" {
				t.Errorf("%v: /readyz while the database is down = %d %q, want 503 \"database not reachable\"", mode, code, reason)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		upAgain := time.Now()
		if err := cluster.Resume(context.Background()); err != nil {
			close(stop)
			wait()
			t.Fatal(err)
		}
		if code, reason := readyz(t, s); code != 200 {
			t.Errorf("%v: first /readyz after the restart = %d %q, want 200", mode, code, reason)
		}
		resumed := time.Now()
		// Recovered by itself: writes succeed again within 5 s.
		deadline := resumed.Add(5 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		close(stop)
		outs := wait()
		all = append(all, outs...)

		counts := map[string]int{}
		var firstAfter time.Duration = -1
		for _, o := range outs {
			switch {
			case o.status == 0:
				t.Errorf("%v: %s got no answer: %s", mode, o.name, o.err)
			case o.status != 201 && o.status != 503:
				t.Errorf("%v: %s got %d, want only 201 or 503", mode, o.name, o.status)
			case o.start.After(down) && o.start.Before(upAgain) && o.status != 503:
				t.Errorf("%v: %s, sent while the database was down, got %d", mode, o.name, o.status)
			case o.start.After(resumed) && o.status == 201 && (firstAfter < 0 || o.start.Sub(resumed) < firstAfter):
				firstAfter = o.start.Sub(resumed)
			}
			counts[fmt.Sprint(o.status)]++
		}
		t.Logf("%v shutdown: outcomes %v; first acknowledged write %v after the restart", mode, counts, firstAfter.Round(time.Millisecond))
		if firstAfter < 0 {
			t.Errorf("%v: no write succeeded within 5 s of the restart", mode)
		}
	}

	// Every acknowledged write is stored.
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.Query("SELECT name FROM tag")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		stored[name] = true
	}
	rows.Close()
	acked, lost := 0, 0
	for _, o := range all {
		if o.status == 201 {
			acked++
			if !stored[o.name] {
				lost++
				t.Errorf("acknowledged write %s is not in the database", o.name)
			}
		}
	}
	t.Logf("%d writes acknowledged, %d lost", acked, lost)
	if strings.Contains(s.Logs(), `"status":500`) {
		t.Errorf("some requests got 500:\n%s", s.errorLines())
	}
}

// lockTags holds an exclusive lock on the tag table until the returned
// function is called: requests that read tags wait meanwhile.
func lockTags(t *testing.T, s *service) (release func()) {
	t.Helper()
	return lockTagsIn(t, openDB(t, s))
}

// lockTagsIn is lockTags on the database db.
func lockTagsIn(t *testing.T, db *sql.DB) (release func()) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE tag IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// waitLocked waits until n sessions wait for a lock on the database.
func waitLocked(t *testing.T, s *service, n int) {
	t.Helper()
	waitLockedIn(t, openDB(t, s), n)
}

// waitLockedIn is waitLocked on the database db.
func waitLockedIn(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting for the lock, want %d", waiting, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownLetsRequestsInFlightFinish: on SIGTERM (the context of Run
// ends) under read load, requests in flight finish with their answer and
// the service exits 0.
func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	release := lockTags(t, s)
	type result struct {
		status int
		err    error
	}
	results := make(chan result, 4)
	for i := 0; i < 4; i++ {
		go func() {
			resp, err := http.Get(s.URL + "/tags")
			if err != nil {
				results <- result{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{status: resp.StatusCode}
		}()
	}
	waitLocked(t, s, 4)
	// And a read load that goes on through the shutdown: every request
	// answered is answered in full; once the listener is closed, new
	// connections are refused.
	var mu sync.Mutex
	answered := map[int]int{}
	var loadErrs []error
	var readers, started sync.WaitGroup
	for i := 0; i < 4; i++ {
		readers.Add(1)
		started.Add(1)
		go func() {
			defer readers.Done()
			first := sync.OnceFunc(started.Done)
			defer first() // also when the first request fails
			client := &http.Client{Timeout: 20 * time.Second}
			for {
				resp, err := client.Get(s.URL + "/sites")
				if err != nil {
					// Refused, or reset while connecting: a connection
					// left in the listener's backlog when it closed
					// (never accepted, so never served) is reset. Or EOF
					// on a kept-alive connection: Shutdown closes idle
					// connections, and a request sent on one as it closes
					// is never read (requests being served are finished,
					// as the in-flight requests above check).
					var op *net.OpError
					reset := errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNRESET)
					if !errors.Is(err, syscall.ECONNREFUSED) && !reset && !errors.Is(err, io.EOF) {
						mu.Lock()
						loadErrs = append(loadErrs, err)
						mu.Unlock()
					}
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				answered[resp.StatusCode]++
				if err != nil {
					loadErrs = append(loadErrs, err)
				}
				mu.Unlock()
				first()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	// The shutdown begins once every reader has had an answer (on a
	// loaded machine 200 ms were once not enough for any: the test then
	// saw no answer at all and failed).
	started.Wait()
	time.Sleep(100 * time.Millisecond)
	code := make(chan int, 1)
	go func() { code <- s.stop(t) }()
	time.Sleep(300 * time.Millisecond) // the shutdown has begun; the requests still wait
	release()
	for i := 0; i < 4; i++ {
		r := <-results
		if r.err != nil || r.status != 200 {
			t.Errorf("request in flight during the shutdown: %d %v, want 200", r.status, r.err)
		}
	}
	if c := <-code; c != 0 {
		t.Errorf("exit code %d, want 0", c)
	}
	readers.Wait()
	t.Logf("read load during the shutdown: %v answered, errors %v", answered, loadErrs)
	if len(answered) != 1 || answered[200] == 0 || len(loadErrs) != 0 {
		t.Errorf("read load during the shutdown: %v answered, errors %v; want only 200s and, at the end, refused connections", answered, loadErrs)
	}
	// The listener is closed: new requests are refused.
	if _, err := http.Get(s.URL + "/healthz"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after the shutdown: %v, want connection refused", err)
	}
}

// TestShutdownTimeoutExitsNonZeroAndNamesWhatWasCutOff: when requests are
// still running at SHUTDOWN_TIMEOUT, the service closes them, logs each and
// exits non-zero.
func TestShutdownTimeoutExitsNonZeroAndNamesWhatWasCutOff(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"SHUTDOWN_TIMEOUT": "300ms"})
	lockTags(t, s)
	go func() {
		resp, err := http.Get(s.URL + "/tags")
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitLocked(t, s, 1)
	if code := s.stop(t); code == 0 {
		t.Errorf("exit code 0 after SHUTDOWN_TIMEOUT was reached, want non-zero")
	}
	logs := s.Logs()
	if !strings.Contains(logs, `"request":"GET /tags (running`) || !strings.Contains(logs, "request cut off by the shutdown") {
		t.Errorf("the log does not name the request cut off:\n%s", s.errorLines())
	}
}

// TestLoneSurrogateInAResultIsBadData: "\ud800" is valid JSON that
// PostgreSQL cannot store (22P02): the client's data, so 422, not 500.
func TestLoneSurrogateInAResultIsBadData(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	r := upload(t, s, c.User, w.Lenient, w.FlavorA, past, json.RawMessage(`{"time":1,"x":"\ud800"}`)).want(t, 422)
	msg, _ := r.JSON(t)["errors"].(map[string]any)["error"].(string)
	if !strings.HasPrefix(msg, "Unsupported value: ") {
		t.Errorf("message %q", msg)
	}
	if strings.Contains(s.Logs(), `"level":"error"`) {
		t.Errorf("bad data logged as an error:\n%s", s.errorLines())
	}
}

// TestClientThatLeavesIsNotAnError: a request whose client disconnects
// while its query runs (57014 after the cancel) is not logged as an error.
func TestClientThatLeavesIsNotAnError(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	release := lockTags(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/tags", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitLocked(t, s, 1)
	cancel()
	<-done
	// The server notices the closed connection, cancels the query and
	// finishes the request: its access log line comes last.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Logs(), `"route":"/tags"`) {
		if time.Now().After(deadline) {
			t.Fatal("the request did not finish after its client left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	if strings.Contains(s.Logs(), `"level":"error"`) {
		t.Errorf("a client that left was logged as an error:\n%s", s.errorLines())
	}
}

// TestReadyzIsNotFooledByStalePooledConnections: the pool holds idle
// connections when PostgreSQL restarts without any traffic; the first
// /readyz afterwards must tell that the database is back, not fail once per
// dead connection.
func TestReadyzIsNotFooledByStalePooledConnections(t *testing.T) {
	t.Parallel()
	cluster, dsn := faultCluster(t)
	s := startService(t, dbSettings(t, dsn))
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Six requests wait on a lock at once, so the service opens six
	// connections, which stay idle in its pool afterwards.
	release := lockTagsIn(t, db)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := http.Get(s.URL + "/tags"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitLockedIn(t, db, 6)
	release()
	wg.Wait()
	db.Close()

	for _, mode := range []pgtest.ShutdownMode{pgtest.Fast, pgtest.Immediate} {
		start := time.Now()
		if err := cluster.Halt(mode); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: halted in %v", mode, time.Since(start).Round(time.Millisecond))
		if code, reason := readyz(t, s); code != 503 || reason != "database not reachable" {
			t.Errorf("%v: /readyz while the database is down = %d %q", mode, code, reason)
		}
		if err := cluster.Resume(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			start := time.Now()
			code, reason := readyz(t, s)
			t.Logf("%v: /readyz number %d after the restart: %d in %v", mode, i+1, code, time.Since(start).Round(time.Millisecond))
			if code != 200 {
				t.Errorf("%v: /readyz number %d after the restart = %d %q, want 200", mode, i+1, code, reason)
			}
		}
	}
}
