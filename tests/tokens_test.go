package tests

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newPAT creates a personal access token through the API with an OpenID
// Connect token and returns its secret.
func (s *service) newPAT(t testing.TB, oidcToken string, scopes ...string) string {
	t.Helper()
	body := s.post(t, "/users/self/tokens", oidcToken, map[string]any{"name": "pat " + strings.Join(scopes, ","), "scopes": scopes}).
		want(t, http.StatusCreated).JSON(t)
	return body["token"].(string)
}

// patCallers are the caller kinds of the extension tables: anonymous, user
// by OIDC, user by PAT with the row's scope, user by PAT without it, admin
// by OIDC, admin by PAT (every scope).
var patCallerNames = [6]string{"anonymous", "user by OIDC", "user by PAT with scope", "user by PAT without scope",
	"admin by OIDC", "admin by PAT"}

type patCallers struct {
	c        callers
	withPAT  map[string]string // scope → the user's PAT with only that scope ("" = every scope)
	without  map[string]string // scope → the user's PAT with every other scope
	adminPAT string
}

func newPATCallers(t testing.TB, s *service, c callers) patCallers {
	t.Helper()
	all := []string{"results:write", "catalog:write", "read"}
	p := patCallers{c: c, withPAT: map[string]string{}, without: map[string]string{}}
	p.withPAT[""] = s.newPAT(t, c.User, all...)
	p.without[""] = p.withPAT[""] // rows without a scope: no PAT can use them
	for i, sc := range all {
		p.withPAT[sc] = s.newPAT(t, c.User, sc)
		var others []string
		for j, o := range all {
			if j != i {
				others = append(others, o)
			}
		}
		p.without[sc] = s.newPAT(t, c.User, others...)
	}
	p.adminPAT = s.newPAT(t, c.Admin, all...)
	return p
}

// token returns the bearer of caller kind i for a row needing scope.
func (p patCallers) token(i int, scope string) string {
	return [6]string{"", p.c.User, p.withPAT[scope], p.without[scope], p.c.Admin, p.adminPAT}[i]
}

// TestTokenAccessByCaller covers every operation of EXTENSIONS.md's tables
// (X1 and its scope table, X2–X4) and the admin operations, for every
// caller kind.
func TestTokenAccessByCaller(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	p := newPATCallers(t, s, c)
	q := url.Values{"benchmark_id": {w.Lenient}, "flavor_id": {w.FlavorA}, "execution_datetime": {past}}
	bulk := fmt.Sprintf(`{"benchmark_id":%q,"flavor_id":%q,"execution_datetime":%q,"json":{"time":1}}`+"\n", w.Lenient, w.FlavorA, past)
	userResult := func() string {
		return upload(t, s, c.User, w.Lenient, w.FlavorA, past, map[string]any{"time": 7}).want(t, 201).JSON(t)["id"].(string)
	}
	ownerResult := func() string {
		return upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 8}).want(t, 201).JSON(t)["id"].(string)
	}
	userTokenID := func() string {
		return s.post(t, "/users/self/tokens", c.User, map[string]any{"name": "victim", "scopes": []string{"read"}}).
			want(t, 201).JSON(t)["id"].(string)
	}
	type row struct {
		name        string
		scope       string
		req         func(i int) request
		want        [6]int
		contentType string
	}
	rows := []row{
		// X1.
		{"CreateToken", "", func(int) request {
			return request{Method: "POST", Path: "/users/self/tokens", Body: map[string]any{"name": "n", "scopes": []string{"read"}}}
		}, [6]int{401, 201, 403, 403, 201, 403}, ""},
		{"ListTokens", "read", func(int) request { return request{Method: "GET", Path: "/users/self/tokens"} },
			[6]int{401, 200, 200, 403, 200, 200}, ""},
		{"RevokeToken (a token of the user)", "", func(int) request {
			return request{Method: "DELETE", Path: "/users/self/tokens/" + userTokenID()}
		}, [6]int{401, 204, 403, 403, 404, 403}, ""},
		// Scope results:write.
		{"CreateResult", "results:write", func(int) request {
			return request{Method: "POST", Path: "/results?" + q.Encode(), Body: map[string]any{"time": 3}}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		{"CreateResults", "results:write", func(int) request {
			return request{Method: "POST", Path: "/results:bulk", Body: bulk, ContentType: "application/x-ndjson"}
		}, [6]int{401, 200, 200, 403, 200, 200}, ""},
		{"UpdateResultTags (a result of the user)", "results:write", func(int) request {
			return request{Method: "PUT", Path: "/results/" + userResult() + "/tags", Body: map[string]any{"tags_ids": []string{w.Tag1}}}
		}, [6]int{401, 204, 204, 403, 204, 403}, ""},
		{"ClaimResult", "results:write", func(int) request {
			return request{Method: "POST", Path: "/results/" + ownerResult() + ":claim", Body: map[string]any{"message": "wrong"}}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		// Scope catalog:write.
		{"CreateBenchmark", "catalog:write", func(i int) request {
			return request{Method: "POST", Path: "/benchmarks", Body: benchmarkBody(fmt.Sprintf("pat/bench%d", i), "v1")}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		{"CreateSite", "catalog:write", func(i int) request {
			return request{Method: "POST", Path: "/sites", Body: map[string]any{"name": fmt.Sprintf("pat-site-%d", i), "address": "a"}}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		{"AddFlavor", "catalog:write", func(i int) request {
			return request{Method: "POST", Path: "/sites/" + w.SiteA + "/flavors", Body: map[string]any{"name": fmt.Sprintf("pat-flavor-%d", i)}}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		{"CreateTag", "catalog:write", func(i int) request {
			return request{Method: "POST", Path: "/tags", Body: map[string]any{"name": fmt.Sprintf("pat-tag-%d", i)}}
		}, [6]int{401, 201, 201, 403, 201, 201}, ""},
		// Scope read.
		{"GetSelf", "read", func(int) request { return request{Method: "GET", Path: "/users/self"} },
			[6]int{401, 200, 200, 403, 200, 200}, ""},
		{"ListUserResults", "read", func(int) request { return request{Method: "GET", Path: "/users/self/results"} },
			[6]int{401, 200, 200, 403, 200, 200}, ""},
		{"ListResultClaims (a result of the user)", "read", func(int) request {
			return request{Method: "GET", Path: "/results/" + userResult() + "/claims"}
		}, [6]int{401, 200, 200, 403, 200, 403}, ""},
		// No scope reaches these.
		{"ListUserClaims", "", func(int) request { return request{Method: "GET", Path: "/users/self/claims"} },
			[6]int{401, 200, 403, 403, 200, 403}, ""},
		{"RegisterSelf", "", func(int) request { return request{Method: "POST", Path: "/users:register"} },
			[6]int{401, 409, 403, 403, 409, 403}, ""},
		{"UpdateSelf", "", func(int) request { return request{Method: "POST", Path: "/users/self:update"} },
			[6]int{401, 204, 403, 403, 204, 403}, ""},
		// Admin operations: never through a PAT.
		{"ListUsers", "", func(int) request { return request{Method: "GET", Path: "/users"} },
			[6]int{401, 403, 403, 403, 200, 403}, ""},
		{"TryAdmin", "", func(int) request { return request{Method: "GET", Path: "/users/self:try_admin"} },
			[6]int{401, 403, 403, 403, 204, 403}, ""},
		{"DeleteResult", "", func(int) request { return request{Method: "DELETE", Path: "/results/" + ownerResult()} },
			[6]int{401, 403, 403, 403, 204, 403}, ""},
		{"ListClaims", "", func(int) request { return request{Method: "GET", Path: "/reports/claims"} },
			[6]int{401, 403, 403, 403, 200, 403}, ""},
		// X2, X3: public, the Authorization header is never read.
		{"ResultStats", "", func(int) request { return request{Method: "GET", Path: "/results:stats?metric=time"} },
			[6]int{200, 200, 200, 200, 200, 200}, ""},
		{"ExportResults", "", func(int) request { return request{Method: "GET", Path: "/results:export"} },
			[6]int{200, 200, 200, 200, 200, 200}, ""},
	}
	for _, r := range rows {
		for i := range 6 {
			req := r.req(i)
			req.Token = p.token(i, r.scope)
			got := s.do(t, req)
			if got.Status != r.want[i] {
				t.Errorf("%s as %s = %d, want %d: %s", r.name, patCallerNames[i], got.Status, r.want[i], got.Body)
			}
		}
	}
}

func TestTokenErrorBodies(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	read := s.newPAT(t, c.User, "read")
	adminPAT := s.newPAT(t, c.Admin, "results:write", "catalog:write", "read")

	s.post(t, "/tags", read, map[string]any{"name": "x"}).want(t, 403).
		wantBody(t, `{"code":403,"status":"Forbidden","errors":{"error":"Token scope catalog:write required"}}`)
	s.post(t, "/users/self/tokens", read, map[string]any{"name": "x", "scopes": []string{"read"}}).want(t, 403).
		wantBody(t, `{"code":403,"status":"Forbidden","errors":{"error":"Personal access tokens cannot be used for this operation"}}`)
	s.get(t, "/users", adminPAT).want(t, 403).wantBody(t, `{"error":"Forbidden","error_description":"User admin-1@`+
		s.OP.Issuer()+` does not meet requirements","error_details":"Evaluation of: is_admin"}`)
	for _, bad := range []string{"eoscperf_", "eoscperf_short", "eoscperf_" + strings.Repeat("A", 43), read + "x", read[:len(read)-1]} {
		s.get(t, "/users/self", bad).want(t, 401).
			wantBody(t, `{"error":"Unauthenticated","error_description":"Invalid personal access token"}`)
	}
}

// TestTokenLifecycle: create (the secret once), list newest first without
// secrets, last_used_at, revoke, expiry, another user's token, and removal
// with the user; no PAT ever reaches the OpenID provider or the log.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"LOG_LEVEL": "debug"})
	c := s.newCallers(t)
	db := openDB(t, s)

	created := s.post(t, "/users/self/tokens", c.User, map[string]any{"name": "runner", "scopes": []string{"results:write", "read"},
		"expires_in_days": 7}).want(t, 201).JSON(t)
	secret := created["token"].(string)
	id := created["id"].(string)
	if !strings.HasPrefix(secret, "eoscperf_") || len(secret) < len("eoscperf_")+43 || created["prefix"] != secret[:16] {
		t.Fatalf("secret %q, prefix %v", secret, created["prefix"])
	}
	if created["last_used_at"] != nil {
		t.Errorf("last_used_at = %v before any use", created["last_used_at"])
	}
	exp, _ := time.Parse("2006-01-02T15:04:05.000000", created["expires_at"].(string))
	made, _ := time.Parse("2006-01-02T15:04:05.000000", created["created_at"].(string))
	if d := exp.Sub(made); d != 7*24*time.Hour {
		t.Errorf("expires_at - created_at = %v, want 7 days", d)
	}
	// Only the hash is stored.
	var stored []byte
	var storedPrefix string
	if err := db.QueryRow(`SELECT hash, prefix FROM personal_access_token WHERE id = $1`, id).Scan(&stored, &storedPrefix); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 || strings.Contains(string(stored), secret[16:]) || storedPrefix != secret[:16] {
		t.Errorf("stored hash %x prefix %q", stored, storedPrefix)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM personal_access_token t WHERE t::text LIKE '%' || $1 || '%'`, secret[16:]).Scan(&n)
	if n != 0 {
		t.Error("the secret is stored")
	}

	second := s.post(t, "/users/self/tokens", c.User, map[string]any{"name": "second", "scopes": []string{"read"}}).want(t, 201).JSON(t)
	list := s.get(t, "/users/self/tokens", c.User).want(t, 200)
	items := list.items(t)
	if len(items) != 2 || items[0]["id"] != second["id"] || items[1]["id"] != id {
		t.Fatalf("list = %s", list.Body)
	}
	if strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), `"token"`) {
		t.Error("the list shows a secret")
	}
	if items[1]["expires_at"] != created["expires_at"] || fmt.Sprint(items[1]["scopes"]) != "[results:write read]" {
		t.Errorf("listed token = %v", items[1])
	}

	// A PAT is checked without any call to the OpenID provider.
	before := s.OP.Requests()
	s.get(t, "/users/self", secret).want(t, 200).JSON(t)
	if s.OP.Requests() != before {
		t.Error("a PAT made a call to the OpenID provider")
	}
	var used1, used2 sql.NullTime
	db.QueryRow(`SELECT last_used_at FROM personal_access_token WHERE id = $1`, id).Scan(&used1)
	if !used1.Valid {
		t.Fatal("last_used_at not set after a use")
	}
	s.get(t, "/users/self/results", secret).want(t, 200)
	db.QueryRow(`SELECT last_used_at FROM personal_access_token WHERE id = $1`, id).Scan(&used2)
	if !used2.Time.Equal(used1.Time) {
		t.Errorf("last_used_at moved within a minute: %v → %v", used1.Time, used2.Time)
	}
	// An hour later (moved in the database), the next use updates it.
	db.Exec(`UPDATE personal_access_token SET last_used_at = last_used_at - interval '1 hour' WHERE id = $1`, id)
	s.get(t, "/users/self", secret).want(t, 200)
	db.QueryRow(`SELECT last_used_at FROM personal_access_token WHERE id = $1`, id).Scan(&used2)
	if !used2.Time.After(used1.Time.Add(-time.Minute)) {
		t.Errorf("last_used_at not updated after an hour: %v", used2.Time)
	}
	if got := s.get(t, "/users/self/tokens", c.User).items(t)[1]["last_used_at"]; got == nil {
		t.Error("last_used_at not shown")
	}

	// Another user's token: 404, and it stays.
	s.del(t, "/users/self/tokens/"+id, c.Owner).want(t, 404)
	s.get(t, "/users/self", secret).want(t, 200)
	// Expired: 401.
	db.Exec(`UPDATE personal_access_token SET expires_at = now() AT TIME ZONE 'UTC' - interval '1 second' WHERE id = $1`, second["id"])
	secondSecret := second["token"].(string)
	s.get(t, "/users/self", secondSecret).want(t, 401)
	// Revoked: 401.
	s.del(t, "/users/self/tokens/"+id, c.User).want(t, 204)
	s.get(t, "/users/self", secret).want(t, 401).
		wantBody(t, `{"error":"Unauthenticated","error_description":"Invalid personal access token"}`)
	s.del(t, "/users/self/tokens/"+id, c.User).want(t, 404)

	// Removed with the user.
	owners := s.newPAT(t, c.Owner, "read")
	s.get(t, "/users/self", owners).want(t, 200)
	s.post(t, "/users:remove?sub="+c.OwnerSub, c.Admin, nil).want(t, 204)
	db.QueryRow(`SELECT count(*) FROM personal_access_token WHERE user_sub = $1`, c.OwnerSub).Scan(&n)
	if n != 0 {
		t.Errorf("%d tokens left after removing their user", n)
	}
	s.get(t, "/users/self", owners).want(t, 401)

	// Never logged.
	s.stop(t)
	logs := s.Logs()
	for name, sec := range map[string]string{"secret": secret, "second secret": secondSecret, "owner's secret": owners} {
		if strings.Contains(logs, sec) || strings.Contains(logs, sec[16:]) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	if !strings.Contains(logs, `"route":"/users/self/tokens"`) {
		t.Error("no access log line of the token routes")
	}
}

func TestTokenBodyValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	tests := []struct {
		name string
		body any
		want string
	}{
		{"missing fields", map[string]any{}, `{"json":{"name":["Missing data for required field."],"scopes":["Missing data for required field."]}}`},
		{"unknown field", map[string]any{"name": "x", "scopes": []string{"read"}, "admin": true}, `{"json":{"admin":["Unknown field."]}}`},
		{"empty name", map[string]any{"name": "", "scopes": []string{"read"}}, `{"json":{"name":["Length must be between 1 and 64."]}}`},
		{"long name", map[string]any{"name": strings.Repeat("n", 65), "scopes": []string{"read"}}, `{"json":{"name":["Length must be between 1 and 64."]}}`},
		{"no scopes", map[string]any{"name": "x", "scopes": []string{}}, `{"json":{"scopes":["Shorter than minimum length 1."]}}`},
		{"unknown scope", map[string]any{"name": "x", "scopes": []string{"admin"}}, `{"json":{"scopes":{"0":["Must be one of: results:write, catalog:write, read."]}}}`},
		{"scope twice", map[string]any{"name": "x", "scopes": []string{"read", "read"}}, `{"json":{"scopes":{"1":["Scopes must be distinct."]}}}`},
		{"scopes not a list", map[string]any{"name": "x", "scopes": "read"}, `{"json":{"scopes":["Not a valid list."]}}`},
		{"expiry too long", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 366},
			`{"json":{"expires_in_days":["Must be greater than or equal to 1 and less than or equal to 365."]}}`},
		{"expiry zero", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 0},
			`{"json":{"expires_in_days":["Must be greater than or equal to 1 and less than or equal to 365."]}}`},
		{"expiry not an integer", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 1.5},
			`{"json":{"expires_in_days":["Not a valid integer."]}}`},
		{"body not an object", []string{"x"}, `{"json":{"_schema":["Invalid input type."]}}`},
	}
	for _, tt := range tests {
		r := s.post(t, "/users/self/tokens", c.User, tt.body).want(t, 422)
		var got struct{ Errors json.RawMessage }
		json.Unmarshal(r.Body, &got)
		var a, b any
		json.Unmarshal(got.Errors, &a)
		json.Unmarshal([]byte(tt.want), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: errors = %s, want %s", tt.name, got.Errors, tt.want)
		}
	}
	s.get(t, "/users/self/tokens?page=2", c.User).want(t, 404)
	s.get(t, "/users/self/tokens?sort_by=name", c.User).want(t, 422)
}
