package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/samples"
)

// world is an approved c-ray benchmark (schema template.json), a lenient
// benchmark, two approved sites with flavors, a pending flavor, and tags.
type world struct {
	CRay, Lenient, PendingBench string
	SiteA, SiteB                string
	FlavorA, FlavorB, Pending   string
	Tag1, Tag2                  string
}

func newWorld(t testing.TB, s *service, c callers) world {
	t.Helper()
	var w world
	id := func(r *response) string { return r.want(t, 201).JSON(t)["id"].(string) }
	w.CRay = id(s.post(t, "/benchmarks", c.Owner, map[string]any{"docker_image": "thechristophe/openbench-c-ray", "docker_tag": "latest",
		"url": "https://hub.docker.com/r/thechristophe/openbench-c-ray", "json_schema": sampleSchema(t), "description": "c-ray"}))
	w.Lenient = id(s.post(t, "/benchmarks", c.Owner, map[string]any{"docker_image": "b1", "docker_tag": "v1.0", "url": "u",
		"json_schema": map[string]any{"type": "object", "properties": map[string]any{"time": map[string]any{"type": "integer"}}}}))
	w.PendingBench = id(s.post(t, "/benchmarks", c.Owner, benchmarkBody("pending/bench", "v1")))
	w.SiteA = id(s.post(t, "/sites", c.Owner, map[string]any{"name": "IFCA-LCG2", "address": "https://ifca.es"}))
	w.SiteB = id(s.post(t, "/sites", c.Owner, map[string]any{"name": "CESNET-MCC", "address": "https://cesnet.cz"}))
	w.FlavorA = id(s.post(t, "/sites/"+w.SiteA+"/flavors", c.Owner, map[string]any{"name": "m1.small"}))
	w.FlavorB = id(s.post(t, "/sites/"+w.SiteB+"/flavors", c.Owner, map[string]any{"name": "standard.large"}))
	w.Pending = id(s.post(t, "/sites/"+w.SiteA+"/flavors", c.Owner, map[string]any{"name": "pending"}))
	for _, p := range []string{"/benchmarks/" + w.CRay, "/benchmarks/" + w.Lenient, "/sites/" + w.SiteA, "/sites/" + w.SiteB,
		"/flavors/" + w.FlavorA, "/flavors/" + w.FlavorB} {
		s.post(t, p+":approve", c.Admin, nil).want(t, 204)
	}
	w.Tag1 = createTag(t, s, c.User, "tag1")
	w.Tag2 = createTag(t, s, c.User, "tag2")
	return w
}

// upload posts a result and returns the response.
func upload(t testing.TB, s *service, token, bench, flavor, exec string, body any, tags ...string) *response {
	t.Helper()
	q := url.Values{"benchmark_id": {bench}, "flavor_id": {flavor}, "execution_datetime": {exec}}
	for _, tg := range tags {
		q.Add("tags_ids", tg)
	}
	return s.post(t, "/results?"+q.Encode(), token, body)
}

// sampleResults returns the c-ray sample results by name.
func sampleResults(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, r := range samples.Results() {
		out[r.Name] = r.JSON
	}
	return out
}

const past = "2021-05-21T10:31:00.000+03:00"

func TestResultAccessByCaller(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	kinds := []struct{ name, token string }{
		{"anon", c.Anon}, {"untrusted", c.Untrusted}, {"unreg", c.Unreg}, {"user", c.User}, {"owner", c.Owner}, {"admin", c.Admin}}
	for i, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			// Fresh results of owner-1 per caller: claims and deletes hide them.
			r1 := upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 1}).want(t, 201).JSON(t)["id"].(string)
			r2 := upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 2}).want(t, 201).JSON(t)["id"].(string)
			claimID := s.post(t, "/results/"+r2+":claim", c.User, map[string]any{"message": "setup"}).want(t, 201).JSON(t)["id"].(string)
			claim2 := s.post(t, "/results/"+r2+":claim", c.User, map[string]any{"message": "setup 2"}).want(t, 201).JSON(t)["id"].(string)
			q := url.Values{"benchmark_id": {w.Lenient}, "flavor_id": {w.FlavorA}, "execution_datetime": {past}}
			rows := []struct {
				method, path string
				body         any
				want         [6]int
			}{
				{"GET", "/reports/claims?status=on_review", nil, [6]int{401, 401, 403, 403, 403, 200}},
				{"GET", "/reports/claims/" + claimID, nil, [6]int{401, 401, 403, 403, 403, 200}},
				{"POST", "/reports/claims/" + claimID + ":approve", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/reports/claims/" + claim2 + ":reject", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"GET", "/results", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"POST", "/results?" + q.Encode(), map[string]any{"time": 3}, [6]int{401, 401, 403, 201, 201, 201}},
				{"GET", "/results:search?terms=b1", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"GET", "/results/" + r1, nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"PUT", "/results/" + r1 + "/tags", map[string]any{"tags_ids": []string{w.Tag1}}, [6]int{401, 401, 403, 403, 204, 204}},
				{"GET", "/results/" + r1 + "/claims", nil, [6]int{401, 401, 403, 403, 200, 200}},
				{"GET", "/results/" + r1 + "/uploader", nil, [6]int{401, 401, 403, 403, 403, 200}},
				{"POST", "/results/" + r1 + ":claim", map[string]any{"message": "wrong"}, [6]int{401, 401, 403, 201, 201, 201}},
				{"DELETE", "/results/" + r1, nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"GET", "/users/self/results", nil, [6]int{401, 401, 403, 200, 200, 200}},
				{"GET", "/users/self/claims", nil, [6]int{401, 401, 403, 200, 200, 200}},
			}
			for _, row := range rows {
				r := s.do(t, request{Method: row.method, Path: row.path, Token: k.token, Body: row.body})
				if r.Status != row.want[i] {
					t.Errorf("%s %s as %s = %d, want %d: %s", row.method, row.path, k.name, r.Status, row.want[i], r.Body)
				}
			}
		})
	}
}

func TestResultUpload(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	samples := sampleResults(t)

	r := upload(t, s, c.User, w.CRay, w.FlavorA, "2021-05-21T10:31:00.123456789+03:00", samples["ifca-lcg2-1"], w.Tag2, w.Tag1).want(t, 201)
	got := r.JSON(t)
	if got["execution_datetime"] != "2021-05-21T07:31:00.123456" {
		t.Errorf("execution_datetime = %v, want it in UTC with microseconds", got["execution_datetime"])
	}
	if got["site"].(map[string]any)["id"] != w.SiteA || got["flavor"].(map[string]any)["id"] != w.FlavorA ||
		got["benchmark"].(map[string]any)["id"] != w.CRay {
		t.Errorf("nested objects = %s", r.Body)
	}
	if _, ok := got["flavor"].(map[string]any)["site_id"]; ok {
		t.Error("nested flavor has site_id")
	}
	tags := got["tags"].([]any)
	if len(tags) != 2 || tags[0].(map[string]any)["name"] != "tag1" {
		t.Errorf("tags = %v", tags)
	}
	var sent, stored any
	json.Unmarshal(samples["ifca-lcg2-1"], &sent)
	b, _ := json.Marshal(got["json"])
	json.Unmarshal(b, &stored)
	if fmt.Sprint(sent) != fmt.Sprint(stored) {
		t.Error("the result document came back changed")
	}
	s.get(t, "/results/"+got["id"].(string), "").want(t, 200).wantBody(t, string(r.Body))

	const missing = "00000000-0000-4000-8000-000000000000"
	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	doc := map[string]any{"time": 5}
	cases := []struct {
		name                    string
		bench, flavor, exec     string
		body                    any
		tags                    []string
		extra                   string
		status                  int
		want                    string
		wantErrorPrefix, wantAt string
	}{
		{name: "naive execution time", bench: w.Lenient, flavor: w.FlavorA, exec: "2021-05-21T10:31:00", body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Execution date must include timezone"}}`},
		{name: "future execution time", bench: w.Lenient, flavor: w.FlavorA, exec: future, body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Execution date cannot be in future"}}`},
		{name: "bare date", bench: w.Lenient, flavor: w.FlavorA, exec: "2021-05-21", body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"execution_datetime":["Not a valid datetime."]}}}`},
		{name: "missing execution time", bench: w.Lenient, flavor: w.FlavorA, body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"execution_datetime":["Missing data for required field."]}}}`},
		{name: "site_id is not accepted", bench: w.Lenient, flavor: w.FlavorA, exec: past, extra: "&site_id=" + w.SiteA, body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"site_id":["Unknown field."]}}}`},
		{name: "unknown benchmark", bench: missing, flavor: w.FlavorA, exec: past, body: doc, status: 404,
			want: `{"code":404,"status":"Not Found","errors":{"error":"Benchmark ` + missing + ` not found in the database"}}`},
		{name: "unknown flavor", bench: w.Lenient, flavor: missing, exec: past, body: doc, status: 404,
			want: `{"code":404,"status":"Not Found","errors":{"error":"Flavor ` + missing + ` not found in the database"}}`},
		{name: "unknown tag", bench: w.Lenient, flavor: w.FlavorA, exec: past, body: doc, tags: []string{missing}, status: 404,
			want: `{"code":404,"status":"Not Found","errors":{"error":"Tag ` + missing + ` not found in the database"}}`},
		{name: "pending benchmark", bench: w.PendingBench, flavor: w.FlavorA, exec: past, body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Benchmark ` + w.PendingBench + ` not approved"}}`},
		{name: "pending flavor", bench: w.Lenient, flavor: w.Pending, exec: past, body: doc, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Flavor ` + w.Pending + ` not approved"}}`},
		{name: "schema violation", bench: w.Lenient, flavor: w.FlavorA, exec: past, body: map[string]any{"time": "10"}, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"error":"'10' is not of type 'integer'","path":"deque(['time'])"}}`},
		{name: "c-ray schema violation", bench: w.CRay, flavor: w.FlavorA, exec: past, body: map[string]any{"arguments": "x"}, status: 422},
		{name: "same tag twice", bench: w.Lenient, flavor: w.FlavorA, exec: past, body: doc, tags: []string{w.Tag1, w.Tag1}, status: 409,
			want: `{"code":409,"status":"Conflict","errors":{"error":"Integrity error"}}`},
		{name: "array body", bench: w.Lenient, flavor: w.FlavorA, exec: past, body: []any{1}, status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"_schema":["Invalid input type."]}}}`},
		{name: "absent body counts as {}", bench: w.Lenient, flavor: w.FlavorA, exec: past, status: 201},
		{name: "zone as +HHMM and space separator", bench: w.Lenient, flavor: w.FlavorA, exec: "2021-5-1 1:02+0100", body: doc, status: 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"benchmark_id": {tc.bench}, "flavor_id": {tc.flavor}}
			if tc.exec != "" {
				q.Set("execution_datetime", tc.exec)
			}
			for _, tg := range tc.tags {
				q.Add("tags_ids", tg)
			}
			r := s.post(t, "/results?"+q.Encode()+tc.extra, c.User, tc.body).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
		})
	}
	t.Run("all 25 samples validate against the c-ray schema", func(t *testing.T) {
		for name, doc := range samples {
			upload(t, s, c.User, w.CRay, w.FlavorB, past, doc).want(t, 201)
			_ = name
		}
	})
}

// resultIDs returns the ids of a page, in order.
func resultIDs(t testing.TB, r *response) []string {
	t.Helper()
	var out []string
	for _, it := range r.items(t) {
		out = append(out, it["id"].(string))
	}
	return out
}

func TestResultFiltersSortingAndSearch(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	docs := []map[string]any{
		{"time": 10, "cpu": true, "type": "AMD", "other": "two"},
		{"time": 11, "cpu": false, "type": "Intel", "other": 5},
		{"time": 20, "type": "AMD", "nested": map[string]any{"a": []any{1, 2}}},
		{"time": 5, "cpu": true},
	}
	ids := make([]string, len(docs))
	execs := []string{"2020-01-01T10:00:00Z", "2020-06-01T10:00:00Z", "2021-01-01T10:00:00Z", "2022-01-01T10:00:00Z"}
	flavors := []string{w.FlavorA, w.FlavorA, w.FlavorB, w.FlavorB}
	for i, d := range docs {
		var tags []string
		if i < 2 {
			tags = append(tags, w.Tag1)
		}
		if i == 1 {
			tags = append(tags, w.Tag2)
		}
		ids[i] = upload(t, s, c.User, w.Lenient, flavors[i], execs[i], d, tags...).want(t, 201).JSON(t)["id"].(string)
	}
	cray := upload(t, s, c.User, w.CRay, w.FlavorA, past, sampleResults(t)["cesga-1"]).want(t, 201).JSON(t)["id"].(string)

	list := func(query string) []string {
		t.Helper()
		return resultIDs(t, s.get(t, "/results?"+query, "").want(t, 200))
	}
	sel := func(idx ...int) string {
		var out []string
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return strings.Join(out, ",")
	}
	f := func(v string) string { return "filters=" + url.QueryEscape(v) }
	cases := []struct{ name, query, want string }{
		{"number greater", f("time > 10") + "&benchmark_id=" + w.Lenient, sel(1, 2)},
		{"number equal matches 11.0", f("time == 11.0"), sel(1)},
		{"number ordered", f("time <= 10") + "&sort_by=-json.time", sel(0, 3)},
		{"uncastable stored values do not match and do not fail", f("other > 0"), sel(1)},
		{"boolean", f("cpu == true"), sel(0, 3)},
		{"boolean false", f("cpu == False"), sel(1)},
		{"string case-sensitive", f("type == AMD"), sel(0, 2)},
		{"string lower case finds nothing", f("type == amd"), ""},
		{"two filters AND", f("type == AMD") + "&" + f("time > 10"), sel(2)},
		{"numeric segment indexes arrays", f("nested.a.1 == 2"), sel(2)},
		{"missing path never matches", f("nothing >= 0"), ""},
		{"filters[] alias", "filters[]=" + url.QueryEscape("time > 10") + "&benchmark_id=" + w.Lenient, sel(1, 2)},
		{"sort json ascending, missing last", "sort_by=%2Bjson.other,%2Bexecution_datetime&benchmark_id=" + w.Lenient, sel(0, 1, 2, 3)},
		{"sort json descending, missing first", "sort_by=-json.time&benchmark_id=" + w.Lenient, sel(2, 1, 0, 3)},
		{"default sort is execution time", "benchmark_id=" + w.Lenient, sel(0, 1, 2, 3)},
		{"execution_after", "execution_after=2020-06-01&benchmark_id=" + w.Lenient, sel(1, 2, 3)},
		{"execution_before", "execution_before=2021-01-01", sel(0, 1)},
		{"tags_ids all required", "tags_ids=" + w.Tag1 + "&tags_ids=" + w.Tag2, sel(1)},
		{"tag filter", "tags_ids=" + w.Tag1, sel(0, 1)},
		{"site filter", "site_id=" + w.SiteB, sel(2, 3)},
		{"flavor filter", "flavor_id=" + w.FlavorA + "&benchmark_id=" + w.Lenient, sel(0, 1)},
		{"upload_after today", "upload_after=2000-01-01&benchmark_id=" + w.Lenient, sel(0, 1, 2, 3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(list(tc.query), ","); got != tc.want {
				t.Fatalf("GET /results?%s\n got  %s\n want %s", tc.query, got, tc.want)
			}
		})
	}
	t.Run("filter errors", func(t *testing.T) {
		s.get(t, "/results?filters=time>1", "").want(t, 422).
			wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"filter":"time>1","reason":["not enough values to unpack (expected 3, got 1)"],"hint":"Probably missing spaces (%20)","example":"filters=machine.cpu.count%20%3E%205"}}`)
		s.get(t, "/results?"+f("time <> 1"), "").want(t, 422).
			wantBody(t, `{"code":422,"status":"Unprocessable Entity","message":{"filter":"time <> 1","reason":["Unknown filter operator: '<>'"],"hint":"Use only one of ['==', '>', '<', '>=', '<=']","example":"filters=machine.cpu.count%20%3E%205"}}`)
		s.get(t, "/results?uploader_email=a@b", "").want(t, 422)
		s.get(t, "/results?tags_ids=nope", "").want(t, 422).
			wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"tags_ids":{"0":["Not a valid UUID."]}}}}`)
		s.get(t, "/results?sort_by=%2Bbenchmark", "").want(t, 422)
		s.get(t, "/results:search?benchmark_id="+w.Lenient, "").want(t, 422)
	})
	t.Run("sortable names", func(t *testing.T) {
		for _, k := range []string{"benchmark_name", "site_name", "site_address", "flavor_name", "upload_datetime", "deleted", "uploader_iss", "json"} {
			s.get(t, "/results?sort_by=-"+k, "").want(t, 200)
		}
	})
	t.Run("search", func(t *testing.T) {
		search := func(terms ...string) []string {
			q := url.Values{"terms": terms}
			got := resultIDs(t, s.get(t, "/results:search?"+q.Encode(), "").want(t, 200))
			sort.Strings(got)
			return got
		}
		all := append([]string{}, ids...)
		sort.Strings(all)
		if got := search("v1.0"); strings.Join(got, ",") != strings.Join(all, ",") {
			t.Errorf("terms=v1.0 = %v", got)
		}
		if got := search("b1", "tag2"); len(got) != 1 || got[0] != ids[1] {
			t.Errorf("terms=b1&terms=tag2 = %v", got)
		}
		if got := search("tag"); len(got) != 0 {
			t.Errorf("partial tag name matched: %v", got)
		}
		if got := search("cesnet.cz"); len(got) != 2 {
			t.Errorf("site address = %v", got)
		}
		if got := search("c-ray:lat"); len(got) != 1 || got[0] != cray {
			t.Errorf("benchmark name = %v", got)
		}
		if got := search("%"); len(got) != 0 {
			t.Errorf("%% is not a wildcard: %v", got)
		}
	})
}

// TestFilteredPagingAndJoinedSort covers the one-pass page query of
// filtered and searched lists: totals, pages, the end, and sorting by the
// names of joined rows.
func TestFilteredPagingAndJoinedSort(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	for i := range 5 {
		flavor := w.FlavorA
		if i%2 == 1 {
			flavor = w.FlavorB
		}
		upload(t, s, c.User, w.Lenient, flavor, past, map[string]any{"time": i}).want(t, 201)
	}
	type page struct {
		Total, Pages int
		Items        []struct {
			Site struct{ Name string } `json:"site"`
			JSON struct{ Time int }    `json:"json"`
		} `json:"items"`
	}
	get := func(path string) page {
		t.Helper()
		var p page
		if err := json.Unmarshal(s.get(t, path, "").want(t, 200).Body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := "filters=" + url.QueryEscape("time >= 1")
	p := get("/results?" + f + "&per_page=2&sort_by=%2Bsite_name,-json.time")
	if p.Total != 4 || p.Pages != 2 || len(p.Items) != 2 || p.Items[0].Site.Name != "CESNET-MCC" || p.Items[0].JSON.Time != 3 {
		t.Fatalf("first page = %+v", p)
	}
	p = get("/results?" + f + "&per_page=2&page=2&sort_by=%2Bsite_name,-json.time")
	if len(p.Items) != 2 || p.Items[0].Site.Name != "IFCA-LCG2" || p.Items[0].JSON.Time != 4 || p.Items[1].JSON.Time != 2 {
		t.Fatalf("second page = %+v", p)
	}
	s.get(t, "/results?"+f+"&per_page=2&page=3", "").want(t, 404)
	if p = get("/results?filters=" + url.QueryEscape("time > 100")); p.Total != 0 || len(p.Items) != 0 {
		t.Fatalf("empty filtered first page = %+v", p)
	}
	s.get(t, "/results?filters="+url.QueryEscape("time > 100")+"&page=2", "").want(t, 404)
	p = get("/results:search?terms=CESNET&per_page=1&sort_by=-flavor_name")
	if p.Total != 2 || len(p.Items) != 1 {
		t.Fatalf("search page = %+v", p)
	}
	s.get(t, "/results:search?terms=CESNET&per_page=1&page=3", "").want(t, 404)
}
