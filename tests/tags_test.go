package tests

import (
	"net/http"
	"testing"
)

// TestTagAccessByCaller checks every tag operation for every caller kind of
// API.md §14 (rows 40–45).
func TestTagAccessByCaller(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	kinds := []struct {
		name  string
		token string
	}{{"anon", c.Anon}, {"untrusted", c.Untrusted}, {"unreg", c.Unreg}, {"user", c.User}, {"owner", c.Owner}, {"admin", c.Admin}}
	want := map[string][6]int{
		"GET /tags":         {200, 200, 200, 200, 200, 200},
		"POST /tags":        {401, 401, 403, 201, 201, 201},
		"GET /tags:search":  {200, 200, 200, 200, 200, 200},
		"GET /tags/{id}":    {200, 200, 200, 200, 200, 200},
		"PUT /tags/{id}":    {401, 401, 403, 403, 403, 204},
		"DELETE /tags/{id}": {401, 401, 403, 403, 403, 204},
	}
	for i, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			id := createTag(t, s, c.Admin, "tag-for-"+k.name)
			s.get(t, "/tags", k.token).want(t, want["GET /tags"][i])
			s.post(t, "/tags", k.token, map[string]any{"name": "new-by-" + k.name}).want(t, want["POST /tags"][i])
			s.get(t, "/tags:search?terms=tag", k.token).want(t, want["GET /tags:search"][i])
			s.get(t, "/tags/"+id, k.token).want(t, want["GET /tags/{id}"][i])
			s.put(t, "/tags/"+id, k.token, map[string]any{"name": "renamed-by-" + k.name}).want(t, want["PUT /tags/{id}"][i])
			s.del(t, "/tags/"+id, k.token).want(t, want["DELETE /tags/{id}"][i])
		})
	}
}

// createTag creates a tag and returns its id.
func createTag(t testing.TB, s *service, token, name string) string {
	t.Helper()
	r := s.post(t, "/tags", token, map[string]any{"name": name, "description": "about " + name}).want(t, http.StatusCreated)
	return r.JSON(t)["id"].(string)
}

func TestTagAuthErrorBodies(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	s.post(t, "/tags", "", map[string]any{"name": "x"}).want(t, 401).
		wantBody(t, `{"error":"Unauthenticated","error_description":"No authorization header"}`)
	s.do(t, request{Method: "POST", Path: "/tags", Body: map[string]any{"name": "x"}, Header: map[string]string{"Authorization": "Basic abc"}}).
		want(t, 401).wantBody(t, `{"error":"Unauthenticated","error_description":"No bearer token in authorization header"}`)
	r := s.do(t, request{Method: "POST", Path: "/tags", Body: map[string]any{"name": "x"}, Header: map[string]string{"Authorization": "Bearer "}}).want(t, 401)
	if r.JSON(t)["error"] != "Unauthenticated" {
		t.Fatalf("empty bearer token body = %s", r.Body)
	}
	r = s.post(t, "/tags", c.Untrusted, map[string]any{"name": "x"}).want(t, 401)
	if got := r.JSON(t)["error_description"]; got != "Issuer is not trusted: "+s.Rogue.Issuer() {
		t.Fatalf("untrusted description = %v", got)
	}
	s.post(t, "/tags", c.Unreg, map[string]any{"name": "x"}).want(t, 403).
		wantBody(t, `{"error":"Forbidden","error_description":"User unreg-1@`+s.OP.Issuer()+` does not meet requirements","error_details":"Evaluation of: is_registered"}`)
	id := createTag(t, s, c.User, "t1")
	s.put(t, "/tags/"+id, c.User, map[string]any{"name": "t2"}).want(t, 403).
		wantBody(t, `{"error":"Forbidden","error_description":"User user-1@`+s.OP.Issuer()+` does not meet requirements","error_details":"Evaluation of: is_admin"}`)
	// An anonymous request with a bad body still gets 401 (API.md §2.5).
	s.post(t, "/tags", "", "{bad json").want(t, 401)
	// Public endpoints never look at the header, even a garbage one.
	s.get(t, "/tags", "garbage.token.here").want(t, 200)
}

func TestTagLifecycle(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)

	r := s.post(t, "/tags", c.User, map[string]any{"name": "gpu", "description": "GPU runs"}).want(t, 201)
	tag := r.JSON(t)
	id := tag["id"].(string)
	if tag["name"] != "gpu" || tag["description"] != "GPU runs" || len(tag) != 3 {
		t.Fatalf("created tag = %s", r.Body)
	}
	s.get(t, "/tags/"+id, "").want(t, 200).wantBody(t, string(r.Body))

	t.Run("duplicate name is a conflict", func(t *testing.T) {
		s.post(t, "/tags", c.User, map[string]any{"name": "gpu"}).want(t, 409).
			wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Tag gpu already submitted/exists"}}`)
	})
	t.Run("empty name is accepted", func(t *testing.T) {
		r := s.post(t, "/tags", c.User, map[string]any{"name": ""}).want(t, 201)
		if _, ok := r.JSON(t)["description"]; ok {
			t.Fatalf("null description must be omitted: %s", r.Body)
		}
	})
	t.Run("update keeps an omitted description", func(t *testing.T) {
		s.put(t, "/tags/"+id, c.Admin, map[string]any{"name": "gpu2"}).want(t, 204)
		s.get(t, "/tags/"+id, "").want(t, 200).wantBody(t, `{"id":"`+id+`","name":"gpu2","description":"GPU runs"}`)
	})
	t.Run("update to a taken name is a conflict", func(t *testing.T) {
		other := createTag(t, s, c.User, "cpu")
		s.put(t, "/tags/"+other, c.Admin, map[string]any{"name": "gpu2"}).want(t, 409).
			wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Changes conflict submitted/existing tag"}}`)
	})
	t.Run("unknown id is 404 with the upstream text", func(t *testing.T) {
		const missing = "00000000-0000-4000-8000-000000000000"
		s.get(t, "/tags/"+missing, "").want(t, 404).
			wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"Record `+missing+` not found in the database"}}`)
		s.put(t, "/tags/"+missing, c.Admin, map[string]any{"name": "x"}).want(t, 404)
		s.del(t, "/tags/"+missing, c.Admin).want(t, 404)
	})
	t.Run("bad body on unknown id is 422 before 404", func(t *testing.T) {
		s.put(t, "/tags/00000000-0000-4000-8000-000000000000", c.Admin, map[string]any{}).want(t, 422).
			wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"name":["Missing data for required field."]}}}`)
	})
	t.Run("delete removes it", func(t *testing.T) {
		s.del(t, "/tags/"+id, c.Admin).want(t, 204)
		s.get(t, "/tags/"+id, "").want(t, 404)
	})
}

func TestTagBodyValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		want   string
	}{
		{"missing name", map[string]any{"description": "d"}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"name":["Missing data for required field."]}}}`},
		{"unknown field", map[string]any{"name": "a", "id": "x"}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"id":["Unknown field."]}}}`},
		{"null name", map[string]any{"name": nil}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"name":["Field may not be null."]}}}`},
		{"null description", map[string]any{"name": "a", "description": nil}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"description":["Field may not be null."]}}}`},
		{"number name", map[string]any{"name": 5}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"name":["Not a valid string."]}}}`},
		{"array body", []any{1}, "", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"_schema":["Invalid input type."]}}}`},
		{"malformed json", "{nope", "", 400,
			`{"code":400,"status":"Bad Request","errors":{"json":["Invalid JSON body."]}}`},
		{"text/plain body counts as absent", `{"name":"x"}`, "text/plain", 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"json":{"name":["Missing data for required field."]}}}`},
		{"vendor json type is json", `{"name":"vnd"}`, "application/vnd.api+json", 201, ""},
		{"json with charset", `{"name":"cs"}`, "application/json; charset=utf-8", 201, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, request{Method: "POST", Path: "/tags", Token: c.User, Body: tc.body, ContentType: tc.ctype}).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
		})
	}
	t.Run("oversized body is 413", func(t *testing.T) {
		t.Parallel()
		s2 := startService(t, map[string]string{"MAX_BODY_BYTES": "64"})
		c2 := s2.newCallers(t)
		big := `{"name":"` + string(make([]byte, 0)) + stringsRepeat("a", 200) + `"}`
		s2.do(t, request{Method: "POST", Path: "/tags", Token: c2.User, Body: big}).want(t, 413)
	})
}

func stringsRepeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}
