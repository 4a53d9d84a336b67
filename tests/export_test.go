package tests

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestExportNDJSON(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	var ids []string
	for i, exec := range []string{"2021-05-03T10:00:00+00:00", "2021-05-01T10:00:00+00:00", "2021-05-02T10:00:00+00:00"} {
		id := upload(t, s, c.User, w.Lenient, w.FlavorA, exec, map[string]any{"time": i, "n": 10 - i}, w.Tag1).want(t, 201).JSON(t)["id"].(string)
		ids = append(ids, id)
	}
	cray := upload(t, s, c.User, w.CRay, w.FlavorB, past, sampleResults(t)["cesga-1"]).want(t, 201).JSON(t)["id"].(string)
	hidden := upload(t, s, c.User, w.Lenient, w.FlavorA, past, map[string]any{"time": 99}).want(t, 201).JSON(t)["id"].(string)
	s.del(t, "/results/"+hidden, c.Admin).want(t, 204)

	lines := func(q string) []string {
		t.Helper()
		r := s.get(t, "/results:export"+q, "").want(t, 200)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="results.ndjson"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		if len(r.Body) == 0 {
			return nil
		}
		if !bytes.HasSuffix(r.Body, []byte("\n")) {
			t.Error("the last line has no newline")
		}
		return strings.Split(strings.TrimSuffix(string(r.Body), "\n"), "\n")
	}
	// Each line is the result as GET /results/{id} answers, default order
	// +execution_datetime, hidden results left out.
	got := lines("")
	want := []string{ids[1], ids[2], ids[0], cray}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, l := range got {
		one := s.get(t, "/results/"+want[i], "").want(t, 200)
		if canonical(t, []byte(l)) != canonical(t, one.Body) {
			t.Errorf("line %d:\n%s\nGET /results/{id}:\n%s", i+1, l, one.Body)
		}
	}
	// sort_by and the filters of GET /results.
	order := func(q string) []string {
		var out []string
		for _, l := range lines(q) {
			var r struct{ ID string }
			json.Unmarshal([]byte(l), &r)
			out = append(out, r.ID)
		}
		return out
	}
	check := func(q string, want ...string) {
		t.Helper()
		if got := order(q); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	check("?sort_by=-json.n&benchmark_id="+w.Lenient, ids[0], ids[1], ids[2])
	check("?filters="+url.QueryEscape("time >= 1")+"&sort_by=%2Bjson.time", ids[1], ids[2])
	check("?site_id="+w.SiteB, cray)
	check("?tags_ids="+w.Tag1+"&sort_by=-execution_datetime", ids[0], ids[2], ids[1])
	check("?execution_before=2021-05-02&execution_after=2021-04-30", ids[1])
	check("?upload_before=2000-01-01")
	check("?format=ndjson&flavor_id="+w.FlavorB, cray)
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	evil := s.post(t, "/sites", c.User, map[string]any{"name": "=HYPERLINK(\"http://x\")", "address": "a"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/sites/"+evil+":approve", c.Admin, nil).want(t, 204)
	evilFlavor := s.post(t, "/sites/"+evil+"/flavors", c.User, map[string]any{"name": "@SUM(A1)"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/flavors/"+evilFlavor+":approve", c.Admin, nil).want(t, 204)
	doc := map[string]any{"time": 5, "f": 1.50, "big": json.Number("12345678901234567890"), "s": "plain, \"quoted\"\nnewline", "neg": -3,
		"plus": "+1", "at": "@cmd", "eq": "=1+2", "dash": "-x", "null": nil, "b": true, "obj": map[string]any{"k": []int{1, 2}},
		"arr": []any{"a", map[string]any{"z": 1}}}
	id := upload(t, s, c.User, w.Lenient, evilFlavor, past, doc, w.Tag1, w.Tag2).want(t, 201).JSON(t)["id"].(string)
	res := s.get(t, "/results/"+id, "").JSON(t)

	cols := []string{"time", "f", "big", "s", "neg", "plus", "at", "eq", "dash", "null", "b", "obj", "obj.k", "obj.k.1", "arr.1.z", "arr.-1", "missing.path"}
	q := url.Values{"format": {"csv"}, "columns": cols}
	r := s.get(t, "/results:export?"+q.Encode(), "").want(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="results.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !bytes.Contains(r.Body, []byte("\r\n")) {
		t.Error("rows do not end in CRLF (RFC 4180)")
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := append([]string{"id", "upload_datetime", "execution_datetime", "benchmark_id", "benchmark", "site_id", "site",
		"flavor_id", "flavor", "tags"}, cols...)
	if len(recs) != 2 || fmt.Sprint(recs[0]) != fmt.Sprint(header) {
		t.Fatalf("records = %q", recs)
	}
	want := []string{id, res["upload_datetime"].(string), "2021-05-21T07:31:00", w.Lenient, "b1:v1.0", evil,
		`'=HYPERLINK("http://x")`, evilFlavor, "'@SUM(A1)", "tag1;tag2",
		"5", "1.5", "12345678901234567890", "plain, \"quoted\"\nnewline", "'-3", "'+1", "'@cmd", "'=1+2", "'-x", "", "true",
		`{"k": [1, 2]}`, "[1, 2]", "2", "1", `{"z": 1}`, ""}
	for i := range want {
		if recs[1][i] != want[i] {
			t.Errorf("column %s = %q, want %q", header[i], recs[1][i], want[i])
		}
	}
	// No results: the header alone.
	r = s.get(t, "/results:export?format=csv&upload_before=2000-01-01", "").want(t, 200)
	if recs, _ := csv.NewReader(bytes.NewReader(r.Body)).ReadAll(); len(recs) != 1 || len(recs[0]) != 10 {
		t.Errorf("empty CSV = %q", r.Body)
	}
	// An empty NDJSON export is an empty body.
	if r := s.get(t, "/results:export?upload_before=2000-01-01", "").want(t, 200); len(r.Body) != 0 {
		t.Errorf("empty NDJSON = %q", r.Body)
	}
}

func TestExportLimitsAndValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"EXPORT_MAX_ROWS": "3"})
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	for i := range 4 {
		upload(t, s, c.User, w.Lenient, w.FlavorA, past, map[string]any{"time": i}).want(t, 201)
	}
	s.get(t, "/results:export", "").want(t, 422).wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{
		"error":"The export holds 4 results, more than EXPORT_MAX_ROWS (3): narrow the filters","total":4,"max_rows":3}}`)
	s.get(t, "/results:export?format=csv", "").want(t, 422)
	s.get(t, "/results:export?filters="+url.QueryEscape("time < 3"), "").want(t, 200)

	tests := []struct{ query, want string }{
		{"format=xml", `{"query":{"format":["Must be one of: ndjson, csv."]}}`},
		{"columns=time", `{"query":{"columns":["Only for format csv."]}}`},
		{"format=csv&columns=a..b", `{"query":{"columns":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"format=csv&columns=" + strings.Repeat("a.", 32) + "a", `{"query":{"columns":["Not a valid JSON path: at most 32 keys separated by dots, none empty, in at most 1024 characters."]}}`},
		{"page=1", `{"query":{"page":["Unknown field."]}}`},
		{"per_page=1", `{"query":{"per_page":["Unknown field."]}}`},
		{"benchmark_id=x", `{"query":{"benchmark_id":["Not a valid UUID."]}}`},
		{"format=csv&" + strings.Repeat("columns=a&", 101), `{"query":{"columns":["At most 100 columns."]}}`},
	}
	for _, tt := range tests {
		r := s.get(t, "/results:export?"+tt.query, "").want(t, 422)
		var got struct{ Errors json.RawMessage }
		json.Unmarshal(r.Body, &got)
		if canonical(t, got.Errors) != canonical(t, []byte(tt.want)) {
			t.Errorf("%q: errors = %s, want %s", tt.query, got.Errors, tt.want)
		}
	}
	s.get(t, "/results:export?sort_by=nope", "").want(t, 422)
	s.get(t, "/results:export?filters=nonsense", "").want(t, 422)
}

// TestExportStopsWhenTheClientGoesAway: a client that reads a little of a
// large export and disconnects ends the export's transaction and cursor
// at once; the service carries on without an error.
func TestExportStopsWhenTheClientGoesAway(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	db := openDB(t, s)
	doc := sampleResults(t)["cesga-1"]
	// 8,000 results of ~4 kB each line: far more than socket buffers hold.
	_, err := db.Exec(`INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime,
		benchmark_id, flavor_id, site_id, deleted)
		SELECT gen_random_uuid(), $1, $2, now(), $3::jsonb, now() - g * interval '1 minute', $4, $5, $6, false
		FROM generate_series(1, 8000) g`, c.UserSub, s.OP.Issuer(), string(doc), w.CRay, w.FlavorA, w.SiteA)
	if err != nil {
		t.Fatal(err)
	}
	exporting := func() int {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')
			AND (query LIKE 'FETCH FORWARD%' OR query LIKE 'DECLARE export%')`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	resp, err := http.Get(s.URL + "/results:export")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	// The export is stalled on the unread socket, its transaction open.
	deadline := time.Now().Add(20 * time.Second)
	for exporting() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the export's cursor never showed in pg_stat_activity")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp.Body.Close() // unread data: the connection is closed
	deadline = time.Now().Add(20 * time.Second)
	for exporting() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the export's transaction is still open 20 s after the client went away")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.get(t, "/results:stats?metric=result.score", "").want(t, 200)
	if strings.Contains(s.Logs(), "export failed") || strings.Contains(s.errorLines(), `"level":"error"`) {
		t.Errorf("errors logged:\n%s", s.errorLines())
	}
	// It stopped early: far fewer rows were read than the export holds.
	var stopped struct {
		Sent  int `json:"rows_sent"`
		Total int `json:"rows_total"`
	}
	for _, l := range strings.Split(s.Logs(), "\n") {
		if strings.Contains(l, "export stopped: client went away") {
			json.Unmarshal([]byte(l), &stopped)
		}
	}
	t.Logf("export stopped after %d of %d rows", stopped.Sent, stopped.Total)
	if stopped.Total != 8000 || stopped.Sent == 0 || stopped.Sent > 4000 {
		t.Errorf("export stopped after %d of %d rows, want well before the end", stopped.Sent, stopped.Total)
	}
}
