// Command load is the load benchmark of the results API (issues 5 and 11):
// it measures the real server over HTTP against the floor of each scenario,
// the minimal SQL any implementation must run, sent directly to PostgreSQL,
// so that everything the service adds shows as a ratio.
//
// Run it from the repository root:
//
//	go run ./tests/load            # 100,000 results, 16 clients, 10 s per scenario
//	go run ./tests/load -quick     # smoke run: 2,000 results, 2 s per scenario
//
// What it does, all on 127.0.0.1 and all thrown away at the end (also on
// Ctrl-C):
//
//  1. starts a throwaway PostgreSQL cluster (src/pgtest) with one database,
//     and an in-process OpenID provider (src/oidctest) whose CA goes to the
//     server through a temporary OIDC_CA_FILE;
//  2. builds ./src/cmd/eosc-perf-api into a temporary directory and starts
//     `eosc-perf-api serve` as a separate process in production mode
//     (FLASK_ENV=production, BENCHMARK_IMAGE_CHECK=off, LOG_LEVEL=warn), then
//     waits for /readyz;
//  3. through the API: registers a user and an administrator, creates and
//     approves the c-ray benchmark (the schema embedded in src/samples),
//     the sites and flavors of testdata/machine-flavors.txt (plus
//     the VirtualboxTestbed site of the result-N.json files) and a few tags;
//  4. bulk-loads -n results with COPY, built from the 25 sample result files
//     with varied values (machine.cpu.count from the flavor, result.score and
//     result.all_results scaled to it and jittered), spread over the flavors,
//     three years of execution times and the tags (about 1 % soft-deleted),
//     then runs VACUUM ANALYZE;
//  5. for each scenario drives the API with -c concurrent clients for -d
//     (after an unmeasured -warmup), reading the server's CPU time
//     (/proc/<pid>/stat) before and after, then runs the scenario's floor
//     with the same concurrency and duration: the minimal SQL any
//     implementation must run for it (the page's documents and its total,
//     the row, the insert), sent directly with lib/pq on a pool of the
//     server's size and scanned into bytes, not through the store (see
//     floor.go);
//  6. prints one table — scenario, API req/s, floor req/s, their ratio,
//     p50 and p99 of the API latencies, the floor's p99, the server's CPU
//     time per request, errors (non-2xx answers, transport and database
//     errors of both sides) — the server's peak RSS (VmHWM of
//     /proc/<pid>/status) and the size of a page of 100 on the wire with and
//     without gzip.
//
// With -scale the results are loaded in steps (e.g. 10,000, then 100,000,
// then 1,000,000) and the table is printed at each step, then a scaling
// table of every scenario at every size.
//
// Scenarios (the table in scenarios.go; add one there): list (GET
// /results?per_page=100), list-catalog (site, tag and execution-date
// filters), filter (one number filter, half the results), filter-selective
// (one number filter, about 1 %), filter2-sort (two number filters, sorted
// by a JSON path), search (GET /results:search?terms=IFCA-LCG2), get
// (random ids), upload (POST /results of a random sample document,
// validated against the schema). Before measuring, each list scenario is
// checked to give the same total and first page through the API as
// through the store, and the same total through the floor.
//
// The exit status is non-zero when a scenario had errors or the set-up
// failed. Flags:
//
//	-n int          results to load (default 100000; -quick: 2000)
//	-c int          concurrent clients per scenario (default 16)
//	-d duration     measuring time per scenario and side (default 10s; -quick: 2s)
//	-warmup dur     unmeasured run before each side of a scenario (default 1s; -quick: 200ms)
//	-pool int       DB_MAX_OPEN_CONNS of the server and size of the floor's pool (default 20)
//	-quick          smoke run (sets -n, -d and -warmup unless given)
//	-run regexp     run only the scenarios whose name matches
//	-scale list     ascending numbers of results to load and measure in turn (overrides -n)
//	-seed int       seed of the generated data and request choices (default 1)
//	-keep-log       print the server's log at the end even on success
//	-server-bin f   run this server binary instead of building ./src/cmd/eosc-perf-api
//	                (e.g. a local build with profiling)
//	-hold           after loading, print the server and database URLs and wait
//	                for Ctrl-C instead of measuring (for EXPLAIN and profiling)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	N       int
	Clients int
	Dur     time.Duration
	Warmup  time.Duration
	Pool    int
	Quick   bool
	Run     *regexp.Regexp
	Seed    int64
	KeepLog bool
	Hold    bool
	Server  string
	Scale   []int // -scale: sizes to measure in turn, else just N
}

// sizes returns the numbers of results to measure at, ascending.
func (c config) sizes() []int {
	if len(c.Scale) > 0 {
		return c.Scale
	}
	return []int{c.N}
}

// Limits that keep a run bounded whatever the flags say.
const (
	maxDuration = 5 * time.Minute
	maxClients  = 1024
	maxResults  = 5_000_000
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags and runs the benchmark; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	ok, err := benchmark(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	if !ok {
		fmt.Fprintln(stderr, "load: some scenarios had errors")
		return 1
	}
	return 0
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run ./tests/load [flags]

Starts a throwaway PostgreSQL, an OpenID provider and the real server, loads
-n results and measures each scenario over HTTP and directly on the store.
Flags:
`)
		fs.PrintDefaults()
	}
	cfg := config{}
	fs.IntVar(&cfg.N, "n", 100000, "results to load (-quick: 2000)")
	fs.IntVar(&cfg.Clients, "c", 16, "concurrent clients per scenario")
	fs.DurationVar(&cfg.Dur, "d", 10*time.Second, "measuring time per scenario and side (-quick: 2s)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured run before each side of a scenario (-quick: 200ms)")
	fs.IntVar(&cfg.Pool, "pool", 20, "DB_MAX_OPEN_CONNS of the server and size of the floor's pool")
	fs.BoolVar(&cfg.Quick, "quick", false, "smoke run: -n 2000 -d 2s -warmup 200ms unless given")
	run := fs.String("run", "", "run only the scenarios whose name matches this regular expression")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the generated data and of the request choices")
	fs.BoolVar(&cfg.KeepLog, "keep-log", false, "print the server's log at the end even on success")
	fs.StringVar(&cfg.Server, "server-bin", "", "run this server binary instead of building ./src/cmd/eosc-perf-api (e.g. a local build with profiling)")
	scale := fs.String("scale", "", "comma-separated ascending numbers of results (e.g. 10000,100000,1000000): load and measure at each in turn, then print the scaling table (overrides -n)")
	fs.BoolVar(&cfg.Hold, "hold", false, "after loading, print the server and database URLs and wait for Ctrl-C instead of measuring")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if cfg.Quick {
		if !given["n"] {
			cfg.N = 2000
		}
		if !given["d"] {
			cfg.Dur = 2 * time.Second
		}
		if !given["warmup"] {
			cfg.Warmup = 200 * time.Millisecond
		}
	}
	if *scale != "" {
		for _, f := range strings.Split(*scale, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > maxResults || len(cfg.Scale) > 0 && n <= cfg.Scale[len(cfg.Scale)-1] {
				return cfg, fmt.Errorf("-scale: %q is not an ascending list of numbers between 1 and %d", *scale, maxResults)
			}
			cfg.Scale = append(cfg.Scale, n)
		}
	}
	re, err := regexp.Compile(*run)
	if err != nil {
		return cfg, fmt.Errorf("-run: %w", err)
	}
	cfg.Run = re
	switch {
	case cfg.N < 1 || cfg.N > maxResults:
		return cfg, fmt.Errorf("-n must be between 1 and %d", maxResults)
	case cfg.Clients < 1 || cfg.Clients > maxClients:
		return cfg, fmt.Errorf("-c must be between 1 and %d", maxClients)
	case cfg.Dur <= 0 || cfg.Dur > maxDuration:
		return cfg, fmt.Errorf("-d must be positive and at most %s", maxDuration)
	case cfg.Warmup < 0 || cfg.Warmup > maxDuration:
		return cfg, fmt.Errorf("-warmup must be between 0 and %s", maxDuration)
	case cfg.Pool < 1 || cfg.Pool > 250: // pgtest allows 300 connections
		return cfg, errors.New("-pool must be between 1 and 250")
	}
	return cfg, nil
}
