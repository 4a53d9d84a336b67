package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	embedded "github.com/eosc-perf/api/src/samples"
	"github.com/eosc-perf/api/src/schema"
	"github.com/eosc-perf/api/src/store"
)

// benchmark runs the whole benchmark and prints the table to stdout
// (progress goes to log). It reports false when a scenario had errors.
func benchmark(ctx context.Context, cfg config, stdout, log io.Writer) (ok bool, err error) {
	loadStart := loadAvg() // what else runs on the machine
	root, err := repoRoot(ctx)
	if err != nil {
		return false, err
	}
	samples, err := readSamples()
	if err != nil {
		return false, err
	}
	sites := append(parseFlavors(machineFlavors), virtualbox)
	schemaDoc := embedded.Template()

	e, err := startEnv(ctx, cfg, root, log)
	if err != nil {
		return false, err
	}
	defer func() {
		if cfg.KeepLog || !ok || err != nil {
			fmt.Fprintf(log, "--- server log (last 40 lines) ---\n%s\n---\n", e.server.logTail(40))
		}
		if cerr := e.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean-up: %w", cerr))
		}
	}()

	transport := &http.Transport{Proxy: nil, MaxIdleConns: 2 * cfg.Clients, MaxIdleConnsPerHost: cfg.Clients,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: opTimeout}
	defer transport.CloseIdleConnections()
	api := &apiClient{base: e.url, http: client}
	fmt.Fprintln(log, "creating the catalog through the API…")
	cat, err := createCatalog(ctx, api, e.op, schemaDoc, sites)
	if err != nil {
		return false, err
	}

	fmt.Fprintf(log, "loading %d results with COPY…\n", cfg.N)
	db, err := sql.Open("postgres", e.dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	t0 := time.Now()
	ds, err := bulkLoad(ctx, db, rand.New(rand.NewSource(cfg.Seed)), cat, samples, cfg.N)
	if err != nil {
		return false, err
	}
	loadTime := time.Since(t0)
	fmt.Fprintf(log, "loaded in %s (with VACUUM ANALYZE)\n", loadTime.Round(time.Millisecond))
	if cfg.Hold {
		fmt.Fprintf(stdout, "server:    %s (pid %d, log %s)\ndatabase:  %s\nsuperuser: %s\nCtrl-C to stop and clean up\n",
			e.url, e.server.cmd.Process.Pid, e.server.logPath, e.dsn, e.cluster.SuperDSN())
		<-ctx.Done()
		return true, nil
	}
	var pgVersion string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&pgVersion); err != nil {
		return false, err
	}

	st, err := store.Open(e.dsn, store.PoolOptions{MaxOpen: cfg.Pool, MaxIdle: idleConns(cfg.Pool)})
	if err != nil {
		return false, err
	}
	defer st.Close()
	sd := &sides{http: client, base: e.url, st: st, schemas: schema.NewCache(schema.DefaultCacheSize),
		cat: cat, ids: ds.IDs, samples: samples}
	all, err := sd.scenarios()
	if err != nil {
		return false, err
	}
	var scs []scenario
	for _, sc := range all {
		if cfg.Run.MatchString(sc.Name) {
			scs = append(scs, sc)
		}
	}
	for _, sc := range scs {
		if sc.list != nil {
			if err := sd.checkSameAnswer(ctx, sc); err != nil {
				return false, fmt.Errorf("API and store disagree: %w", err)
			}
		}
	}

	var rows []row
	for i, sc := range scs {
		fmt.Fprintf(log, "%s: API…", sc.Name)
		apiStats := drive(ctx, e.addr, cfg.Clients, cfg.Warmup, cfg.Dur, cfg.Seed+int64(2*i), sc.API)
		fmt.Fprintf(log, " %.1f req/s; SQL only…", apiStats.Rate())
		sqlStats := drive(ctx, e.addr, cfg.Clients, cfg.Warmup, cfg.Dur, cfg.Seed+int64(2*i+1), sc.SQL)
		fmt.Fprintf(log, " %.1f req/s\n", sqlStats.Rate())
		if ctx.Err() != nil {
			return false, errors.New("interrupted")
		}
		rows = append(rows, row{Name: sc.Name, API: apiStats, SQL: sqlStats})
	}
	rss, rssErr := e.server.peakRSS()

	fmt.Fprintf(stdout, "\n%d results loaded (%d visible, %d tag links) in %s; %d clients, %s per scenario and side after %s warm-up;\n",
		len(ds.IDs), ds.Visible, ds.TagLinks, loadTime.Round(time.Millisecond), cfg.Clients, cfg.Dur, cfg.Warmup)
	fmt.Fprintf(stdout, "DB_MAX_OPEN_CONNS=%d (SQL-only pool the same); PostgreSQL %s; %s; %d CPUs; load average %s at start, %s at the end\n\n",
		cfg.Pool, pgVersion, runtime.Version(), runtime.NumCPU(), loadStart, loadAvg())
	printTable(stdout, rows)
	if rssErr != nil {
		fmt.Fprintf(stdout, "\nserver peak RSS: unknown (%v)\n", rssErr)
	} else {
		fmt.Fprintf(stdout, "\nserver peak RSS (VmHWM): %.1f MiB\n", float64(rss)/(1<<20))
	}
	fmt.Fprintln(stdout, "\nrequests:")
	for _, sc := range scs {
		fmt.Fprintf(stdout, "  %-12s %s\n", sc.Name, sc.Request)
	}
	ok = true
	for _, r := range rows {
		for side, s := range map[string]stats{"API": r.API, "SQL": r.SQL} {
			if s.Errors > 0 {
				ok = false
				fmt.Fprintf(stdout, "%s %s errors, e.g.: %s\n", r.Name, side, strings.Join(s.Samples, " | "))
			}
		}
	}
	return ok, nil
}

// loadAvg is the 1-minute load average of the machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
