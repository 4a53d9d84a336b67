package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/schema"
	"github.com/eosc-perf/api/src/store"
	"github.com/google/uuid"
)

// scenario is one measured operation, as an HTTP request and as its floor
// (floor.go): the minimal SQL any implementation must run for it. To add
// a scenario, add an entry to the table in scenarios().
type scenario struct {
	Name    string
	Request string // what the API side sends, for the legend
	API     op
	Floor   op
	// List scenarios: the store arguments and the floor's SQL, to check
	// that the API, the store and the floor agree.
	list *listArgs
}

// listArgs are the arguments of a list scenario.
type listArgs struct {
	Path   string
	Filter perf.ResultFilter
	Sort   []perf.SortKey
	Floor  floorList
}

// Values of the filter scenarios: about half of the results have at least
// 8 cores; the two-filter scenario keeps roughly a third.
const (
	filterCores     = "machine.cpu.count >= 8"
	filterSelective = "result.score > 2450" // the slowest single-core runs, about 1 %
	filter2Cores    = "machine.cpu.count >= 4"
	filter2Score    = "result.score < 300"
	searchTerm      = "IFCA-LCG2"
	executedAfter   = "2025-01-01"
)

// firstPage is page 1 of 100, what the list scenarios ask for.
var firstPage = perf.Page{Number: 1, PerPage: 100}

// sides holds what the scenarios call.
type sides struct {
	http    *http.Client // for the checks; the scenarios use each client's conn
	base    string
	st      *store.Store
	floor   *sql.DB // the floor's own pool (lib/pq, as the server)
	schemas *schema.Cache
	cat     catalog
	ids     []uuid.UUID
	samples []sample
	// exportPath is the export scenarios' NDJSON request (extensions.go).
	exportPath string
}

// scenarios returns the scenarios in the order they run.
func (s *sides) scenarios() ([]scenario, error) {
	f1, err := perf.ParseFilters([]string{filterCores})
	if err != nil {
		return nil, err
	}
	fSel, err := perf.ParseFilters([]string{filterSelective})
	if err != nil {
		return nil, err
	}
	f2, err := perf.ParseFilters([]string{filter2Cores, filter2Score})
	if err != nil {
		return nil, err
	}
	after, err := time.Parse(time.DateOnly, executedAfter)
	if err != nil {
		return nil, err
	}
	site, tag := s.cat.Flavors[0].SiteID, s.cat.Tags[0]
	byExec := []perf.SortKey{{Field: "execution_datetime"}}
	const visible, execOrder = "NOT r.deleted", "r.execution_datetime, r.id"
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	lists := []struct {
		name string
		args listArgs
	}{
		// GET /results sorts by +execution_datetime when sort_by is absent;
		// :search has no default sort (the store adds the id tie-break).
		{"list", listArgs{Path: "/results?per_page=100", Sort: byExec, Floor: floorList{Where: visible, Order: execOrder}}},
		{"list-catalog", listArgs{Path: "/results?" + q("per_page", "100", "site_id", site.String(), "tags_ids", tag.String(),
			"execution_after", executedAfter),
			Filter: perf.ResultFilter{SiteID: &site, TagIDs: []uuid.UUID{tag}, Executed: perf.DateRange{After: &after}}, Sort: byExec,
			Floor: floorList{Where: visible + ` AND r.site_id = $1 AND r.execution_datetime > $2
				AND EXISTS (SELECT 1 FROM result_tags rt WHERE rt.result_id = r.id AND rt.tag_id = $3)`,
				Order: execOrder, Args: []any{site, after, tag}}}},
		{"filter", listArgs{Path: "/results?" + q("per_page", "100", "filters", filterCores),
			Filter: perf.ResultFilter{Filters: f1}, Sort: byExec,
			Floor: floorList{Where: visible + ` AND (r.json #> '{machine,cpu,count}')::numeric >= 8`, Order: execOrder}}},
		{"filter-selective", listArgs{Path: "/results?" + q("per_page", "100", "filters", filterSelective),
			Filter: perf.ResultFilter{Filters: fSel}, Sort: byExec,
			Floor: floorList{Where: visible + ` AND (r.json #> '{result,score}')::numeric > 2450`, Order: execOrder}}},
		{"filter2-sort", listArgs{Path: "/results?" + q("per_page", "100", "filters", filter2Cores, "filters", filter2Score,
			"sort_by", "-json.result.score"),
			Filter: perf.ResultFilter{Filters: f2}, Sort: []perf.SortKey{{Field: "json", JSONPath: []string{"result", "score"}, Desc: true}},
			Floor: floorList{Where: visible + ` AND (r.json #> '{machine,cpu,count}')::numeric >= 4 AND (r.json #> '{result,score}')::numeric < 300`,
				Order: `r.json #> '{result,score}' DESC, r.id`}}},
		{"search", listArgs{Path: "/results:search?" + q("terms", searchTerm), Filter: perf.ResultFilter{Terms: []string{searchTerm}},
			Floor: floorList{Where: visible + ` AND (EXISTS (SELECT 1 FROM benchmark b WHERE b.id = r.benchmark_id AND (b.docker_image || ':' || b.docker_tag) LIKE $1)
				OR EXISTS (SELECT 1 FROM site s WHERE s.id = r.site_id AND (s.name LIKE $1 OR s.address LIKE $1))
				OR EXISTS (SELECT 1 FROM flavor f WHERE f.id = r.flavor_id AND f.name LIKE $1)
				OR EXISTS (SELECT 1 FROM result_tags rt JOIN tag t ON t.id = rt.tag_id WHERE rt.result_id = r.id AND t.name = $2))`,
				Order: "r.id", Args: []any{"%" + searchTerm + "%", searchTerm}}}},
	}
	var out []scenario
	for _, l := range lists {
		args := l.args
		out = append(out, scenario{Name: l.name, Request: "GET " + args.Path, list: &args,
			API: func(ctx context.Context, c *client) error { return s.get(ctx, c, args.Path) },
			Floor: func(ctx context.Context, _ *client) error {
				_, err := floorQuery(ctx, s.floor, args.Floor)
				return err
			}})
	}
	out = append(out, scenario{Name: "get", Request: "GET /results/{random id}",
		API: func(ctx context.Context, c *client) error {
			return s.get(ctx, c, "/results/"+s.ids[c.rng.Intn(len(s.ids))].String())
		},
		Floor: func(ctx context.Context, c *client) error {
			return floorGet(ctx, s.floor, s.ids[c.rng.Intn(len(s.ids))])
		}})
	out = append(out, scenario{Name: "upload", Request: "POST /results?benchmark_id=…&flavor_id=…&execution_datetime=… {random sample}",
		API: s.uploadAPI, Floor: func(ctx context.Context, c *client) error {
			return floorInsert(ctx, s.floor, s.newUpload(c.rng), s.cat)
		}})
	return out, nil
}

// get sends an anonymous GET on c's connection and reads the whole answer.
func (s *sides) get(ctx context.Context, c *client, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	if err != nil {
		return err
	}
	return c.http.do(ctx, req)
}

// upload is one random upload: a sample document, a flavor of its site,
// an execution time in the past year with a time zone, maybe a tag.
type upload struct {
	doc    []byte
	flavor flavorRef
	exec   time.Time
	tags   []uuid.UUID
}

var cest = time.FixedZone("CEST", 2*60*60)

func (s *sides) newUpload(rng *rand.Rand) upload {
	smp := s.samples[rng.Intn(len(s.samples))]
	var fl []flavorRef
	for _, f := range s.cat.Flavors {
		if f.Site.Key == smp.Site {
			fl = append(fl, f)
		}
	}
	if len(fl) == 0 {
		fl = s.cat.Flavors
	}
	u := upload{doc: smp.Raw, flavor: fl[rng.Intn(len(fl))],
		exec: time.Now().Add(-time.Duration(rng.Int63n(int64(365 * 24 * time.Hour)))).In(cest).Truncate(time.Second)}
	if rng.Intn(2) == 0 {
		u.tags = []uuid.UUID{s.cat.Tags[rng.Intn(len(s.cat.Tags))]}
	}
	return u
}

// uploadAPI is POST /results as the registered user.
func (s *sides) uploadAPI(ctx context.Context, c *client) error {
	u := s.newUpload(c.rng)
	v := url.Values{"benchmark_id": {s.cat.BenchmarkID.String()}, "flavor_id": {u.flavor.ID.String()},
		"execution_datetime": {u.exec.Format(time.RFC3339)}}
	for _, t := range u.tags {
		v.Add("tags_ids", t.String())
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/results?"+v.Encode(), bytes.NewReader(u.doc))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cat.UserToken)
	return c.http.do(ctx, req)
}

// checkSameAnswer fails unless a list scenario's API answer and the store's
// have the same total and the same ids on the first page, and the floor
// counts the same total: proof that the sides answer the same question.
func (s *sides) checkSameAnswer(ctx context.Context, sc scenario) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+sc.list.Path, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", sc.list.Path, resp.StatusCode, body)
	}
	var page struct {
		Total int `json:"total"`
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return err
	}
	l, err := s.st.ListResults(ctx, sc.list.Filter, sc.list.Sort, firstPage)
	if err != nil {
		return err
	}
	apiIDs := make([]uuid.UUID, len(page.Items))
	for i, it := range page.Items {
		apiIDs[i] = it.ID
	}
	sqlIDs := make([]uuid.UUID, len(l.Items))
	for i, it := range l.Items {
		sqlIDs[i] = it.ID
	}
	switch {
	case page.Total != l.Total:
		return fmt.Errorf("%s: API total %d, store total %d", sc.Name, page.Total, l.Total)
	case !slices.Equal(apiIDs, sqlIDs):
		return fmt.Errorf("%s: API and store pages differ", sc.Name)
	case page.Total == 0:
		return errors.New(sc.Name + ": matches nothing; the scenario would measure nothing")
	}
	floorTotal, err := floorQuery(ctx, s.floor, sc.list.Floor)
	if err != nil {
		return err
	}
	if floorTotal != page.Total {
		return fmt.Errorf("%s: API total %d, floor total %d", sc.Name, page.Total, floorTotal)
	}
	return nil
}
