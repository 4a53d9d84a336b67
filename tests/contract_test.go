package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestHTTPContract covers the rules shared by every resource (API.md §1,
// §3), exercised on tags and users.
func TestHTTPContract(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"CORS_ORIGINS": "https://perf.example.org"})
	c := s.newCallers(t)
	for _, n := range []string{"b-tag", "a-tag", "c-tag"} {
		createTag(t, s, c.User, n)
	}

	t.Run("non-uuid id does not match the route", func(t *testing.T) {
		for _, p := range []string{"/tags/not-a-uuid", "/tags/0123456789abcdef0123456789abcdef"} {
			s.get(t, p, "").want(t, 404).wantBody(t, `{"code":404,"status":"Not Found"}`)
			// before authentication
			s.put(t, p, "", map[string]any{"name": "x"}).want(t, 404)
		}
	})
	t.Run("upper-case uuid matches", func(t *testing.T) {
		id := createTag(t, s, c.User, "upper")
		r := s.get(t, "/tags/"+strings.ToUpper(id), "").want(t, 200)
		if r.JSON(t)["id"] != id {
			t.Fatalf("id not lower-case: %s", r.Body)
		}
	})
	t.Run("trailing slash is 404", func(t *testing.T) {
		s.get(t, "/tags/", "").want(t, 404)
	})
	t.Run("unknown method is a JSON 405", func(t *testing.T) {
		s.do(t, request{Method: "PATCH", Path: "/tags"}).want(t, 405).wantBody(t, `{"code":405,"status":"Method Not Allowed"}`)
	})
	t.Run("unknown path is a JSON 404", func(t *testing.T) {
		s.get(t, "/nothing-here", "").want(t, 404).wantBody(t, `{"code":404,"status":"Not Found"}`)
	})
	t.Run("percent-encoded colon equals colon", func(t *testing.T) {
		s.get(t, "/tags%3Asearch?terms=a-tag", "").want(t, 200)
	})
	t.Run("OPTIONS answers without authentication", func(t *testing.T) {
		r := s.do(t, request{Method: "OPTIONS", Path: "/tags"}).want(t, 200)
		if got := r.Header.Get("Allow"); got != "GET, HEAD, OPTIONS, POST" {
			t.Fatalf("Allow = %q", got)
		}
		if len(r.Body) != 0 {
			t.Fatalf("OPTIONS body = %q", r.Body)
		}
		s.do(t, request{Method: "OPTIONS", Path: "/users:remove"}).want(t, 200)
	})
	t.Run("HEAD is GET without a body", func(t *testing.T) {
		r := s.do(t, request{Method: "HEAD", Path: "/tags"}).want(t, 200)
		if len(r.Body) != 0 {
			t.Fatalf("HEAD body = %q", r.Body)
		}
		s.do(t, request{Method: "HEAD", Path: "/users"}).want(t, 401)
	})
	t.Run("X-Script-Name prefix is stripped when present", func(t *testing.T) {
		h := map[string]string{"X-Script-Name": "/api/v1"}
		s.do(t, request{Method: "GET", Path: "/api/v1/tags", Header: h}).want(t, 200)
		s.do(t, request{Method: "GET", Path: "/tags", Header: h}).want(t, 200)
	})
	t.Run("request id is returned and a safe caller id kept", func(t *testing.T) {
		r := s.get(t, "/tags", "")
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatal("no X-Request-Id")
		}
		r = s.do(t, request{Method: "GET", Path: "/tags", Header: map[string]string{"X-Request-Id": "abc-123"}})
		if got := r.Header.Get("X-Request-Id"); got != "abc-123" {
			t.Fatalf("X-Request-Id = %q", got)
		}
		r = s.do(t, request{Method: "GET", Path: "/tags", Header: map[string]string{"X-Request-Id": "bad id\twith spaces"}})
		if got := r.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
			t.Fatalf("unsafe X-Request-Id kept: %q", got)
		}
	})
	t.Run("CORS headers for a configured origin only", func(t *testing.T) {
		r := s.do(t, request{Method: "GET", Path: "/tags", Header: map[string]string{"Origin": "https://perf.example.org"}})
		if r.Header.Get("Access-Control-Allow-Origin") != "https://perf.example.org" {
			t.Fatalf("no CORS header: %v", r.Header)
		}
		r = s.do(t, request{Method: "GET", Path: "/tags", Header: map[string]string{"Origin": "https://evil.example"}})
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("CORS header for an unknown origin")
		}
		r = s.do(t, request{Method: "OPTIONS", Path: "/tags", Header: map[string]string{
			"Origin": "https://perf.example.org", "Access-Control-Request-Method": "POST"}}).want(t, 200)
		if !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight headers: %v", r.Header)
		}
	})
}

func TestQueryValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	for _, n := range []string{"b-tag", "a-tag", "c-tag"} {
		createTag(t, s, c.User, n)
	}
	cases := []struct {
		name, path string
		status     int
		want       string
	}{
		{"unknown parameter on a list", "/tags?bad_key=1", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"bad_key":["Unknown field."]}}}`},
		{"unknown parameter on a get is ignored", "/tags/%s?x=1", 200, ""},
		{"per_page 0", "/tags?per_page=0", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"per_page":["Must be greater than or equal to 1 and less than or equal to 100."]}}}`},
		{"per_page 101", "/tags?per_page=101", 422, ""},
		{"page 0", "/tags?page=0", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"page":["Must be greater than or equal to 1."]}}}`},
		{"page not a number", "/tags?page=x", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"page":["Not a valid integer."]}}}`},
		{"page past the end", "/tags?per_page=1&page=5", 404, `{"code":404,"status":"Not Found"}`},
		{"unknown sort field", "/tags?sort_by=%2Bbad", 422,
			`{"code":422,"status":"Unprocessable Entity","message":{"KeyError":"Unexpected field 'bad'","hint":"Use ',' to separate fields"}}`},
		{"sort key without operator drops its first character", "/tags?sort_by=Bad%20sort", 422,
			`{"code":422,"status":"Unprocessable Entity","message":{"KeyError":"Unexpected field 'ad sort'","hint":"Use ',' to separate fields"}}`},
		{"unencoded plus is a space", "/tags?sort_by=+name", 422,
			`{"code":422,"status":"Unprocessable Entity","message":{"KeyError":"Unknown order operator ' '","hint":"Use '+'(asc) or '-'(desc) before sort field"}}`},
		{"relationship names are not sortable", "/tags?sort_by=%2Btags_ids", 422, ""},
		{"users:remove without a filter", "/users:remove", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"error":"Cancelled, undefined users"}}`},
		{"users:remove with page", "/users:remove?page=1", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"page":["Unknown field."]}}}`},
	}
	id := createTag(t, s, c.User, "target")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if strings.Contains(path, "%s") {
				path = fmt.Sprintf(path, id)
			}
			method := "GET"
			if strings.HasPrefix(path, "/users:remove") {
				method = "POST"
			}
			r := s.do(t, request{Method: method, Path: path, Token: c.Admin}).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
		})
	}
}

func TestPaginationAndSorting(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	names := []string{"delta", "alpha", "charlie", "bravo", "echo"}
	for _, n := range names {
		s.post(t, "/tags", c.User, map[string]any{"name": n, "description": "d-" + n}).want(t, 201)
	}
	type page struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
		Total, Page, PerPage, Pages int
		HasPrev                     bool `json:"has_prev"`
		HasNext                     bool `json:"has_next"`
		PrevNum                     *int `json:"prev_num"`
		NextNum                     *int `json:"next_num"`
	}
	get := func(path string) (page, map[string]any) {
		r := s.get(t, path, "").want(t, 200)
		var p page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		p.PerPage = int(r.JSON(t)["per_page"].(float64))
		return p, r.JSON(t)
	}
	namesOf := func(p page) string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.Name)
		}
		return strings.Join(out, ",")
	}

	p, raw := get("/tags?per_page=2")
	if namesOf(p) != "alpha,bravo" || p.Total != 5 || p.Pages != 3 || p.HasPrev || !p.HasNext || *p.NextNum != 2 {
		t.Fatalf("first page = %+v", raw)
	}
	if _, ok := raw["prev_num"]; ok {
		t.Fatal("prev_num must be omitted on the first page")
	}
	p, raw = get("/tags?per_page=2&page=3")
	if namesOf(p) != "echo" || !p.HasPrev || p.HasNext || *p.PrevNum != 2 {
		t.Fatalf("last page = %+v", raw)
	}
	if _, ok := raw["next_num"]; ok {
		t.Fatal("next_num must be omitted on the last page")
	}
	if p, _ = get("/tags?sort_by=-name"); namesOf(p) != "echo,delta,charlie,bravo,alpha" {
		t.Fatalf("descending = %s", namesOf(p))
	}
	if p, _ = get("/tags?sort_by=,-description,"); namesOf(p) != "echo,delta,charlie,bravo,alpha" {
		t.Fatalf("empty entries skipped = %s", namesOf(p))
	}
	if p, _ = get("/tags?name=charlie"); namesOf(p) != "charlie" {
		t.Fatalf("name filter = %s", namesOf(p))
	}
	if p, _ = get("/tags?name=charlie&name=alpha"); namesOf(p) != "charlie" {
		t.Fatalf("first value of a repeated scalar = %s", namesOf(p))
	}
	if p, _ = get("/tags:search?terms[]=a&terms[]=l&sort_by=%2Bname"); namesOf(p) != "alpha,charlie,delta" {
		t.Fatalf("terms[] AND = %s", namesOf(p))
	}
	if p, _ = get("/tags:search?terms=A"); namesOf(p) != "" {
		t.Fatalf("search is case-sensitive: %s", namesOf(p))
	}
	if p, _ = get("/tags:search?terms=%25"); p.Total != 0 {
		t.Fatalf("%% must match literally, got %d", p.Total)
	}
	if p, _ = get("/tags:search?terms=_"); p.Total != 0 {
		t.Fatalf("_ must match literally, got %d", p.Total)
	}
	if p, _ = get("/tags:search?terms=d-"); p.Total != 5 {
		t.Fatalf("description searched: %d", p.Total)
	}
	_, raw = get("/tags?name=none")
	if raw["total"].(float64) != 0 || raw["pages"].(float64) != 0 || len(raw["items"].([]any)) != 0 {
		t.Fatalf("empty first page = %v", raw)
	}
	_ = http.StatusOK
}
