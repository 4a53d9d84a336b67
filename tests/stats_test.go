package tests

import (
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// statsGroup is one group of a ResultStats answer.
type statsGroup struct {
	Key *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"key"`
	Count   int      `json:"count"`
	Numeric int      `json:"numeric"`
	Min     *float64 `json:"min"`
	Max     *float64 `json:"max"`
	Mean    *float64 `json:"mean"`
	StdDev  *float64 `json:"stddev"`
	P50     *float64 `json:"p50"`
	P90     *float64 `json:"p90"`
	P99     *float64 `json:"p99"`
}

type statsBody struct {
	Metric  string       `json:"metric"`
	GroupBy *string      `json:"group_by"`
	Groups  []statsGroup `json:"groups"`
}

func getStats(t *testing.T, s *service, q url.Values) statsBody {
	t.Helper()
	r := s.get(t, "/results:stats?"+q.Encode(), "").want(t, 200)
	var b statsBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// expected computes what a group must say about values, as PostgreSQL's
// avg, stddev_samp and percentile_cont define them.
func expected(count int, values []float64) statsGroup {
	g := statsGroup{Count: count, Numeric: len(values)}
	if len(values) == 0 {
		return g
	}
	v := slices.Clone(values)
	slices.Sort(v)
	f := func(x float64) *float64 { return &x }
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	g.Min, g.Max, g.Mean = f(v[0]), f(v[len(v)-1]), f(mean)
	if len(v) > 1 {
		ss := 0.0
		for _, x := range v {
			ss += (x - mean) * (x - mean)
		}
		g.StdDev = f(math.Sqrt(ss / float64(len(v)-1)))
	}
	pct := func(p float64) *float64 {
		pos := p * float64(len(v)-1)
		lo := math.Floor(pos)
		hi := math.Ceil(pos)
		return f(v[int(lo)] + (pos-lo)*(v[int(hi)]-v[int(lo)]))
	}
	g.P50, g.P90, g.P99 = pct(0.5), pct(0.9), pct(0.99)
	return g
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= 1e-9*math.Max(1, math.Abs(*b))
}

func checkGroup(t *testing.T, what string, got, want statsGroup) {
	t.Helper()
	ok := got.Count == want.Count && got.Numeric == want.Numeric && sameFloat(got.Min, want.Min) && sameFloat(got.Max, want.Max) &&
		sameFloat(got.Mean, want.Mean) && sameFloat(got.StdDev, want.StdDev) && sameFloat(got.P50, want.P50) &&
		sameFloat(got.P90, want.P90) && sameFloat(got.P99, want.P99)
	if !ok {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func TestResultStats(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	up := func(flavor string, score any, tags ...string) string {
		return upload(t, s, c.User, w.Lenient, flavor, past, map[string]any{"time": 1, "score": score}, tags...).want(t, 201).JSON(t)["id"].(string)
	}
	up(w.FlavorA, 1, w.Tag1)
	up(w.FlavorA, 2, w.Tag1, w.Tag2)
	up(w.FlavorA, 3)
	up(w.FlavorA, " 4 ") // a numeric string, as number filters read it
	up(w.FlavorA, "abc")
	up(w.FlavorA, true)
	up(w.FlavorB, 10, w.Tag2)
	up(w.FlavorB, 20)
	hidden := up(w.FlavorB, 1000)
	s.del(t, "/results/"+hidden, c.Admin).want(t, 204)
	// A result of another benchmark, without the metric.
	upload(t, s, c.User, w.CRay, w.FlavorA, past, sampleResults(t)["cesga-1"]).want(t, 201)

	all := getStats(t, s, url.Values{"metric": {"score"}})
	if all.Metric != "score" || all.GroupBy != nil || len(all.Groups) != 1 || all.Groups[0].Key != nil {
		t.Fatalf("stats = %+v", all)
	}
	checkGroup(t, "everything", all.Groups[0], expected(9, []float64{1, 2, 3, 4, 10, 20}))

	bySite := getStats(t, s, url.Values{"metric": {"score"}, "group_by": {"site"}})
	if *bySite.GroupBy != "site" || len(bySite.Groups) != 2 || bySite.Groups[0].Key.Name != "CESNET-MCC" || bySite.Groups[0].Key.ID != w.SiteB {
		t.Fatalf("by site = %+v", bySite)
	}
	checkGroup(t, "CESNET-MCC", bySite.Groups[0], expected(2, []float64{10, 20}))
	checkGroup(t, "IFCA-LCG2", bySite.Groups[1], expected(7, []float64{1, 2, 3, 4}))

	byTag := getStats(t, s, url.Values{"metric": {"score"}, "group_by": {"tag"}})
	if len(byTag.Groups) != 3 || byTag.Groups[0].Key.Name != "tag1" || byTag.Groups[1].Key.Name != "tag2" || byTag.Groups[2].Key != nil {
		t.Fatalf("by tag = %+v", byTag)
	}
	checkGroup(t, "tag1", byTag.Groups[0], expected(2, []float64{1, 2}))
	checkGroup(t, "tag2", byTag.Groups[1], expected(2, []float64{2, 10}))
	checkGroup(t, "no tag", byTag.Groups[2], expected(6, []float64{3, 4, 20}))

	byBench := getStats(t, s, url.Values{"metric": {"score"}, "group_by": {"benchmark"}})
	if len(byBench.Groups) != 2 || byBench.Groups[0].Key.Name != "b1:v1.0" || byBench.Groups[1].Key.Name != "thechristophe/openbench-c-ray:latest" {
		t.Fatalf("by benchmark = %+v", byBench)
	}
	checkGroup(t, "c-ray has no score", byBench.Groups[1], expected(1, nil))

	byFlavor := getStats(t, s, url.Values{"metric": {"score"}, "group_by": {"flavor"}})
	if len(byFlavor.Groups) != 2 || byFlavor.Groups[0].Key.Name != "m1.small" || byFlavor.Groups[1].Key.Name != "standard.large" {
		t.Fatalf("by flavor = %+v", byFlavor)
	}

	// Every filter of GET /results applies.
	filtered := []struct {
		name string
		q    url.Values
		want statsGroup
	}{
		{"benchmark_id", url.Values{"benchmark_id": {w.Lenient}}, expected(8, []float64{1, 2, 3, 4, 10, 20})},
		{"site_id", url.Values{"site_id": {w.SiteB}}, expected(2, []float64{10, 20})},
		{"flavor_id", url.Values{"flavor_id": {w.FlavorA}}, expected(7, []float64{1, 2, 3, 4})},
		{"tags_ids (all)", url.Values{"tags_ids": {w.Tag1, w.Tag2}}, expected(1, []float64{2})},
		{"filters", url.Values{"filters": {"score > 2"}}, expected(4, []float64{3, 4, 10, 20})},
		{"two filters", url.Values{"filters": {"score > 2", "score < 15"}}, expected(3, []float64{3, 4, 10})},
		{"execution_before", url.Values{"execution_before": {"2000-01-01"}}, expected(0, nil)},
		{"upload_after", url.Values{"upload_after": {"2000-01-01"}}, expected(9, []float64{1, 2, 3, 4, 10, 20})},
	}
	for _, f := range filtered {
		f.q.Set("metric", "score")
		got := getStats(t, s, f.q)
		if len(got.Groups) != 1 {
			t.Fatalf("%s: %+v", f.name, got)
		}
		checkGroup(t, f.name, got.Groups[0], f.want)
	}
	// Grouped with no match: no group at all.
	if g := getStats(t, s, url.Values{"metric": {"score"}, "group_by": {"site"}, "execution_before": {"2000-01-01"}}); len(g.Groups) != 0 {
		t.Errorf("grouped, no match: %+v", g)
	}
	// One value: no standard deviation.
	one := getStats(t, s, url.Values{"metric": {"score"}, "filters": {"score == 20"}}).Groups[0]
	if one.Numeric != 1 || one.StdDev != nil || *one.P99 != 20 {
		t.Errorf("one value: %+v", one)
	}
	// A path no result holds, and a path to non-numbers: numeric 0, no statistics.
	for _, m := range []string{"no.such.path", "time.deeper", "machine"} {
		got := getStats(t, s, url.Values{"metric": {m}}).Groups[0]
		want := 0
		if got.Count != 9 || got.Numeric != want || got.Min != nil || got.Mean != nil || got.P50 != nil {
			t.Errorf("metric %s: %+v", m, got)
		}
	}
	// A numeric path of the c-ray sample, nested.
	if g := getStats(t, s, url.Values{"metric": {"result.score"}, "benchmark_id": {w.CRay}}).Groups[0]; g.Numeric != 1 || g.Min == nil {
		t.Errorf("result.score of the sample: %+v", g)
	}
}

func TestResultStatsQueryValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tests := []struct{ query, want string }{
		{"", `{"query":{"metric":["Missing data for required field."]}}`},
		{"metric=a..b", `{"query":{"metric":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"metric=", `{"query":{"metric":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"metric=.a", `{"query":{"metric":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"metric=" + strings.Repeat("a.", 32) + "a", `{"query":{"metric":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`}, // 33 keys
		{"metric=" + url.QueryEscape(strings.Repeat("é", 1025)), `{"query":{"metric":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"metric=a&group_by=uploader", `{"query":{"group_by":["Must be one of: benchmark, site, flavor, tag."]}}`},
		{"metric=a&page=1", `{"query":{"page":["Unknown field."]}}`},
		{"metric=a&per_page=10", `{"query":{"per_page":["Unknown field."]}}`},
		{"metric=a&sort_by=%2Bid", `{"query":{"sort_by":["Unknown field."]}}`},
		{"metric=a&site_id=nope", `{"query":{"site_id":["Not a valid UUID."]}}`},
		{"metric=a&execution_after=2020-13-01", `{"query":{"execution_after":["Not a valid date."]}}`},
	}
	for _, tt := range tests {
		r := s.get(t, "/results:stats?"+tt.query, "").want(t, 422)
		var got struct{ Errors json.RawMessage }
		json.Unmarshal(r.Body, &got)
		var a, b any
		json.Unmarshal(got.Errors, &a)
		json.Unmarshal([]byte(tt.want), &b)
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		if string(ga) != string(gb) {
			t.Errorf("%q: errors = %s, want %s", tt.query, ga, gb)
		}
	}
	// A malformed filter answers as GET /results does.
	s.get(t, "/results:stats?metric=a&filters=nonsense", "").want(t, 422)
}
