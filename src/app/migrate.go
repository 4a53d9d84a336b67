package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/eosc-perf/api/src/store"
)

// runMigrate is `eosc-perf-api migrate up|down|status`.
func runMigrate(ctx context.Context, args []string, lookup LookupEnv, dir string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return fmt.Errorf("%w: migrate needs one of up, down, status", errUsage)
	}
	s, err := LoadSettings(lookup, dir)
	if err != nil {
		return err
	}
	log := newLogger(s, stderr)
	st, err := store.Open(s.DSN(), store.PoolOptions{MaxOpen: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.WaitReady(ctx, s.DBWaitTimeout, func(attempt int, err error) {
		log.Warn().Int("attempt", attempt).Err(err).Msg("database not reachable yet")
	}); err != nil {
		return err
	}
	return store.Migrate(ctx, st.DB().DB, args[0], stdout)
}

// runHealthcheck is `eosc-perf-api healthcheck`, for container health
// checks: GET /healthz on the local listener named by LISTEN_ADDR. It needs
// no other setting (a container's HEALTHCHECK shares its environment, but
// secrets may be files only the service reads).
func runHealthcheck(ctx context.Context, lookup LookupEnv, dir string) error {
	addr := ":5000"
	if s, err := LoadSettings(lookup, dir); err == nil {
		addr = s.ListenAddr
	} else if v, ok := lookup("LISTEN_ADDR"); ok && v != "" {
		addr = v
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not healthy: /healthz answered %s", resp.Status)
	}
	return nil
}
