package main

// Scenarios of the extensions (EXTENSIONS.md X2–X4): statistics, bulk
// upload and export, measured as the other scenarios (API and store side), and
// reported in results per second beside the single-result upload.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/store"
	"github.com/google/uuid"
)

// bulkLines is the number of results in one bulk upload of the scenario.
const bulkLines = 1000

// exportDays selects what the export scenarios export: the results run in
// the last exportDays days (about 1/18 of the generated data, which spans
// three years).
const exportDays = 60

// perOp holds how many results one operation of a scenario moves, by
// scenario name (bulk: lines; export: rows of the export).
var perOp = map[string]int{}

// extensionScenarios returns the bulk and export scenarios. The bulk
// upload authenticates with a personal access token of scope
// results:write, as a benchmark pipeline would.
func (s *sides) extensionScenarios(ctx context.Context) ([]scenario, error) {
	pat, err := s.createPAT(ctx)
	if err != nil {
		return nil, err
	}
	after := time.Now().UTC().AddDate(0, 0, -exportDays).Format("2006-01-02")
	exportFilter := perf.ResultFilter{Executed: perf.DateRange{After: ptr(time.Now().UTC().AddDate(0, 0, -exportDays).Truncate(24 * time.Hour))}}
	byExec := []perf.SortKey{{Field: "execution_datetime"}}
	csvQuery := url.Values{"execution_after": {after}, "format": {"csv"}, "columns": {"result.score", "machine.cpu.count"}}
	ndjsonPath := "/results:export?execution_after=" + after
	csvPath := "/results:export?" + csvQuery.Encode()
	perOp["bulk"] = bulkLines
	// The export's size is counted after each load (countExports).
	s.exportPath = ndjsonPath
	exportSQL := func(columns [][]string) op {
		return func(ctx context.Context, _ *client) error {
			return s.st.ExportResults(ctx, exportFilter, byExec, columns, 1<<30, func(int) error { return nil },
				func(perf.Result, []string) error { return nil })
		}
	}
	statsPath := "/results:stats?metric=result.score&group_by=site"
	return []scenario{
		{Name: "stats", Request: "GET " + statsPath + " (every visible result)",
			API: func(ctx context.Context, c *client) error { return s.get(ctx, c, statsPath) },
			Floor: func(ctx context.Context, _ *client) error {
				_, err := s.st.ResultStats(ctx, perf.ResultFilter{}, []string{"result", "score"}, perf.GroupSite)
				return err
			}},
		{Name: "bulk", Request: fmt.Sprintf("POST /results:bulk?atomic=true (PAT, %d NDJSON lines of random samples)", bulkLines),
			API: func(ctx context.Context, c *client) error { return s.bulkAPI(ctx, c, pat) }, Floor: s.bulkSQL},
		{Name: "export-ndjson", Request: fmt.Sprintf("GET %s (the last %d days)", ndjsonPath, exportDays),
			API: func(ctx context.Context, c *client) error { return s.get(ctx, c, ndjsonPath) }, Floor: exportSQL(nil)},
		{Name: "export-csv", Request: fmt.Sprintf("GET %s (the last %d days)", csvPath, exportDays),
			API:   func(ctx context.Context, c *client) error { return s.get(ctx, c, csvPath) },
			Floor: exportSQL([][]string{{"result", "score"}, {"machine", "cpu", "count"}})},
	}, nil
}

func ptr[T any](v T) *T { return &v }

// createPAT makes the load user's personal access token.
func (s *sides) createPAT(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]any{"name": "load runner", "scopes": []string{"results:write"}})
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/users/self/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cat.UserToken)
	resp, err := s.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create a personal access token: status %d, %v", resp.StatusCode, err)
	}
	return tok.Token, nil
}

// countLines exports once and counts the lines, for the results/s figure.
// countExports counts, once the results are loaded, how many results one
// export of the export scenarios moves.
func (s *sides) countExports(ctx context.Context) error {
	n, err := s.countLines(ctx, s.exportPath)
	if err != nil {
		return err
	}
	perOp["export-ndjson"], perOp["export-csv"] = n, n
	return nil
}

func (s *sides) countLines(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return 0, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("GET %s exports nothing; the scenario would measure nothing", path)
	}
	return n, sc.Err()
}

// bulkAPI uploads bulkLines random results in one request, all or nothing
// (a failing line is a 422, so an error of the scenario).
func (s *sides) bulkAPI(ctx context.Context, c *client, pat string) error {
	var b bytes.Buffer
	for range bulkLines {
		u := s.newUpload(c.rng)
		line := map[string]any{"benchmark_id": s.cat.BenchmarkID, "flavor_id": u.flavor.ID,
			"execution_datetime": u.exec.Format(time.RFC3339), "json": json.RawMessage(u.doc)}
		if len(u.tags) > 0 {
			line["tags_ids"] = u.tags
		}
		enc, err := json.Marshal(line)
		if err != nil {
			return err
		}
		b.Write(enc)
		b.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/results:bulk?atomic=true", &b)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+pat)
	return c.http.do(ctx, req)
}

// bulkSQL is what handleResultBulk asks of the store for the same lines.
func (s *sides) bulkSQL(ctx context.Context, c *client) error {
	lines := make([]store.BulkLine, bulkLines)
	for i := range lines {
		u := s.newUpload(c.rng)
		lines[i].New = perf.NewResult{ID: uuid.New(), UploadDatetime: perf.Now(), ExecutionDatetime: u.exec.UTC(), JSON: u.doc,
			BenchmarkID: s.cat.BenchmarkID, FlavorID: u.flavor.ID, TagIDs: u.tags,
			Uploader: perf.Uploader{UploaderSub: s.cat.UserSub, UploaderIss: s.cat.UserIss}}
	}
	n, err := s.st.CreateResults(ctx, lines, true, func(b perf.Benchmark, doc json.RawMessage) error {
		sch, err := s.schemas.Get(b.ID, b.JSONSchema)
		if err != nil {
			return err
		}
		return sch.Validate(doc)
	})
	if err == nil && n != bulkLines {
		err = fmt.Errorf("bulk: %d of %d stored", n, bulkLines)
	}
	return err
}

// printThroughput writes results per second for the scenarios that move
// many results per request, beside the single-result upload.
func printThroughput(w io.Writer, rows []row) {
	var lines []string
	for _, r := range rows {
		k, ok := perOp[r.Name]
		if r.Name == "upload" {
			k, ok = 1, true
		}
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("  %-14s %9.0f results/s through the API, %9.0f on the store alone (%d per request)",
			r.Name, r.API.Rate()*float64(k), r.Floor.Rate()*float64(k), k))
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\nthroughput in results:")
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
}
