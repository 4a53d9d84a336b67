package tests

import (
	"net/url"
	"strings"
	"testing"
)

// TestHostileInputIsAClear4xx: inputs PostgreSQL cannot store or Go
// parses differently from upstream get a 4xx in the API's error format,
// never a 500 (found in review; API.md §3.1–3.4, §8.3).
func TestHostileInputIsAClear4xx(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	res := upload(t, s, c.User, w.Lenient, w.FlavorA, past, map[string]any{"time": 1}).want(t, 201).JSON(t)["id"].(string)

	cases := []struct {
		name, method, path, token string
		body                      any
		ctype                     string
		status                    int
		want                      string
	}{
		{name: "NUL in an exact-match parameter", method: "GET", path: "/sites?name=%00", status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"name":["Not a valid string."]}}}`},
		{name: "NUL in a search term", method: "GET", path: "/results:search?terms=%00", status: 422},
		{name: "invalid UTF-8 in a search term matches nothing", method: "GET", path: "/sites:search?terms=%ff", status: 200},
		{name: "invalid UTF-8 in a user filter", method: "GET", path: "/users?email=%c3", token: c.Admin, status: 200},
		{name: "NUL in a body string", method: "POST", path: "/tags", token: c.User, body: `{"name":"nul\u0000x"}`, status: 422},
		{name: "NUL in a result document", method: "POST", token: c.User, body: `{"time":10,"s":"a\u0000b"}`, status: 422,
			path: "/results?benchmark_id=" + w.Lenient + "&flavor_id=" + w.FlavorA + "&execution_datetime=" + url.QueryEscape(past)},
		{name: "number beyond PostgreSQL's range", method: "POST", token: c.User, body: `{"time":10,"n":1e999999}`, status: 422,
			path: "/results?benchmark_id=" + w.Lenient + "&flavor_id=" + w.FlavorA + "&execution_datetime=" + url.QueryEscape(past)},
		{name: "invalid UTF-8 in a body is invalid JSON", method: "POST", path: "/tags", token: c.User, body: []byte("{\"name\":\"\xff\"}"), status: 400,
			want: `{"code":400,"status":"Bad Request","errors":{"json":["Invalid JSON body."]}}`},
		{name: "a malformed content-type parameter keeps the media type", method: "POST", path: "/tags", token: c.User,
			body: `{"name":"ct"}`, ctype: "application/json; charset", status: 201},
		{name: "page number overflowing the offset", method: "GET", path: "/benchmarks?page=922337203685477581", status: 404,
			want: `{"code":404,"status":"Not Found"}`},
		{name: "page number beyond 64 bits", method: "GET", path: "/tags?page=99999999999999999999", status: 404},
		{name: "page number wrapping to page one", method: "GET", path: "/tags?page=4611686018427387905", status: 404},
		{name: "semicolon is part of a value", method: "GET", path: "/tags:search?terms=zzz;q", status: 200},
		{name: "semicolon in a name is part of the name", method: "GET", path: "/benchmarks/" + w.Lenient + "?x;=1", status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"x;":["Unknown field."]}}}`},
		{name: "results: every query error in one body", method: "GET", path: "/results?per_page=0&bad=1", status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"bad":["Unknown field."],"per_page":["Must be greater than or equal to 1 and less than or equal to 100."]}}}`},
		{name: "results: query errors before filter errors", method: "GET", path: "/results?per_page=0&filters=time>1", status: 422,
			want: `{"code":422,"status":"Unprocessable Entity","errors":{"query":{"per_page":["Must be greater than or equal to 1 and less than or equal to 100."]}}}`},
		{name: "year zero", method: "POST", token: c.User, body: `{"time":1}`, status: 422,
			path: "/results?benchmark_id=" + w.Lenient + "&flavor_id=" + w.FlavorA + "&execution_datetime=0000-05-21T10:31:00Z"},
		{name: "tags of a result with NUL in the id list", method: "PUT", path: "/results/" + res + "/tags", token: c.User,
			body: `{"tags_ids":["\u0000"]}`, status: 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, request{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body, ContentType: tc.ctype}).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
		})
	}
	if strings.Contains(s.Logs(), `"level":"error"`) {
		t.Errorf("hostile input logged errors:\n%s", s.errorLines())
	}
}

// TestImageCheckRefusesNonPublicRegistries: with BENCHMARK_IMAGE_CHECK=
// registry, an image name cannot make the service connect into its own
// network (no connection is even attempted: the addresses are literal).
func TestImageCheckRefusesNonPublicRegistries(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"BENCHMARK_IMAGE_CHECK": "registry"})
	c := s.newCallers(t)
	for _, image := range []string{"127.0.0.1:1/x", "10.0.0.1:5000/x", "169.254.169.254/x"} {
		s.post(t, "/benchmarks", c.User, map[string]any{"docker_image": image, "docker_tag": "t", "url": "u", "json_schema": map[string]any{}}).
			want(t, 422).wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Could not validate container image: Error: registry host not found or address not allowed"}}`)
	}
	// The check runs before the id lookup on PUT (API.md §13.2 item 24).
	s.put(t, "/benchmarks/00000000-0000-4000-8000-000000000000", c.Admin,
		map[string]any{"docker_image": "127.0.0.1:1/x", "docker_tag": "t", "url": "u", "json_schema": map[string]any{}}).want(t, 422)
}
