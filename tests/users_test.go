package tests

import (
	"context"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/oidctest"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

// TestUserAccessByCaller checks rows 46–52 of API.md §14.
func TestUserAccessByCaller(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	kinds := []struct{ name, token string }{
		{"anon", c.Anon}, {"untrusted", c.Untrusted}, {"unreg", c.Unreg}, {"user", c.User}, {"owner", c.Owner}, {"admin", c.Admin}}
	rows := []struct {
		method, path string
		want         [6]int
	}{
		{"GET", "/users", [6]int{401, 401, 403, 403, 403, 200}},
		{"GET", "/users:search?terms=example", [6]int{401, 401, 403, 403, 403, 200}},
		{"GET", "/users/self", [6]int{401, 401, 404, 200, 200, 200}},
		{"POST", "/users/self:update", [6]int{401, 401, 403, 204, 204, 204}},
		{"GET", "/users/self:try_admin", [6]int{401, 401, 403, 403, 403, 204}},
		{"POST", "/users:remove?sub=nobody", [6]int{401, 401, 403, 403, 403, 204}},
		// Last: it registers the unreg caller.
		{"POST", "/users:register", [6]int{401, 401, 201, 409, 409, 409}},
	}
	for _, row := range rows {
		for i, k := range kinds {
			t.Run(row.method+" "+row.path+" as "+k.name, func(t *testing.T) {
				s.do(t, request{Method: row.method, Path: row.path, Token: k.token}).want(t, row.want[i])
			})
		}
	}
}

var upstreamTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)

func TestUserRegistration(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tok := s.token(t, "alice", false)
	before := time.Now().UTC().Add(-time.Second)
	r := s.post(t, "/users:register", tok, nil).want(t, 201)
	u := r.JSON(t)
	if u["sub"] != "alice" || u["iss"] != s.OP.Issuer() || u["email"] != "alice@example.org" {
		t.Fatalf("registered user = %s", r.Body)
	}
	ts, _ := u["registration_datetime"].(string)
	if !upstreamTime.MatchString(ts) {
		t.Fatalf("registration_datetime %q not in the upstream format", ts)
	}
	at, _ := time.Parse("2006-01-02T15:04:05.999999", ts)
	if at.Before(before) || at.After(time.Now().UTC().Add(time.Second)) {
		t.Fatalf("registration_datetime %v is not the real registration time (UTC)", at)
	}
	s.get(t, "/users/self", tok).want(t, 200).wantBody(t, string(r.Body))
	s.post(t, "/users:register", tok, nil).want(t, 409).
		wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"User already submitted/exists"}}`)

	t.Run("without e-mail in userinfo", func(t *testing.T) {
		u := oidctest.User{Sub: "no-mail"}
		s.OP.SetUser(u)
		tok := s.OP.MintT(t, u, oidctest.TokenOptions{})
		s.post(t, "/users:register", tok, nil).want(t, 422).
			wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"No scope for email in oidc token"}}`)
	})
	t.Run("unregistered self is 404", func(t *testing.T) {
		s.get(t, "/users/self", s.token(t, "bob", false)).want(t, 404).
			wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"User not registered"}}`)
	})
}

func TestUserSelfUpdate(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tok := s.register(t, "carol", false)
	cases := []struct {
		name   string
		user   oidctest.User
		status int
		want   string
	}{
		{"no e-mail", oidctest.User{Sub: "carol", EmailVerified: oidctest.Bool(true)}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"error":"No scope for email in oidc token"}}`},
		{"no email_verified", oidctest.User{Sub: "carol", Email: "new@example.org"}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"error":"No email_verified status in user"}}`},
		{"unverified", oidctest.User{Sub: "carol", Email: "new@example.org", EmailVerified: oidctest.Bool(false)}, 422,
			`{"code":422,"status":"Unprocessable Entity","errors":{"error":"Email unverified by OIDC provider"}}`},
		{"verified new address", oidctest.User{Sub: "carol", Email: "new@example.org", EmailVerified: oidctest.Bool(true)}, 204, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.OP.SetUser(tc.user)
			// A fresh token: the service caches userinfo per token.
			tok := s.OP.MintT(t, tc.user, oidctest.TokenOptions{})
			r := s.post(t, "/users/self:update", tok, nil).want(t, tc.status)
			if tc.want != "" {
				r.wantBody(t, tc.want)
			}
		})
	}
	r := s.get(t, "/users/self", tok).want(t, 200)
	if r.JSON(t)["email"] != "new@example.org" {
		t.Fatalf("e-mail not updated: %s", r.Body)
	}
}

func TestAdminRule(t *testing.T) {
	t.Parallel()
	t.Run("entitled but unregistered is not admin", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		tok := s.token(t, "entitled", true)
		s.get(t, "/users/self:try_admin", tok).want(t, 403).
			wantBody(t, `{"error":"Forbidden","error_description":"User entitled@`+s.OP.Issuer()+` does not meet requirements","error_details":"Evaluation of: is_admin"}`)
	})
	t.Run("empty ADMIN_ENTITLEMENTS makes every registered user admin", func(t *testing.T) {
		t.Parallel()
		s := startService(t, map[string]string{"ADMIN_ENTITLEMENTS": ""})
		tok := s.register(t, "plain", false)
		s.get(t, "/users/self:try_admin", tok).want(t, 204)
		s.get(t, "/users", tok).want(t, 200)
		if !regexp.MustCompile(`every registered user`).MatchString(s.Logs()) {
			t.Fatalf("no start-up warning about empty ADMIN_ENTITLEMENTS in the log:\n%s", s.Logs())
		}
	})
	t.Run("entitlement sent as a single string counts", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		u := oidctest.User{Sub: "stringy", Email: "s@example.org", Entitlements: []string{adminEntitlement}, EntitlementAsString: true}
		s.OP.SetUser(u)
		tok := s.OP.MintT(t, u, oidctest.TokenOptions{})
		s.post(t, "/users:register", tok, nil).want(t, 201)
		s.get(t, "/users/self:try_admin", tok).want(t, 204)
	})
	t.Run("entitlement matching is exact", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		u := oidctest.User{Sub: "prefix", Email: "p@example.org", Entitlements: []string{adminEntitlement + "#aai.egi.eu"}}
		s.OP.SetUser(u)
		tok := s.OP.MintT(t, u, oidctest.TokenOptions{})
		s.post(t, "/users:register", tok, nil).want(t, 201)
		s.get(t, "/users/self:try_admin", tok).want(t, 403)
	})
}

func TestUserListAndSearch(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	r := s.get(t, "/users", c.Admin).want(t, 200)
	if n := len(r.items(t)); n != 3 {
		t.Fatalf("users = %d, want 3: %s", n, r.Body)
	}
	r = s.get(t, "/users?sub="+c.OwnerSub, c.Admin).want(t, 200)
	if it := r.items(t); len(it) != 1 || it[0]["email"] != "owner-1@example.org" {
		t.Fatalf("sub filter = %s", r.Body)
	}
	r = s.get(t, "/users?sort_by=-sub", c.Admin).want(t, 200)
	if it := r.items(t); it[0]["sub"] != "user-1" || it[2]["sub"] != "admin-1" {
		t.Fatalf("sort -sub = %s", r.Body)
	}
	r = s.get(t, "/users:search?terms=owner&terms=example", c.Admin).want(t, 200)
	if it := r.items(t); len(it) != 1 || it[0]["sub"] != "owner-1" {
		t.Fatalf("search = %s", r.Body)
	}
	s.get(t, "/users?email=x&bogus=1", c.Admin).want(t, 422)
}

// TestUserRemoveCascades checks that POST /users:remove deletes the user
// and everything uploaded, with the cascades of API.md §6.3, and nothing
// of other users that does not depend on it.
func TestUserRemoveCascades(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	db := sqlx.MustOpen("postgres", s.DSN)
	defer db.Close()
	iss := s.OP.Issuer()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// owner-1 uploads a benchmark, a site with a flavor, a result and a claim;
	// user-1 uploads a flavor on owner's site, a result on owner's benchmark,
	// and a benchmark/site/flavor/result of their own.
	const (
		ownBench   = "10000000-0000-4000-8000-000000000001"
		ownSite    = "10000000-0000-4000-8000-000000000002"
		ownFlavor  = "10000000-0000-4000-8000-000000000003"
		ownResult  = "10000000-0000-4000-8000-000000000004"
		ownClaim   = "10000000-0000-4000-8000-000000000005"
		userFlavor = "20000000-0000-4000-8000-000000000003"
		userBench  = "20000000-0000-4000-8000-000000000001"
		userSite   = "20000000-0000-4000-8000-000000000002"
		userFl2    = "20000000-0000-4000-8000-000000000006"
		userRes1   = "20000000-0000-4000-8000-000000000004" // on owner's benchmark
		userRes2   = "20000000-0000-4000-8000-000000000007" // all user's own
		submitB    = "30000000-0000-4000-8000-000000000001"
	)
	tag := createTag(t, s, c.User, "kept-tag")
	exec(`INSERT INTO submit (id, resource_type, upload_datetime) VALUES ($1, 'benchmark', now())`, submitB)
	exec(`INSERT INTO benchmark (id, uploader_sub, uploader_iss, upload_datetime, status, docker_image, docker_tag, json_schema, url, _submit_report_id)
		VALUES ($1, $2, $3, now(), 'on_review', 'img/own', 'v1', '{}', 'https://x', $4),
		       ($5, $6, $3, now(), 'approved', 'img/user', 'v1', '{}', 'https://y', NULL)`, ownBench, c.OwnerSub, iss, submitB, userBench, c.UserSub)
	exec(`INSERT INTO site (id, uploader_sub, uploader_iss, upload_datetime, status, name, address)
		VALUES ($1, $2, $3, now(), 'approved', 'own-site', 'a'), ($4, $5, $3, now(), 'approved', 'user-site', 'b')`,
		ownSite, c.OwnerSub, iss, userSite, c.UserSub)
	exec(`INSERT INTO flavor (id, uploader_sub, uploader_iss, upload_datetime, status, name, site_id)
		VALUES ($1, $2, $3, now(), 'approved', 'f-own', $4), ($5, $6, $3, now(), 'approved', 'f-user-on-own', $4),
		       ($7, $6, $3, now(), 'approved', 'f-user', $8)`,
		ownFlavor, c.OwnerSub, iss, ownSite, userFlavor, c.UserSub, userFl2, userSite)
	exec(`INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
		VALUES ($1, $2, $3, now(), '{}', now(), $4, $5, $6, false),
		       ($7, $8, $3, now(), '{}', now(), $4, $9, $10, false),
		       ($11, $8, $3, now(), '{}', now(), $12, $9, $10, false)`,
		ownResult, c.OwnerSub, iss, ownBench, ownFlavor, ownSite, userRes1, c.UserSub, userFl2, userSite, userRes2, userBench)
	exec(`INSERT INTO result_tags (result_id, tag_id) VALUES ($1, $2), ($3, $2)`, userRes2, tag, ownResult)
	// owner-1 claims user-1's own result.
	exec(`INSERT INTO claim (id, uploader_sub, uploader_iss, status, message, resource_type, upload_datetime, result_id)
		VALUES ($1, $2, $3, 'on_review', 'wrong', 'result', now(), $4)`, ownClaim, c.OwnerSub, iss, userRes2)
	exec(`UPDATE result SET _claim_report_id = $1, deleted = true WHERE id = $2`, ownClaim, userRes2)

	s.post(t, "/users:remove?sub="+url.QueryEscape(c.OwnerSub), c.Admin, nil).want(t, 204)

	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.GetContext(ctx, &n, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	checks := []struct {
		name string
		q    string
		args []any
		want int
	}{
		{"owner gone", `SELECT count(*) FROM "user" WHERE sub = $1`, []any{c.OwnerSub}, 0},
		{"other users stay", `SELECT count(*) FROM "user"`, nil, 2},
		{"owner's benchmark gone", `SELECT count(*) FROM benchmark WHERE id = $1`, []any{ownBench}, 0},
		{"its submit gone", `SELECT count(*) FROM submit WHERE id = $1`, []any{submitB}, 0},
		{"owner's site gone", `SELECT count(*) FROM site WHERE id = $1`, []any{ownSite}, 0},
		{"other user's flavor on owner's site gone", `SELECT count(*) FROM flavor WHERE id = $1`, []any{userFlavor}, 0},
		{"other user's result on owner's benchmark gone", `SELECT count(*) FROM result WHERE id = $1`, []any{userRes1}, 0},
		{"owner's result gone", `SELECT count(*) FROM result WHERE id = $1`, []any{ownResult}, 0},
		{"its tag links gone", `SELECT count(*) FROM result_tags WHERE result_id = $1`, []any{ownResult}, 0},
		{"unrelated result stays", `SELECT count(*) FROM result WHERE id = $1`, []any{userRes2}, 1},
		{"and its tag link", `SELECT count(*) FROM result_tags WHERE result_id = $1`, []any{userRes2}, 1},
		{"result hidden by the deleted claim stays hidden", `SELECT count(*) FROM result WHERE id = $1 AND deleted AND _claim_report_id IS NULL`, []any{userRes2}, 1},
		{"owner's claim gone", `SELECT count(*) FROM claim WHERE id = $1`, []any{ownClaim}, 0},
		{"other user's benchmark, site, flavor stay", `SELECT (SELECT count(*) FROM benchmark WHERE id = $1) + (SELECT count(*) FROM site WHERE id = $2) + (SELECT count(*) FROM flavor WHERE id = $3)`, []any{userBench, userSite, userFl2}, 3},
		{"tags stay", `SELECT count(*) FROM tag WHERE id = $1`, []any{tag}, 1},
	}
	for _, ch := range checks {
		if got := count(ch.q, ch.args...); got != ch.want {
			t.Errorf("%s: got %d, want %d", ch.name, got, ch.want)
		}
	}
	// Removing nobody is still 204; removing oneself works.
	s.post(t, "/users:remove?email=nobody@example.org", c.Admin, nil).want(t, 204)
	s.post(t, "/users:remove?sub="+c.AdminSub+"&iss="+url.QueryEscape(iss), c.Admin, nil).want(t, 204)
	s.get(t, "/users/self", c.Admin).want(t, 404)
}
