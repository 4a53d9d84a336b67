package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/eosc-perf/api/src/samples"
)

// sampleSchema is the c-ray benchmark's JSON Schema (draft 2020-12).
func sampleSchema(testing.TB) json.RawMessage { return samples.Template() }

// benchmarkBody is a valid CreateBenchmark body.
func benchmarkBody(image, tag string) map[string]any {
	return map[string]any{"docker_image": image, "docker_tag": tag, "url": "https://example.org/" + image,
		"json_schema": map[string]any{"type": "object", "properties": map[string]any{"time": map[string]any{"type": "integer"}}},
		"description": "benchmark " + image}
}

// catalog creates approved and pending catalog items through the API.
type catalog struct {
	Benchmark, PendingBenchmark string
	Site, PendingSite           string
	Flavor, PendingFlavor       string
}

func newCatalog(t testing.TB, s *service, c callers) catalog {
	t.Helper()
	var cat catalog
	id := func(r *response) string { return r.JSON(t)["id"].(string) }
	cat.Benchmark = id(s.post(t, "/benchmarks", c.Owner, benchmarkBody("org/bench", "v1")).want(t, 201))
	cat.PendingBenchmark = id(s.post(t, "/benchmarks", c.Owner, benchmarkBody("org/bench", "v2")).want(t, 201))
	cat.Site = id(s.post(t, "/sites", c.Owner, map[string]any{"name": "site-a", "address": "https://a.example"}).want(t, 201))
	cat.PendingSite = id(s.post(t, "/sites", c.Owner, map[string]any{"name": "site-b", "address": "https://b.example"}).want(t, 201))
	cat.Flavor = id(s.post(t, "/sites/"+cat.Site+"/flavors", c.Owner, map[string]any{"name": "small"}).want(t, 201))
	cat.PendingFlavor = id(s.post(t, "/sites/"+cat.Site+"/flavors", c.Owner, map[string]any{"name": "large"}).want(t, 201))
	for _, p := range []string{"/benchmarks/" + cat.Benchmark, "/sites/" + cat.Site, "/flavors/" + cat.Flavor} {
		s.post(t, p+":approve", c.Admin, nil).want(t, 204)
	}
	return cat
}

// TestCatalogAccessByCaller checks rows 1–9 and 23–39 of API.md §14 for
// every caller kind. Each caller acts on fresh pending items so that
// approvals and deletions of one caller do not change the next one's
// outcome.
func TestCatalogAccessByCaller(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	kinds := []struct{ name, token string }{
		{"anon", c.Anon}, {"untrusted", c.Untrusted}, {"unreg", c.Unreg}, {"user", c.User}, {"owner", c.Owner}, {"admin", c.Admin}}
	created := func(r *response) string {
		if r.Status == 201 {
			return r.JSON(t)["id"].(string)
		}
		return ""
	}
	for i, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			n := k.name
			// Targets owned by owner-1, pending.
			bench := created(s.post(t, "/benchmarks", c.Owner, benchmarkBody("acc/"+n, "v1")))
			bench2 := created(s.post(t, "/benchmarks", c.Owner, benchmarkBody("acc/"+n, "v2")))
			site := created(s.post(t, "/sites", c.Owner, map[string]any{"name": "s-" + n, "address": "x"}))
			site2 := created(s.post(t, "/sites", c.Owner, map[string]any{"name": "s2-" + n, "address": "x"}))
			fl := created(s.post(t, "/sites/"+site+"/flavors", c.Owner, map[string]any{"name": "f"}))
			fl2 := created(s.post(t, "/sites/"+site+"/flavors", c.Owner, map[string]any{"name": "f2"}))
			fl3 := created(s.post(t, "/sites/"+site+"/flavors", c.Owner, map[string]any{"name": "f3"}))
			rows := []struct {
				method, path string
				body         any
				want         [6]int
			}{
				{"GET", "/benchmarks", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"POST", "/benchmarks", benchmarkBody("new/"+n, "v1"), [6]int{401, 401, 403, 201, 201, 201}},
				{"GET", "/benchmarks:search?terms=acc", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"GET", "/benchmarks/" + bench, nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"PUT", "/benchmarks/" + bench, benchmarkBody("acc/"+n, "v9"), [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/benchmarks/" + bench + ":approve", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/benchmarks/" + bench2 + ":reject", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"DELETE", "/benchmarks/" + bench, nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"GET", "/reports/submits", nil, [6]int{401, 401, 403, 403, 403, 200}},
				{"GET", "/sites", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"POST", "/sites", map[string]any{"name": "new-" + n, "address": "y"}, [6]int{401, 401, 403, 201, 201, 201}},
				{"GET", "/sites:search?terms=s-", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"GET", "/sites/" + site, nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"PUT", "/sites/" + site, map[string]any{"name": "s-" + n, "address": "z"}, [6]int{401, 401, 403, 403, 403, 204}},
				{"GET", "/sites/" + site + "/flavors?status=on_review", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"POST", "/sites/" + site + "/flavors", map[string]any{"name": "new"}, [6]int{401, 401, 403, 201, 201, 201}},
				{"GET", "/sites/" + site + "/flavors:search?terms=f", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"GET", "/flavors/" + fl, nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"GET", "/flavors/" + fl + "/site", nil, [6]int{200, 200, 200, 200, 200, 200}},
				{"PUT", "/flavors/" + fl, map[string]any{"name": "f"}, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/flavors/" + fl + ":approve", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/flavors/" + fl2 + ":reject", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"DELETE", "/flavors/" + fl3, nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/sites/" + site + ":approve", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"POST", "/sites/" + site2 + ":reject", nil, [6]int{401, 401, 403, 403, 403, 204}},
				{"DELETE", "/sites/" + site, nil, [6]int{401, 401, 403, 403, 403, 204}},
			}
			for _, row := range rows {
				r := s.do(t, request{Method: row.method, Path: row.path, Token: k.token, Body: row.body})
				if r.Status != row.want[i] {
					t.Errorf("%s %s as %s = %d, want %d: %s", row.method, row.path, n, r.Status, row.want[i], r.Body)
				}
			}
		})
	}
}

// TestReviewLifecycle follows API.md §7.1 end to end for a benchmark, a
// site and a flavor, with the e-mails of §9 checked on a real SMTP server.
func TestReviewLifecycle(t *testing.T) {
	t.Parallel()
	mb := startMailbox(t)
	s := startService(t, mb.env())
	c := s.newCallers(t)

	r := s.post(t, "/benchmarks", c.Owner, map[string]any{"docker_image": "thechristophe/openbench-c-ray", "docker_tag": "latest",
		"url": "https://hub.docker.com/r/thechristophe/openbench-c-ray", "json_schema": sampleSchema(t)}).want(t, 201)
	b := r.JSON(t)
	id := b["id"].(string)
	if _, ok := b["description"]; ok || b["docker_tag"] != "latest" || !upstreamTime.MatchString(b["upload_datetime"].(string)) {
		t.Fatalf("created benchmark = %s", r.Body)
	}
	m := mb.wait(t, "New benchmark resource submitted: "+id)
	if strings.Join(m.Rcpts, ",") != "owner-1@example.org,support@example.org" || m.Header.Get("Resource-ID") != id ||
		!strings.Contains(m.Header.Get("Cc"), "support@example.org") {
		t.Fatalf("submitted mail: rcpts %v, headers %v", m.Rcpts, m.Header)
	}

	listed := func(path string) int { return len(s.get(t, path, "").want(t, 200).items(t)) }
	if n := listed("/benchmarks"); n != 0 {
		t.Fatalf("pending benchmark listed by default (%d)", n)
	}
	if n := listed("/benchmarks?status=on_review"); n != 1 {
		t.Fatalf("pending benchmark not listed with status=on_review (%d)", n)
	}
	s.get(t, "/benchmarks/"+id, "").want(t, 200)
	sub := s.get(t, "/reports/submits", c.Admin).want(t, 200).items(t)
	if len(sub) != 1 || sub[0]["resource_id"] != id || sub[0]["resource_type"] != "benchmark" ||
		sub[0]["uploader"].(map[string]any)["sub"] != c.OwnerSub {
		t.Fatalf("submits = %v", sub)
	}
	s.post(t, "/benchmarks/"+id+":approve", c.Admin, nil).want(t, 204)
	m = mb.wait(t, "Resource approved: "+id)
	if m.Rcpts[0] != "owner-1@example.org" {
		t.Fatalf("approved mail to %v", m.Rcpts)
	}
	if n := listed("/benchmarks"); n != 1 {
		t.Fatalf("approved benchmark not listed (%d)", n)
	}
	if n := len(s.get(t, "/reports/submits", c.Admin).items(t)); n != 0 {
		t.Fatalf("submit not deleted on approval (%d left)", n)
	}
	s.post(t, "/benchmarks/"+id+":approve", c.Admin, nil).want(t, 422).
		wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Benchmark `+id+` was already approved"}}`)
	s.post(t, "/benchmarks/"+id+":reject", c.Admin, nil).want(t, 422)

	// A site and a flavor, then rejection deletes with cascades.
	site := s.post(t, "/sites", c.Owner, map[string]any{"name": "IFCA-LCG2", "address": "https://ifca.es", "description": "Santander"}).want(t, 201).JSON(t)["id"].(string)
	mb.wait(t, "New site resource submitted: "+site)
	fl := s.post(t, "/sites/"+site+"/flavors", c.Owner, map[string]any{"name": "m1.small"}).want(t, 201).JSON(t)["id"].(string)
	mb.wait(t, "New flavor resource submitted: "+fl)
	s.post(t, "/flavors/"+fl+":approve", c.Admin, nil).want(t, 204)
	if got := s.get(t, "/sites/"+site+"/flavors", "").items(t); len(got) != 1 || got[0]["name"] != "m1.small" {
		t.Fatalf("approved flavor of a pending site = %v", got)
	}
	if _, ok := s.get(t, "/flavors/"+fl, "").JSON(t)["site_id"]; ok {
		t.Fatal("flavor representation must not have site_id")
	}
	if s.get(t, "/flavors/"+fl+"/site", "").JSON(t)["id"] != site {
		t.Fatal("flavor site")
	}
	s.post(t, "/sites/"+site+":reject", c.Admin, nil).want(t, 204)
	mb.wait(t, "Resource rejected: "+site)
	s.get(t, "/sites/"+site, "").want(t, 404)
	s.get(t, "/flavors/"+fl, "").want(t, 404).
		wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"Record `+fl+` not found in the database"}}`)
	if n := len(s.get(t, "/reports/submits", c.Admin).items(t)); n != 0 {
		t.Fatalf("submits left after reject: %d", n)
	}
	_ = http.StatusOK
}

func TestBenchmarkValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	post := func(body any) *response { return s.post(t, "/benchmarks", c.User, body) }
	post(benchmarkBody("dup/img", "v1")).want(t, 201)
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"duplicate image and tag", benchmarkBody("dup/img", "v1"), 409,
			`{"code":409,"status":"Conflict","errors":{"error":"Benchmark dup/img:v1 already submitted/exists"}}`},
		{"schema with an invalid type", map[string]any{"docker_image": "a/b", "docker_tag": "1", "url": "u", "json_schema": map[string]any{"type": "x"}}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"error":"'x' is not valid under any of the given schemas","path":"deque(['type'])"}}`},
		{"nested invalid schema", map[string]any{"docker_image": "a/b", "docker_tag": "2", "url": "u", "json_schema": map[string]any{"properties": map[string]any{"a": map[string]any{"type": 5}}}}, 422, ""},
		{"schema not an object", map[string]any{"docker_image": "a/b", "docker_tag": "3", "url": "u", "json_schema": []any{}}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"json_schema":["Not a valid mapping type."]}}}`},
		{"url missing", map[string]any{"docker_image": "a/b", "docker_tag": "4", "json_schema": map[string]any{}}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"url":["Missing data for required field."]}}}`},
		{"read-only field", map[string]any{"docker_image": "a/b", "docker_tag": "5", "url": "u", "json_schema": map[string]any{}, "status": "approved"}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"status":["Unknown field."]}}}`},
		{"empty schema is fine", map[string]any{"docker_image": "a/b", "docker_tag": "6", "url": "u", "json_schema": map[string]any{}}, 201, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.body).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
			if tc.name == "nested invalid schema" && r.JSON(t)["errors"].(map[string]any)["path"] != "deque(['properties', 'a', 'type'])" {
				t.Fatalf("path = %s", r.Body)
			}
		})
	}
	t.Run("PUT checks the schema too", func(t *testing.T) {
		id := post(benchmarkBody("put/img", "v1")).want(t, 201).JSON(t)["id"].(string)
		s.put(t, "/benchmarks/"+id, c.Admin, map[string]any{"docker_image": "put/img", "docker_tag": "v1", "url": "u", "json_schema": map[string]any{"type": "x"}}).want(t, 422)
		s.put(t, "/benchmarks/"+id, c.Admin, benchmarkBody("dup/img", "v1")).want(t, 409).
			wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Changes conflict submitted/existing benchmark"}}`)
		s.put(t, "/benchmarks/"+id, c.Admin, map[string]any{"docker_image": "put/img", "docker_tag": "v2", "url": "u2", "json_schema": map[string]any{}}).want(t, 204)
		got := s.get(t, "/benchmarks/"+id, "").want(t, 200).JSON(t)
		if got["docker_tag"] != "v2" || got["url"] != "u2" || got["description"] != "benchmark put/img" {
			t.Fatalf("after PUT = %v", got)
		}
		s.put(t, "/benchmarks/00000000-0000-4000-8000-000000000000", c.Admin, benchmarkBody("x/y", "1")).want(t, 404).
			wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"Benchmark 00000000-0000-4000-8000-000000000000 not found in the database"}}`)
	})
	t.Run("strict query on get", func(t *testing.T) {
		id := post(benchmarkBody("q/img", "v1")).want(t, 201).JSON(t)["id"].(string)
		s.get(t, "/benchmarks/"+id+"?x=1", "").want(t, 422)
		s.get(t, "/sites/00000000-0000-4000-8000-000000000000?x=1", "").want(t, 404)
	})
}

func TestCatalogConflictsAndFilters(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	cat := newCatalog(t, s, c)
	s.post(t, "/sites", c.User, map[string]any{"name": "site-a", "address": "z"}).want(t, 409).
		wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Site site-a already submitted/exists"}}`)
	s.post(t, "/sites/"+cat.Site+"/flavors", c.User, map[string]any{"name": "small"}).want(t, 409).
		wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Flavor small already submitted/exists"}}`)
	// Flavor names are unique per site only.
	s.post(t, "/sites/"+cat.PendingSite+"/flavors", c.User, map[string]any{"name": "small"}).want(t, 201)
	s.put(t, "/sites/"+cat.PendingSite, c.Admin, map[string]any{"name": "site-a", "address": "q"}).want(t, 409)
	s.put(t, "/flavors/"+cat.PendingFlavor, c.Admin, map[string]any{"name": "small"}).want(t, 409).
		wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Changes conflict submitted/existing flavor"}}`)
	s.post(t, "/sites/00000000-0000-4000-8000-000000000000/flavors", c.User, map[string]any{"name": "x"}).want(t, 404)
	s.get(t, "/sites/00000000-0000-4000-8000-000000000000/flavors", "").want(t, 404)
	s.get(t, "/sites/00000000-0000-4000-8000-000000000000/flavors?bad=1", "").want(t, 422)
	s.post(t, "/sites/"+cat.Site+"/flavors", c.User, map[string]any{"name": "x", "site_id": cat.Site}).want(t, 422)

	if it := s.get(t, "/benchmarks?docker_image=org/bench&docker_tag=v1", "").items(t); len(it) != 1 || it[0]["id"] != cat.Benchmark {
		t.Fatalf("exact filters = %v", it)
	}
	if it := s.get(t, "/benchmarks:search?terms=org&terms=bench&status=on_review", "").items(t); len(it) != 1 || it[0]["id"] != cat.PendingBenchmark {
		t.Fatalf("search pending = %v", it)
	}
	if it := s.get(t, "/sites?name=site-a&address=https://a.example", "").items(t); len(it) != 1 {
		t.Fatalf("site filters = %v", it)
	}
	if it := s.get(t, "/sites:search?terms=b.example&status=on_review", "").items(t); len(it) != 1 || it[0]["id"] != cat.PendingSite {
		t.Fatalf("site search = %v", it)
	}
	if it := s.get(t, "/sites/"+cat.Site+"/flavors:search?terms=lar&status=on_review", "").items(t); len(it) != 1 || it[0]["id"] != cat.PendingFlavor {
		t.Fatalf("flavor search = %v", it)
	}
	s.get(t, "/benchmarks?status=bad", "").want(t, 422).
		wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"status":["Must be one of: on_review, approved."]}}}`)
	s.get(t, "/benchmarks?upload_before=2020-01-01T00:00:00", "").want(t, 422).
		wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"upload_before":["Not a valid date."]}}}`)
	if n := len(s.get(t, "/benchmarks?upload_before=2000-1-1", "").items(t)); n != 0 {
		t.Fatalf("upload_before 2000 = %d", n)
	}
	if n := len(s.get(t, "/benchmarks?upload_after=2000-01-01&sort_by=-name", "").items(t)); n != 1 {
		t.Fatalf("upload_after 2000 = %d", n)
	}
	s.get(t, "/benchmarks?sort_by=%2Bjson_schema", "").want(t, 200)
	s.get(t, "/reports/submits?resource_type=result", c.Admin).want(t, 422)
	s.get(t, "/reports/submits?status=approved", c.Admin).want(t, 422)
	sub := s.get(t, "/reports/submits?resource_type=flavor&sort_by=%2Bupload_datetime", c.Admin).want(t, 200).items(t)
	if len(sub) != 2 || sub[0]["resource_id"] != cat.PendingFlavor {
		t.Fatalf("flavor submits = %v", sub)
	}
}

// TestCatalogDeleteCascades checks the hard-delete cascades of API.md §6.3
// for benchmarks, sites and flavors, on results of any uploader.
func TestCatalogDeleteCascades(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	db := openDB(t, s)
	cat := newCatalog(t, s, c)
	// A second approved flavor and benchmark so that each delete has
	// something that must survive it.
	fl2 := s.post(t, "/sites/"+cat.Site+"/flavors", c.User, map[string]any{"name": "medium"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/flavors/"+fl2+":approve", c.Admin, nil).want(t, 204)
	b2 := s.post(t, "/benchmarks", c.User, benchmarkBody("other/bench", "v1")).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/benchmarks/"+b2+":approve", c.Admin, nil).want(t, 204)
	tag := createTag(t, s, c.User, "linked")

	insert := func(bench, flavor, uploader string) string {
		t.Helper()
		var id string
		err := db.QueryRow(`INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
			VALUES (gen_random_uuid(), $1, $2, now(), '{"time": 1}', now(), $3, $4, (SELECT site_id FROM flavor WHERE id = $4), false) RETURNING id`,
			uploader, s.OP.Issuer(), bench, flavor).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO result_tags (result_id, tag_id) VALUES ($1, $2)`, id, tag); err != nil {
			t.Fatal(err)
		}
		return id
	}
	exists := func(table, id string) bool {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	r1 := insert(cat.Benchmark, cat.Flavor, c.UserSub)
	r2 := insert(b2, fl2, c.OwnerSub)
	r3 := insert(b2, cat.Flavor, c.UserSub)

	s.del(t, "/flavors/"+cat.Flavor, c.Admin).want(t, 204)
	if exists("result", r1) || exists("result", r3) || !exists("result", r2) || exists("flavor", cat.Flavor) || !exists("site", cat.Site) {
		t.Fatal("flavor delete: wrong cascade")
	}
	s.del(t, "/benchmarks/"+b2, c.Admin).want(t, 204)
	if exists("result", r2) || exists("benchmark", b2) || !exists("benchmark", cat.Benchmark) || !exists("tag", tag) {
		t.Fatal("benchmark delete: wrong cascade")
	}
	r4 := insert(cat.Benchmark, fl2, c.OwnerSub)
	s.del(t, "/sites/"+cat.Site, c.Admin).want(t, 204)
	if exists("result", r4) || exists("flavor", fl2) || exists("flavor", cat.PendingFlavor) || exists("site", cat.Site) {
		t.Fatal("site delete: wrong cascade")
	}
	var links int
	db.QueryRow(`SELECT count(*) FROM result_tags`).Scan(&links)
	if links != 0 {
		t.Fatalf("%d tag links left", links)
	}
	var submits int
	db.QueryRow(`SELECT count(*) FROM submit`).Scan(&submits)
	if submits != 2 { // the pending benchmark and site of newCatalog
		t.Fatalf("%d submits left, want 2", submits)
	}
	s.del(t, "/sites/"+cat.Site, c.Admin).want(t, 404)
}
