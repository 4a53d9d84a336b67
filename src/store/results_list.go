package store

// Listing results: the filter, the count and the page queries.

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
)

// resultWhere renders a result filter on the alias r only (joined tables
// are reached through EXISTS), so the count query needs no joins.
//
// noRecheck and small are as for jsonFiltersKnown (nil: not known).
func resultWhere(f perf.ResultFilter, noRecheck, small []bool) *where {
	var w where
	if !f.IncludeDeleted {
		w.conds = append(w.conds, "NOT r.deleted")
	}
	if f.Uploader != nil {
		w.add("r.uploader_sub = %s AND r.uploader_iss = %s", f.Uploader.UploaderSub, f.Uploader.UploaderIss)
	}
	w.dates("r.upload_datetime", f.Uploaded)
	w.dates("r.execution_datetime", f.Executed)
	eq(&w, "r.benchmark_id", f.BenchmarkID)
	eq(&w, "r.site_id", f.SiteID)
	eq(&w, "r.flavor_id", f.FlavorID)
	for _, id := range f.TagIDs {
		w.add("EXISTS (SELECT 1 FROM result_tags rt WHERE rt.result_id = r.id AND rt.tag_id = %s)", id)
	}
	jsonFiltersKnown(&w, f.Filters, noRecheck, small)
	// :search (API.md §3.9): each term is a substring of the benchmark name
	// (image:tag), the site name or address or the flavor name, or exactly
	// the name of one of the result's tags.
	for _, term := range f.Terms {
		like := w.arg("%" + likeEscape(term) + "%")
		exact := w.arg(term)
		w.conds = append(w.conds, `(EXISTS (SELECT 1 FROM benchmark b WHERE b.id = r.benchmark_id AND (b.docker_image || ':' || b.docker_tag) LIKE `+like+`)
			OR EXISTS (SELECT 1 FROM site s WHERE s.id = r.site_id AND (s.name LIKE `+like+` OR s.address LIKE `+like+`))
			OR EXISTS (SELECT 1 FROM flavor f WHERE f.id = r.flavor_id AND f.name LIKE `+like+`)
			OR EXISTS (SELECT 1 FROM result_tags rt JOIN tag t ON t.id = rt.tag_id WHERE rt.result_id = r.id AND t.name = `+exact+`))`)
	}
	return &w
}

// ListResults returns one page of the results that match f, sorted by
// sort then id, with the exact number of matches. See resultPage for the
// queries and what they cost.
func (s *Store) ListResults(ctx context.Context, f perf.ResultFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Result], error) {
	l := perf.List[perf.Result]{Page: p}
	var db sqlx.QueryerContext = s.db
	var noRecheck, small []bool
	release := func() {}
	if slices.ContainsFunc(f.Filters, leafFilter) {
		// How the leaf index answers each filter (leafPlan), and the page,
		// read in one snapshot, so that the indexed-only conditions are
		// exact.
		tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return l, mapError(err, "begin")
		}
		defer tx.Rollback() //nolint:errcheck // read only; a no-op after release
		// Released before the catalog may be read: a request must never
		// hold one pooled connection while waiting for another.
		release = func() { _ = tx.Rollback() }
		if noRecheck, small, err = leafPlan(ctx, tx, f.Filters); err != nil {
			return l, err
		}
		db = tx
	}
	w := resultWhere(f, noRecheck, small)
	nFilter := len(w.args) // the count takes the filter's parameters only
	count := func() error {
		if q, args, ok := countedTotal(f); ok {
			return mapError(sqlx.GetContext(ctx, db, &l.Total, q, args...), "count results")
		}
		err := sqlx.GetContext(ctx, db, &l.Total, `SELECT count(*) FROM result r`+w.sql(), w.args[:nFilter]...)
		return mapError(err, "count results")
	}
	onePass := len(f.Filters) > 0 || len(f.Terms) > 0
	if !onePass {
		if err := count(); err != nil {
			return l, err
		}
		if l.Total <= p.Offset() {
			return l, nil
		}
	}
	q, err := resultPage(w, sort, p, onePass)
	if err != nil {
		return l, err
	}
	rows, err := s.selectPage(ctx, db, q, w.args, p.PerPage)
	if err != nil {
		return l, err
	}
	if onePass {
		switch {
		case len(rows) > 0:
			l.Total = rows[0].Total
		case p.Offset() == 0 && p.PerPage > 0:
			l.Total = 0 // an empty first page: nothing matches
		default:
			// Past the end: the total came with no row.
			return l, count()
		}
	}
	release()
	rs := make([]resultRow, len(rows))
	for i, r := range rows {
		rs[i] = r.resultRow
	}
	l.Items, err = s.results(ctx, rs)
	return l, err
}

// countedTotal returns the query of f's total from result_count (migration
// 00011) when f selects visible results by benchmark, site and flavor at
// most: a sum over a few rows, exact, instead of a count over every match.
func countedTotal(f perf.ResultFilter) (string, []any, bool) {
	rest := f
	rest.BenchmarkID, rest.SiteID, rest.FlavorID = nil, nil, nil
	// An empty list is no condition: the handlers pass empty, non-nil
	// slices, which DeepEqual would tell from nil.
	if len(rest.TagIDs) == 0 {
		rest.TagIDs = nil
	}
	if len(rest.Filters) == 0 {
		rest.Filters = nil
	}
	if len(rest.Terms) == 0 {
		rest.Terms = nil
	}
	if !reflect.DeepEqual(rest, perf.ResultFilter{}) { // also any field added later
		return "", nil, false
	}
	var w where
	eq(&w, "benchmark_id", f.BenchmarkID)
	eq(&w, "site_id", f.SiteID)
	eq(&w, "flavor_id", f.FlavorID)
	return `SELECT COALESCE(sum(n), 0) FROM result_count` + w.sql(), w.args, true
}

// resultPageRow is a row of resultPage: a result and, in one pass, the
// number of matches.
type resultPageRow struct {
	resultRow
	Total int `db:"total"`
}

// resultPage renders the query of a page of results matching w, sorted by
// keys then id. Measured with EXPLAIN ANALYZE and \timing on 100,000 results
// built from shared/data/sample-results (tests/load; PostgreSQL 15, one
// backend, no parallel workers, warm cache):
//
// The page's ids are selected first, carrying only the sort keys, and the
// full rows are read for those ids alone. Reading the full rows directly
// made PostgreSQL evaluate r.json::text and the joins for every match
// before the top-N sort: two number filters (42,000 matches) sorted by
// -json.result.score took 660 ms, ids first 360 ms. Without a filter the
// inner query is an index-only scan of result_visible_execution_datetime_idx
// (page 2.6 ms, planning 0.8 ms).
//
// onePass returns the total (column total) from the same scan: the matches'
// ids and sort keys are materialised once, then counted and sorted. It is
// for the filters only a scan of every visible result can evaluate (JSON
// filters, :search terms), where the count scans once and the page query
// may scan again. One pass against count + page:
//
//   - two number filters, -json.result.score: 160 ms against 138 + 150 ms;
//   - machine.cpu.count >= 8 (32,000 matches), default sort: 130 ms against
//     108 + 4 ms: dense matches let the page query walk the execution-time
//     index and stop after 100, so one pass costs ~15 % more here;
//   - result.score > 2610 (12 matches), default sort: 95 ms against
//     105 + 270 ms: the page query walked the whole execution-time index
//     (the planner guesses 0.5 % selectivity for a JSON filter);
//   - :search IFCA-LCG2 (21,600 matches): 25-37 ms against 23 + 9 ms.
//
// So one pass bounds every such page by one scan. The total comes with the
// rows; an empty first page means no match, and only a page past the end
// costs a second scan (the count).
func resultPage(w *where, keys []perf.SortKey, p perf.Page, onePass bool) (string, error) {
	var cols string
	var inner, byName, outer []string
	joins := sortJoins(keys)
	for i, k := range keys {
		var expr string
		if k.Field == "json" && len(k.JSONPath) > 0 {
			expr = w.jsonKey(k.JSONPath)
		} else {
			var ok bool
			if expr, ok = resultSort[k.Field]; !ok {
				return "", fmt.Errorf("store: no sort column for %q", k.Field)
			}
		}
		name := "k" + strconv.Itoa(i)
		dir := ""
		if k.Desc {
			dir = " DESC"
		}
		cols += ", " + expr + " AS " + name
		inner = append(inner, expr+dir)
		byName = append(byName, name+dir)
		outer = append(outer, "p."+name+dir)
	}
	inner, byName, outer = append(inner, "r.id"), append(byName, "id"), append(outer, "p.id")
	matches := `SELECT r.id` + cols + ` FROM result r` + joins + w.sql()
	rows := ` p JOIN result r ON r.id = p.id ORDER BY ` + strings.Join(outer, ", ")
	if onePass {
		return `WITH m AS MATERIALIZED (` + matches + `) ` + resultColumns + `, (SELECT count(*) FROM m) AS total
	FROM (SELECT * FROM m ORDER BY ` + strings.Join(byName, ", ") + w.limit(p) + `)` + rows, nil
	}
	return resultColumns + `
	FROM (` + matches + ` ORDER BY ` + strings.Join(inner, ", ") + w.limit(p) + `)` + rows, nil
}

// sortJoins joins the tables the sort keys need (resultSortTable), once each.
func sortJoins(keys []perf.SortKey) string {
	var joins string
	joined := map[string]bool{}
	for _, k := range keys {
		if a := resultSortTable[k.Field]; a != "" && !joined[a] {
			joined[a] = true
			joins += resultJoin[a]
		}
	}
	return joins
}

// resultSortTable names the joined table a sort key of resultSort needs,
// and resultJoin joins it to r.
var (
	resultSortTable = map[string]string{"benchmark_name": "b", "flavor_name": "f", "site_name": "s", "site_address": "s"}
	resultJoin      = map[string]string{
		"b": " JOIN benchmark b ON b.id = r.benchmark_id",
		"s": " JOIN site s ON s.id = r.site_id",
		"f": " JOIN flavor f ON f.id = r.flavor_id",
	}
)
