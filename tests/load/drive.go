package main

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"time"
)

// opTimeout bounds a single request or store call.
const opTimeout = 30 * time.Second

// maxErrorSamples is how many error texts a run keeps for the report.
const maxErrorSamples = 3

// stats is the outcome of one side of a scenario.
type stats struct {
	Ops     int // successful operations
	Errors  int
	Elapsed time.Duration
	Lat     []time.Duration // of the successful operations, sorted
	Samples []string        // the first few error texts
}

// Rate is successful operations per second.
func (s stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Ops) / s.Elapsed.Seconds()
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the latencies,
// nearest-rank.
func (s stats) Percentile(p float64) time.Duration {
	if len(s.Lat) == 0 {
		return 0
	}
	rank := int(float64(len(s.Lat))*p/100+0.999999) - 1
	return s.Lat[min(max(rank, 0), len(s.Lat)-1)]
}

// client is one of the concurrent clients of a scenario: its random source
// and its connection to the server (unused by the SQL side).
type client struct {
	rng  *rand.Rand
	http *conn
}

// op is one operation of a scenario, made by client c.
type op func(ctx context.Context, c *client) error

// drive runs op from clients goroutines: for warmup without measuring,
// then for dur. Each client has its own random source (seeded from seed),
// so runs repeat, and its own keep-alive connection to addr. Operations
// started before the deadline finish and count; Elapsed runs until the
// last one ends.
func drive(ctx context.Context, addr string, clients int, warmup, dur time.Duration, seed int64, do op) stats {
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = &client{rng: rand.New(rand.NewSource(seed*1000 + int64(i))), http: &conn{addr: addr}}
		defer cs[i].http.close()
	}
	if warmup > 0 {
		phase(ctx, cs, warmup, do)
	}
	return phase(ctx, cs, dur, do)
}

// phase is one timed run of all clients.
func phase(ctx context.Context, cs []*client, dur time.Duration, do op) stats {
	type worker struct {
		lat     []time.Duration
		errors  int
		samples []string
	}
	workers := make([]worker, len(cs))
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &workers[i]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				octx, cancel := context.WithTimeout(ctx, opTimeout)
				t0 := time.Now()
				err := do(octx, cs[i])
				d := time.Since(t0)
				cancel()
				if ctx.Err() != nil {
					return // interrupted: neither a result nor an error
				}
				if err != nil {
					w.errors++
					if len(w.samples) < maxErrorSamples {
						w.samples = append(w.samples, err.Error())
					}
					continue
				}
				w.lat = append(w.lat, d)
			}
		}()
	}
	wg.Wait()
	s := stats{Elapsed: time.Since(start)}
	for _, w := range workers {
		s.Lat = append(s.Lat, w.lat...)
		s.Errors += w.errors
		for _, e := range w.samples {
			if len(s.Samples) < maxErrorSamples {
				s.Samples = append(s.Samples, e)
			}
		}
	}
	s.Ops = len(s.Lat)
	slices.Sort(s.Lat)
	return s
}

// row is one line of the table: a scenario through the API and its
// floor, and the server's CPU time per API request (-1: unknown).
type row struct {
	Name       string
	API, Floor stats
	CPU        time.Duration
}

// scaleRow is a row measured with N results loaded.
type scaleRow struct {
	N int
	row
}

// printTable writes the result table.
func printTable(w io.Writer, rows []row) {
	header := []string{"scenario", "API req/s", "floor req/s", "API/floor", "p50", "p99", "floor p99", "CPU/req", "errors"}
	cells := [][]string{header}
	for _, r := range rows {
		errs := "0"
		if r.API.Errors+r.Floor.Errors > 0 {
			errs = fmt.Sprintf("%d API, %d floor", r.API.Errors, r.Floor.Errors)
		}
		cells = append(cells, []string{r.Name, fmt.Sprintf("%.1f", r.API.Rate()), fmt.Sprintf("%.1f", r.Floor.Rate()), ratio(r),
			ms(r.API.Percentile(50)), ms(r.API.Percentile(99)), ms(r.Floor.Percentile(99)), cpu(r.CPU), errs})
	}
	printCells(w, cells)
}

// printScaling writes one line per scenario and size.
func printScaling(w io.Writer, rows []scaleRow) {
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b scaleRow) int { return strings.Compare(a.Name, b.Name) })
	cells := [][]string{{"scenario", "results", "API req/s", "p50", "p99", "CPU/req", "API/floor"}}
	for _, r := range sorted {
		cells = append(cells, []string{r.Name, fmt.Sprint(r.N), fmt.Sprintf("%.1f", r.API.Rate()), ms(r.API.Percentile(50)),
			ms(r.API.Percentile(99)), cpu(r.CPU), ratio(r.row)})
	}
	printCells(w, cells)
}

func ratio(r row) string {
	if r.Floor.Rate() <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.API.Rate()/r.Floor.Rate())
}

func cpu(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// printCells writes a Markdown table: text left-aligned, numbers right.
func printCells(w io.Writer, cells [][]string) {
	widths := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, v := range c {
			widths[i] = max(widths[i], len([]rune(v)))
		}
	}
	line := func(c []string) {
		parts := make([]string, len(c))
		for i, v := range c {
			pad := strings.Repeat(" ", widths[i]-len([]rune(v)))
			if i == 0 || i == len(c)-1 && !strings.ContainsAny(v[:1], "0123456789-") {
				parts[i] = v + pad
			} else {
				parts[i] = pad + v
			}
		}
		fmt.Fprintln(w, "| "+strings.Join(parts, " | ")+" |")
	}
	line(cells[0])
	sep := make([]string, len(widths))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	fmt.Fprintln(w, "|-"+strings.Join(sep, "-|-")+"-|")
	for _, c := range cells[1:] {
		line(c)
	}
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
