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

	db, err := sql.Open("postgres", e.dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(cfg.Pool)
	db.SetMaxIdleConns(cfg.Pool) // as the server's default (DB_MAX_IDLE_CONNS empty)
	st, err := store.Open(e.dsn, store.PoolOptions{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		return false, err
	}
	defer st.Close()
	var pgVersion string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&pgVersion); err != nil {
		return false, err
	}
	sd := &sides{http: client, base: e.url, st: st, floor: db, schemas: schema.NewCache(schema.DefaultCacheSize),
		cat: cat, samples: samples}
	all, err := sd.scenarios()
	if err != nil {
		return false, err
	}
	ext, err := sd.extensionScenarios(ctx) // bulk upload and export (tests/load/extensions.go)
	if err != nil {
		return false, err
	}
	all = append(all, ext...)
	var scs []scenario
	for _, sc := range all {
		if cfg.Run.MatchString(sc.Name) {
			scs = append(scs, sc)
		}
	}

	rng := rand.New(rand.NewSource(cfg.Seed))
	var ds dataset
	var scaling []scaleRow
	ok = true
	for step, n := range cfg.sizes() {
		fmt.Fprintf(log, "loading %d more results with COPY (to %d)…\n", n-len(ds.IDs), n)
		t0 := time.Now()
		more, err := bulkLoad(ctx, db, rng, cat, samples, n-len(ds.IDs))
		if err != nil {
			return false, err
		}
		loadTime := time.Since(t0)
		ds.IDs, ds.Visible, ds.TagLinks = append(ds.IDs, more.IDs...), ds.Visible+more.Visible, ds.TagLinks+more.TagLinks
		sd.ids = ds.IDs
		fmt.Fprintf(log, "loaded in %s (%s, then VACUUM ANALYZE)\n", loadTime.Round(time.Millisecond), more.Phases)
		if cfg.Hold {
			fmt.Fprintf(stdout, "server:    %s (pid %d, log %s)\ndatabase:  %s\nsuperuser: %s\nCtrl-C to stop and clean up\n",
				e.url, e.server.cmd.Process.Pid, e.server.logPath, e.dsn, e.cluster.SuperDSN())
			<-ctx.Done()
			return true, nil
		}
		for _, sc := range scs {
			if sc.list != nil {
				if err := sd.checkSameAnswer(ctx, sc); err != nil {
					return false, fmt.Errorf("API, store and floor disagree: %w", err)
				}
			}
		}
		for _, sc := range scs {
			if strings.HasPrefix(sc.Name, "export") {
				if err := sd.countExports(ctx); err != nil {
					return false, err
				}
				break
			}
		}
		wire, err := sd.wireSizes(ctx)
		if err != nil {
			return false, err
		}

		var rows []row
		readRSS := int64(-1) // VmHWM before the first writing scenario
		for i, sc := range scs {
			if readRSS < 0 && writes[sc.Name] {
				if rss, err := e.server.peakRSS(); err == nil && i > 0 {
					readRSS = rss
				}
			}
			seed := cfg.Seed + int64(100*step+2*i)
			fmt.Fprintf(log, "%s: API…", sc.Name)
			drive(ctx, e.addr, cfg.Clients, 0, cfg.Warmup, seed, sc.API)
			cpu0, cpuErr0 := cpuTime(e.server.cmd.Process.Pid)
			apiStats := drive(ctx, e.addr, cfg.Clients, 0, cfg.Dur, seed, sc.API)
			cpu1, cpuErr1 := cpuTime(e.server.cmd.Process.Pid)
			fmt.Fprintf(log, " %.1f req/s; floor…", apiStats.Rate())
			floorStats := drive(ctx, e.addr, cfg.Clients, cfg.Warmup, cfg.Dur, seed+1, sc.Floor)
			fmt.Fprintf(log, " %.1f req/s\n", floorStats.Rate())
			if ctx.Err() != nil {
				return false, errors.New("interrupted")
			}
			r := row{Name: sc.Name, API: apiStats, Floor: floorStats, CPU: -1}
			if cpuErr0 == nil && cpuErr1 == nil && apiStats.Ops > 0 {
				r.CPU = (cpu1 - cpu0) / time.Duration(apiStats.Ops)
			}
			rows = append(rows, r)
			scaling = append(scaling, scaleRow{N: n, row: r})
		}
		rss, rssErr := e.server.peakRSS()

		fmt.Fprintf(stdout, "\n%d results (%d visible, %d tag links), the last %d loaded in %s; %d clients, %s per scenario and side after %s warm-up;\n",
			len(ds.IDs), ds.Visible, ds.TagLinks, len(more.IDs), loadTime.Round(time.Millisecond), cfg.Clients, cfg.Dur, cfg.Warmup)
		fmt.Fprintf(stdout, "DB_MAX_OPEN_CONNS=%d (the floor's pool the same); PostgreSQL %s; %s; %d CPUs; load average %s at start, %s now\n\n",
			cfg.Pool, pgVersion, runtime.Version(), runtime.NumCPU(), loadStart, loadAvg())
		printTable(stdout, rows)
		printThroughput(stdout, rows)
		if rssErr != nil {
			fmt.Fprintf(stdout, "\nserver peak RSS: unknown (%v)\n", rssErr)
		} else {
			fmt.Fprintf(stdout, "\nserver peak RSS (VmHWM) since start: %.1f MiB", float64(rss)/(1<<20))
			if readRSS > 0 {
				fmt.Fprintf(stdout, "; %.1f MiB before the first scenario that writes", float64(readRSS)/(1<<20))
			}
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "page of 100 (list) on the wire: %d bytes, %d with Accept-Encoding: gzip (%.1f×smaller)\n",
			wire.identity, wire.gzip, float64(wire.identity)/float64(max(wire.gzip, 1)))
		fmt.Fprintln(stdout, "\nrequests:")
		for _, sc := range scs {
			fmt.Fprintf(stdout, "  %-16s %s\n", sc.Name, sc.Request)
		}
		for _, r := range rows {
			for side, s := range map[string]stats{"API": r.API, "floor": r.Floor} {
				if s.Errors > 0 {
					ok = false
					fmt.Fprintf(stdout, "%s %s errors, e.g.: %s\n", r.Name, side, strings.Join(s.Samples, " | "))
				}
			}
		}
	}
	if len(cfg.sizes()) > 1 {
		fmt.Fprintln(stdout, "\nscaling:")
		printScaling(stdout, scaling)
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

// writes names the scenarios that write (uploads): the server's peak RSS
// is also reported as it was before the first of them, i.e. over the read
// scenarios that run first.
var writes = map[string]bool{"upload": true, "bulk": true}
