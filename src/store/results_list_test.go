package store

import (
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// TestCountedTotal checks which filters take their total from result_count:
// the handlers pass empty, non-nil lists for absent parameters, and those
// must not fall back to a count over every result (a 12 ms scan at 100,000
// results on every unfiltered page, found by the load command).
func TestCountedTotal(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	now := time.Now()
	f1, err := perf.ParseFilters([]string{"a.b > 1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		f       perf.ResultFilter
		counted bool
		nArgs   int
	}{
		{"nothing", perf.ResultFilter{}, true, 0},
		{"empty lists", perf.ResultFilter{TagIDs: []uuid.UUID{}, Filters: []perf.JSONFilter{}, Terms: []string{}}, true, 0},
		{"catalog ids", perf.ResultFilter{BenchmarkID: &id, SiteID: &id, FlavorID: &id, TagIDs: []uuid.UUID{}}, true, 3},
		{"a tag", perf.ResultFilter{TagIDs: []uuid.UUID{id}}, false, 0},
		{"a JSON filter", perf.ResultFilter{Filters: f1}, false, 0},
		{"a term", perf.ResultFilter{Terms: []string{"x"}}, false, 0},
		{"a date", perf.ResultFilter{Executed: perf.DateRange{After: &now}}, false, 0},
		{"deleted too", perf.ResultFilter{IncludeDeleted: true}, false, 0},
		{"an uploader", perf.ResultFilter{Uploader: &perf.Uploader{UploaderSub: "s", UploaderIss: "i"}}, false, 0},
	} {
		_, args, ok := countedTotal(c.f)
		if ok != c.counted || ok && len(args) != c.nArgs {
			t.Errorf("%s: counted %v with %d arguments, want %v with %d", c.name, ok, len(args), c.counted, c.nArgs)
		}
	}
}
