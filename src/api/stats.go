package api

// GET /results:stats (EXTENSIONS.md X2).

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/eosc-perf/api/src/perf"
)

// resultFilterParams are the filter parameters of GET /results, without
// paging and sorting.
var resultFilterParams = []string{"upload_before", "upload_after", "execution_before", "execution_after",
	"benchmark_id", "site_id", "flavor_id", "tags_ids", "filters"}

// metricPath reads a JSON path parameter in the §3.8 syntax (dot-separated
// non-empty keys within the bounds of a filter's path, validJSONPath); the
// error names the parameter.
func metricPath(q *query, name string, v string) []string {
	if !validJSONPath(v) {
		q.errs[name] = []string{"Not a valid JSON path: at most " + strconv.Itoa(perf.MaxFilterPathDepth) +
			" keys separated by dots, none empty, in at most " + strconv.Itoa(perf.MaxFilterLength) + " characters."}
		return nil
	}
	return strings.Split(v, ".")
}

type statsKeyJSON struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

type statsGroupJSON struct {
	Key     *statsKeyJSON `json:"key"`
	Count   int           `json:"count"`
	Numeric int           `json:"numeric"`
	Min     *float64      `json:"min"`
	Max     *float64      `json:"max"`
	Mean    *float64      `json:"mean"`
	StdDev  *float64      `json:"stddev"`
	P50     *float64      `json:"p50"`
	P90     *float64      `json:"p90"`
	P99     *float64      `json:"p99"`
}

type statsJSON struct {
	Metric  string           `json:"metric"`
	GroupBy *string          `json:"group_by"`
	Groups  []statsGroupJSON `json:"groups"`
}

// handleResultStats handles GET /results:stats: visible results only, with
// every filter of GET /results, computed by the database.
func (s *server) handleResultStats(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, append([]string{"metric", "group_by"}, resultFilterParams...)...)
	var path []string
	metric := q.str("metric")
	if metric == nil {
		q.errs["metric"] = []string{"Missing data for required field."}
	} else {
		path = metricPath(q, "metric", *metric)
	}
	by := perf.GroupNone
	if g := q.str("group_by"); g != nil {
		switch perf.StatsGroupBy(*g) {
		case perf.GroupBenchmark, perf.GroupSite, perf.GroupFlavor, perf.GroupTag:
			by = perf.StatsGroupBy(*g)
		default:
			q.errs["group_by"] = []string{"Must be one of: benchmark, site, flavor, tag."}
		}
	}
	f, _, err := resultFilter(q)
	if err != nil {
		return err
	}
	groups, err := s.store.ResultStats(r.Context(), f, path, by)
	if err != nil {
		return err
	}
	body := statsJSON{Metric: *metric, Groups: make([]statsGroupJSON, len(groups))}
	if by != perf.GroupNone {
		g := string(by)
		body.GroupBy = &g
	}
	for i, g := range groups {
		out := statsGroupJSON{Count: g.Count, Numeric: g.Numeric, Min: g.Min, Max: g.Max, Mean: g.Mean,
			StdDev: g.StdDev, P50: g.P50, P90: g.P90, P99: g.P99}
		if g.Key != nil {
			out.Key = &statsKeyJSON{ID: g.Key.ID, Name: g.Key.Name}
		}
		body.Groups[i] = out
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
