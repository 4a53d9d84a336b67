package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// bulkAnswer is a CreateResults answer.
type bulkAnswer struct {
	Created int `json:"created"`
	Failed  int `json:"failed"`
	Items   []struct {
		Line   int             `json:"line"`
		Code   int             `json:"code"`
		ID     string          `json:"id"`
		Errors json.RawMessage `json:"errors"`
	} `json:"items"`
}

func postBulk(t *testing.T, s *service, token, query, body string) (*response, bulkAnswer) {
	t.Helper()
	r := s.do(t, request{Method: "POST", Path: "/results:bulk" + query, Token: token, Body: body, ContentType: "application/x-ndjson"})
	var a bulkAnswer
	if r.Status == 200 || (r.Status == 422 && strings.Contains(string(r.Body), `"items"`)) {
		if err := json.Unmarshal(r.Body, &a); err != nil {
			t.Fatal(err)
		}
	}
	return r, a
}

func countResults(t *testing.T, s *service) int {
	t.Helper()
	var n int
	if err := openDB(t, s).QueryRow(`SELECT count(*) FROM result`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBulkLinesAnswerAsPostResults sends each kind of good and bad line in
// one body and checks that every line's code and errors are those POST
// /results answers for the same query and body.
func TestBulkLinesAnswerAsPostResults(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	future := time.Now().Add(48 * time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	nobody := "00000000-0000-4000-8000-000000000000"
	type line struct {
		name  string
		obj   map[string]any
		query url.Values // the POST /results equivalent
		body  any
	}
	q := func(bench, flavor, exec string, tags ...string) url.Values {
		v := url.Values{}
		if bench != "" {
			v.Set("benchmark_id", bench)
		}
		if flavor != "" {
			v.Set("flavor_id", flavor)
		}
		if exec != "" {
			v.Set("execution_datetime", exec)
		}
		for _, tg := range tags {
			v.Add("tags_ids", tg)
		}
		return v
	}
	obj := func(bench, flavor, exec string, doc any, tags ...string) map[string]any {
		m := map[string]any{}
		if bench != "" {
			m["benchmark_id"] = bench
		}
		if flavor != "" {
			m["flavor_id"] = flavor
		}
		if exec != "" {
			m["execution_datetime"] = exec
		}
		if tags != nil {
			m["tags_ids"] = tags
		}
		if doc != nil {
			m["json"] = doc
		}
		return m
	}
	cray := sampleResults(t)["cesga-1"]
	// 64 levels with the document's own object, 65 with one more array.
	deepest := json.RawMessage(`{"time":1,"x":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`)
	deep := json.RawMessage(`{"time":1,"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`)
	tooMany := json.RawMessage(manyKeys(100_001))
	lines := []line{
		{name: "good", obj: obj(w.Lenient, w.FlavorA, past, map[string]any{"time": 1}, w.Tag1), query: q(w.Lenient, w.FlavorA, past, w.Tag1), body: map[string]any{"time": 1}},
		{name: "good c-ray", obj: obj(w.CRay, w.FlavorB, past, cray), query: q(w.CRay, w.FlavorB, past), body: cray},
		{name: "no document", obj: obj(w.Lenient, w.FlavorA, past, nil), query: q(w.Lenient, w.FlavorA, past)},
		{name: "missing fields", obj: obj("", "", "", map[string]any{}), query: q("", "", "")},
		{name: "bad uuid and datetime", obj: obj("nope", w.FlavorA, "yesterday", nil), query: q("nope", w.FlavorA, "yesterday")},
		{name: "bad tag uuid", obj: obj(w.Lenient, w.FlavorA, past, nil, "x"), query: q(w.Lenient, w.FlavorA, past, "x")},
		{name: "no time zone", obj: obj(w.Lenient, w.FlavorA, "2021-05-21T10:31:00", nil), query: q(w.Lenient, w.FlavorA, "2021-05-21T10:31:00")},
		{name: "future", obj: obj(w.Lenient, w.FlavorA, future, nil), query: q(w.Lenient, w.FlavorA, future)},
		{name: "unknown benchmark", obj: obj(nobody, w.FlavorA, past, nil), query: q(nobody, w.FlavorA, past)},
		{name: "pending benchmark", obj: obj(w.PendingBench, w.FlavorA, past, nil), query: q(w.PendingBench, w.FlavorA, past)},
		{name: "unknown flavor", obj: obj(w.Lenient, nobody, past, nil), query: q(w.Lenient, nobody, past)},
		{name: "pending flavor", obj: obj(w.Lenient, w.Pending, past, nil), query: q(w.Lenient, w.Pending, past)},
		{name: "unknown tag", obj: obj(w.Lenient, w.FlavorA, past, nil, nobody), query: q(w.Lenient, w.FlavorA, past, nobody)},
		{name: "tag twice", obj: obj(w.Lenient, w.FlavorA, past, nil, w.Tag1, w.Tag1), query: q(w.Lenient, w.FlavorA, past, w.Tag1, w.Tag1)},
		{name: "schema violation", obj: obj(w.Lenient, w.FlavorA, past, map[string]any{"time": "slow"}), query: q(w.Lenient, w.FlavorA, past), body: map[string]any{"time": "slow"}},
		{name: "c-ray schema violation", obj: obj(w.CRay, w.FlavorA, past, map[string]any{"x": 1}), query: q(w.CRay, w.FlavorA, past), body: map[string]any{"x": 1}},
		{name: "document not an object", obj: obj(w.Lenient, w.FlavorA, past, []int{1}), query: q(w.Lenient, w.FlavorA, past), body: []int{1}},
		// The document limits of POST /results hold for each line (the
		// line's own members are not counted).
		{name: "nested deeper than MAX_DOCUMENT_DEPTH", obj: obj(w.Lenient, w.FlavorA, past, deep), query: q(w.Lenient, w.FlavorA, past), body: deep},
		{name: "nested as deep as MAX_DOCUMENT_DEPTH", obj: obj(w.Lenient, w.FlavorA, past, deepest), query: q(w.Lenient, w.FlavorA, past), body: deepest},
		{name: "more keys than MAX_DOCUMENT_KEYS", obj: obj(w.Lenient, w.FlavorA, past, tooMany), query: q(w.Lenient, w.FlavorA, past), body: tooMany},
		{name: "NUL in the document", obj: obj(w.Lenient, w.FlavorA, past, map[string]any{"time": 2, "s": "a\u0000b"}), query: q(w.Lenient, w.FlavorA, past), body: map[string]any{"time": 2, "s": "a\u0000b"}},
	}
	var body strings.Builder
	for _, l := range lines {
		b, _ := json.Marshal(l.obj)
		body.Write(b)
		body.WriteString("\n")
	}
	// Lines POST /results has no equivalent of.
	body.WriteString("\n")          // empty
	body.WriteString("{not json\n") // not JSON
	body.WriteString("[1,2]\r\n")   // not an object (CRLF)
	body.WriteString(`{"benchmark_id":1,"flavor_id":null,"execution_datetime":5,"tags_ids":"x","extra":1}` + "\n")
	body.WriteString(fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":3}}`, w.Lenient, w.FlavorA, past)) // last line without newline
	before := countResults(t, s)
	r, a := postBulk(t, s, c.User, "", body.String())
	r.want(t, 200)
	n := len(lines) + 5
	if len(a.Items) != n {
		t.Fatalf("%d items for %d lines: %s", len(a.Items), n, r.Body)
	}
	for i, l := range lines {
		it := a.Items[i]
		if it.Line != i+1 {
			t.Errorf("item %d has line %d", i, it.Line)
		}
		one := s.do(t, request{Method: "POST", Path: "/results?" + l.query.Encode(), Token: c.User, Body: l.body})
		if it.Code != one.Status {
			t.Errorf("%s: bulk code %d, POST /results %d: %s", l.name, it.Code, one.Status, one.Body)
			continue
		}
		if one.Status == 201 {
			// Stored as one by one: same representation but id and upload time.
			got := s.get(t, "/results/"+it.ID, "").want(t, 200).JSON(t)
			want := one.JSON(t)
			for _, m := range []map[string]any{got, want} {
				delete(m, "id")
				delete(m, "upload_datetime")
			}
			g, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(g) != string(wb) {
				t.Errorf("%s: stored\n%s\none by one\n%s", l.name, g, wb)
			}
			continue
		}
		var e struct{ Errors json.RawMessage }
		json.Unmarshal(one.Body, &e)
		if canonical(t, it.Errors) != canonical(t, e.Errors) {
			t.Errorf("%s: bulk errors %s, POST /results %s", l.name, it.Errors, e.Errors)
		}
	}
	extra := a.Items[len(lines):]
	wantExtra := []struct {
		code   int
		errors string
	}{
		{422, `{"json":["Invalid JSON line."]}`},
		{422, `{"json":["Invalid JSON line."]}`},
		{422, `{"json":{"_schema":["Invalid input type."]}}`},
		{422, `{"query":{"benchmark_id":["Not a valid UUID."],"execution_datetime":["Not a valid datetime."],"extra":["Unknown field."],"flavor_id":["Not a valid UUID."],"tags_ids":["Not a valid list."]}}`},
		{201, ``},
	}
	for i, wnt := range wantExtra {
		if extra[i].Code != wnt.code || (wnt.errors != "" && canonical(t, extra[i].Errors) != canonical(t, []byte(wnt.errors))) {
			t.Errorf("extra line %d: %d %s, want %d %s", extra[i].Line, extra[i].Code, extra[i].Errors, wnt.code, wnt.errors)
		}
	}
	created := 0
	for _, it := range a.Items {
		if it.Code == 201 {
			created++
		}
	}
	if a.Created != created || a.Failed != n-created || created != 5 {
		t.Errorf("created %d failed %d (items say %d created)", a.Created, a.Failed, created)
	}
	// The bulk upload stored its 5, the one-by-one uploads theirs (4).
	if got := countResults(t, s) - before; got != created+4 {
		t.Errorf("%d results stored, want %d", got, created+4)
	}
	// Uploaded in the caller's name.
	if got := s.get(t, "/users/self/results?per_page=100", c.User).JSON(t)["total"].(float64); int(got) != created+4 {
		t.Errorf("the user has %v results", got)
	}
}

func TestBulkAtomicAndLimits(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"MAX_BODY_BYTES": "2000000"})
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	pat := s.newPAT(t, c.User, "results:write")
	good := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":1}}`, w.Lenient, w.FlavorA, past)
	bad := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":"x"}}`, w.Lenient, w.FlavorA, past)
	nul := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":1,"s":"\u0000"}}`, w.Lenient, w.FlavorA, past)
	before := countResults(t, s)

	// atomic=true: one bad line stores nothing.
	r, a := postBulk(t, s, pat, "?atomic=true", good+"\n"+bad+"\n"+good+"\n")
	r.want(t, 422)
	if a.Created != 0 || a.Failed != 1 || a.Items[0].Code != 424 || a.Items[1].Code != 422 || a.Items[2].Code != 424 || a.Items[0].ID != "" {
		t.Errorf("atomic answer: %s", r.Body)
	}
	// A line the database refuses (NUL) also rolls back everything.
	r, a = postBulk(t, s, pat, "?atomic=true", good+"\n"+nul+"\n")
	r.want(t, 422)
	if a.Created != 0 || a.Items[1].Code != 422 || !strings.Contains(string(a.Items[1].Errors), "Unsupported character") {
		t.Errorf("atomic NUL answer: %s", r.Body)
	}
	if got := countResults(t, s); got != before {
		t.Fatalf("atomic failures stored %d results", got-before)
	}
	// atomic=true, every line good: all stored.
	r, a = postBulk(t, s, pat, "?atomic=true", good+"\n"+good+"\n")
	r.want(t, 200)
	if a.Created != 2 || a.Failed != 0 {
		t.Errorf("atomic success: %s", r.Body)
	}
	// Without atomic the NUL line alone fails.
	r, a = postBulk(t, s, pat, "?atomic=false", good+"\n"+nul+"\n"+good)
	r.want(t, 200)
	if a.Created != 2 || a.Items[1].Code != 422 {
		t.Errorf("NUL line: %s", r.Body)
	}
	before = countResults(t, s)

	// 10,001 lines: refused as a whole, nothing stored; 10,000 are fine.
	lines := strings.Repeat(good+"\n", 10_000)
	r, _ = postBulk(t, s, pat, "", lines+good+"\n")
	r.want(t, 422).wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Too many lines: at most 10000 per request","max_lines":10000}}`)
	if got := countResults(t, s); got != before {
		t.Fatalf("10,001 lines stored %d results", got-before)
	}
	start := time.Now()
	r, a = postBulk(t, s, pat, "", lines)
	r.want(t, 200)
	if a.Created != 10_000 || len(a.Items) != 10_000 || a.Items[9999].Line != 10_000 {
		t.Fatalf("10,000 lines: created %d, %d items", a.Created, len(a.Items))
	}
	t.Logf("10,000 lines stored in %v", time.Since(start))

	// A huge line (over MAX_BODY_BYTES): 413, nothing stored.
	before = countResults(t, s)
	huge := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":1,"pad":%q}}`,
		w.Lenient, w.FlavorA, past, strings.Repeat("x", 2_100_000))
	r, _ = postBulk(t, s, pat, "", good+"\n"+huge+"\n")
	r.want(t, 413)
	if got := countResults(t, s); got != before {
		t.Fatalf("a huge body stored %d results", got-before)
	}
	// A large line within the limit is one large result.
	large := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":1,"pad":%q}}`,
		w.Lenient, w.FlavorA, past, strings.Repeat("x", 1_500_000))
	r, a = postBulk(t, s, pat, "", large)
	r.want(t, 200)
	if a.Created != 1 {
		t.Errorf("large line: %s", r.Body)
	}

	// Whole-body answers.
	s.do(t, request{Method: "POST", Path: "/results:bulk", Token: pat, Body: good, ContentType: "application/json"}).want(t, 400)
	s.do(t, request{Method: "POST", Path: "/results:bulk", Token: pat, Body: good, ContentType: "text/plain"}).want(t, 400)
	r, _ = postBulk(t, s, pat, "", "")
	r.want(t, 422).wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"The body holds no line: send one JSON object per line"}}`)
	r, _ = postBulk(t, s, pat, "?atomic=maybe", good)
	r.want(t, 422).wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"atomic":["Not a valid boolean."]}}}`)
	r, _ = postBulk(t, s, pat, "?dry_run=1", good)
	r.want(t, 422)
	// Only blank lines: each is a bad line, nothing else.
	r, a = postBulk(t, s, pat, "", "\n\n")
	r.want(t, 200)
	if a.Created != 0 || a.Failed != 2 {
		t.Errorf("blank lines: %s", r.Body)
	}
}
