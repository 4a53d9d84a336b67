package tests

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/pgtest/upstream123"
	"github.com/google/uuid"
)

// restoreUpstream fills the database of dsn with the 1.2.3 fixture in one
// of its forms, as its owner, with the fixture's issuer replaced by the
// test provider's (the users are keyed by sub and issuer).
func restoreUpstream(t testing.TB, form string, m upstream123.Manifest) func(dsn, issuer string) {
	return func(dsn, issuer string) {
		script := strings.ReplaceAll(upstream123.Read(form), m.Issuer, issuer)
		if form == upstream123.DumpFile {
			pgtest.Psql(t, dsn, script)
		} else {
			pgtest.ExecScript(t, dsn, script)
		}
	}
}

// fixtureToken mints a token for one of the fixture's users.
func fixtureToken(t testing.TB, s *service, m upstream123.Manifest, name string) string {
	t.Helper()
	u := m.Users[name]
	ou := oidctest.User{Sub: u.Sub, Email: u.Email, EmailVerified: oidctest.Bool(true)}
	if name == "admin" {
		ou.Entitlements = []string{adminEntitlement}
	}
	s.OP.SetUser(ou)
	return s.OP.MintT(t, ou, oidctest.TokenOptions{Lifetime: time.Hour})
}

func total(t testing.TB, r *response) int {
	t.Helper()
	return int(r.JSON(t)["total"].(float64))
}

// The service adopts a database 1.2.3 made (each dump form), shows every
// state of manifest.json through the API to every kind of caller, and
// performs every kind of write on the adopted data, including reviews of
// the claims 1.2.3 filed.
func TestAdoptedUpstreamDatabase(t *testing.T) {
	t.Parallel()
	m := upstream123.Load()
	for _, form := range []string{upstream123.InsertsFile, upstream123.DumpFile} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			s := startServiceOn(t, nil, restoreUpstream(t, form, m))
			if !strings.Contains(s.Logs(), "adopting the database of EOSC Performance API 1.2.3") {
				t.Fatalf("no adoption in the log:\n%s", s.Logs())
			}
			alice, bob, admin := fixtureToken(t, s, m, "alice"), fixtureToken(t, s, m, "bob"), fixtureToken(t, s, m, "admin")
			unreg := s.token(t, "unregistered-1", false)
			untrusted := s.Rogue.MintT(t, oidctest.User{Sub: m.Users["alice"].Sub, Email: "x@example.org"}, oidctest.TokenOptions{})
			ids := m.IDs
			checkUpstreamStates(t, s, m, alice, bob, admin, unreg, untrusted)

			// Users: the fixture's users are registered, with 1.2.3's times.
			for name, tok := range map[string]string{"alice": alice, "bob": bob, "admin": admin} {
				u := s.get(t, "/users/self", tok).want(t, 200).JSON(t)
				if u["email"] != ids.Users[name].Email || u["registration_datetime"] != ids.Users[name].RegistrationDatetime {
					t.Errorf("%s: /users/self = %v", name, u)
				}
				s.post(t, "/users:register", tok, nil).want(t, 409)
			}
			s.post(t, "/users/self:update", bob, nil).want(t, 204)

			// The claims 1.2.3 filed: reject the pending one (the result comes
			// back), the approved one is final.
			pending, approved := ids.Claims["pending"], ids.Claims["approved"]
			s.post(t, "/reports/claims/"+approved.ID+":reject", admin, nil).want(t, 422)
			s.post(t, "/reports/claims/"+approved.ID+":approve", admin, nil).want(t, 422)
			if form == upstream123.DumpFile {
				s.post(t, "/reports/claims/"+pending.ID+":approve", admin, nil).want(t, 204)
				s.get(t, "/results/"+pending.ResultID+"/claims", admin).want(t, 200) // approved by default
				if n := total(t, s.get(t, "/reports/claims", admin).want(t, 200)); n != 2 {
					t.Errorf("approved claims after approval: %d, want 2", n)
				}
				if n := total(t, s.get(t, "/results", "").want(t, 200)); n != 36 {
					t.Errorf("results after approving 1.2.3's claim: %d, want 36 (it stays hidden)", n)
				}
			} else {
				s.post(t, "/reports/claims/"+pending.ID+":reject", admin, nil).want(t, 204)
				s.get(t, "/reports/claims/"+pending.ID, admin).want(t, 404)
				if n := total(t, s.get(t, "/results", "").want(t, 200)); n != 37 {
					t.Errorf("results after rejecting 1.2.3's claim: %d, want 37 (restored)", n)
				}
			}

			// A new claim on a visible result, and a second one on the result
			// 1.2.3's approved claim hides: reviews keep 1.2.3's link in step.
			var visible string
			for _, r := range ids.Results {
				if r.FinalState == "visible" && r.Uploader == "alice" {
					visible = r.ID
					break
				}
			}
			c1 := s.post(t, "/results/"+visible+":claim", bob, map[string]any{"message": "wrong flavor"}).want(t, 201).JSON(t)
			if c1["resource_id"] != visible {
				t.Errorf("claim = %v", c1)
			}
			s.get(t, "/results/"+visible+"/claims?status=on_review", alice).want(t, 200)
			s.get(t, "/results/"+visible+"/claims?status=on_review", bob).want(t, 403)
			s.post(t, "/reports/claims/"+c1["id"].(string)+":reject", admin, nil).want(t, 204)
			c2 := s.post(t, "/results/"+approved.ResultID+":claim", alice, map[string]any{"message": "again"}).want(t, 201).JSON(t)
			s.post(t, "/reports/claims/"+c2["id"].(string)+":reject", admin, nil).want(t, 204)
			db := openDB(t, s)
			var link string
			if err := db.QueryRow(`SELECT _claim_report_id::text FROM result WHERE id = $1`, approved.ResultID).Scan(&link); err != nil || link != approved.ID {
				t.Errorf("1.2.3's link of %s = %q (%v), want its approved claim back", approved.ResultID, link, err)
			}
			if n := total(t, s.get(t, "/results/"+approved.ResultID+"/claims", admin).want(t, 200)); n != 1 {
				t.Errorf("approved claims of %s: %d, want 1", approved.ResultID, n)
			}

			// Catalog reviews of what 1.2.3 left pending.
			s.post(t, "/sites/"+ids.Sites["NCG-INGRID-PT"].ID+":approve", admin, nil).want(t, 204)
			s.post(t, "/flavors/"+ids.Flavors["IFCA-LCG2/cm4.4xlarge"].ID+":reject", admin, nil).want(t, 204)
			s.post(t, "/benchmarks/"+ids.Benchmarks["deephdc/deep-oc-benchmarks_cnn:1.0.2-gpu"].ID+":approve", admin, nil).want(t, 204)
			if n := total(t, s.get(t, "/reports/submits", admin).want(t, 200)); n != 0 && form == upstream123.DumpFile {
				t.Errorf("submits left: %d, want 0", n)
			}

			// Writes on adopted rows: a tag, a result, its tags, an edit, deletes.
			tag := s.post(t, "/tags", alice, map[string]any{"name": "adopted"}).want(t, 201).JSON(t)["id"].(string)
			var doc string
			if err := db.QueryRow(`SELECT json::text FROM result WHERE id = $1`, visible).Scan(&doc); err != nil {
				t.Fatal(err)
			}
			cray := ids.Benchmarks["thechristophe/openbench-c-ray:latest"].ID
			small := ids.Flavors["IFCA-LCG2/m1.small"].ID
			res := upload(t, s, alice, cray, small, "2023-04-01T10:00:00+02:00", rawJSON(doc), ids.Tags["cpu"].ID, tag).want(t, 201).JSON(t)
			if res["execution_datetime"] != "2023-04-01T08:00:00" {
				t.Errorf("new result's execution_datetime = %v, want 1.2.3's UTC form", res["execution_datetime"])
			}
			s.put(t, "/results/"+visible+"/tags", alice, map[string]any{"tags_ids": []string{tag}}).want(t, 204)
			s.put(t, "/tags/"+ids.Tags["baseline"].ID, admin, map[string]any{"name": "baseline", "description": "now described"}).want(t, 204)
			s.put(t, "/sites/"+ids.Sites["CESNET-MCC"].ID, admin, map[string]any{"name": "CESNET-MCC", "address": "Brno"}).want(t, 204)
			s.del(t, "/results/"+visible, admin).want(t, 204)
			s.del(t, "/tags/"+ids.Tags["fedcloud"].ID, admin).want(t, 204)
			s.del(t, "/flavors/"+ids.Flavors["CESNET-MCC/standard.small"].ID, admin).want(t, 204)
			// Bob goes, with his results and his claims (1.2.3's pending one in
			// the inserts form, and the newest one on a result another user
			// claimed too: 1.2.3's link goes back to that user's claim).
			older := s.post(t, "/results/"+visible+":claim", admin, map[string]any{"message": "admin's"}).want(t, 201).JSON(t)["id"].(string)
			s.post(t, "/results/"+visible+":claim", bob, map[string]any{"message": "bob's"}).want(t, 201)
			s.post(t, "/users:remove?sub="+url.QueryEscape(ids.Users["bob"].Sub), admin, nil).want(t, 204)
			if err := db.QueryRow(`SELECT COALESCE(_claim_report_id::text, '') FROM result WHERE id = $1`, visible).Scan(&link); err != nil || link != older {
				t.Errorf("1.2.3's link of %s after bob's removal = %q (%v), want the remaining claim %s", visible, link, err, older)
			}
			s.get(t, "/users/self", bob).want(t, 404)
			want := 1 // the new one
			for _, r := range ids.Results {
				// Bob's removal takes what he submitted with its results.
				if r.Uploader == "alice" && ids.Sites[r.Site].SubmittedBy != "bob" &&
					ids.Flavors[r.Flavor].SubmittedBy != "bob" && ids.Benchmarks[r.Benchmark].SubmittedBy != "bob" {
					want++
				}
			}
			if n := total(t, s.get(t, "/users/self/results", alice).want(t, 200)); n != want {
				t.Errorf("alice's results after the writes: %d, want %d (the deletes took the others)", n, want)
			}
			// 1.2.3 can still start: its alembic head is there.
			var rev string
			if err := db.QueryRow(`SELECT version_num FROM alembic_version`).Scan(&rev); err != nil || rev != "112055db4eff" {
				t.Errorf("alembic_version = %q (%v)", rev, err)
			}
		})
	}
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// checkUpstreamStates checks the final state of every id of manifest.json.
func checkUpstreamStates(t *testing.T, s *service, m upstream123.Manifest, alice, bob, admin, unreg, untrusted string) {
	// no t.Helper: a failure names its check
	ids := m.IDs
	for _, tok := range []string{"", unreg, alice, admin} {
		if n := total(t, s.get(t, "/results", tok).want(t, 200)); n != 36 {
			t.Errorf("GET /results total %d, want 36", n)
		}
	}
	s.get(t, "/users/self", untrusted).want(t, 401)
	cray := ids.Benchmarks["thechristophe/openbench-c-ray:latest"].ID
	if n := total(t, s.get(t, "/results?benchmark_id="+cray, "").want(t, 200)); n != 28 {
		t.Errorf("c-ray results %d, want 28", n)
	}
	if n := total(t, s.get(t, "/results?filters="+url.QueryEscape("machine.cpu.count >= 8"), "").want(t, 200)); n != 12 {
		t.Errorf("filtered results %d, want 12", n)
	}
	for path, want := range map[string]int{"/benchmarks": 2, "/sites": 2, "/tags": 4, "/benchmarks?status=on_review": 1,
		"/sites?status=on_review": 1, "/sites/" + ids.Sites["IFCA-LCG2"].ID + "/flavors?status=on_review": 1,
		"/sites/" + ids.Sites["CESNET-MCC"].ID + "/flavors": 3} {
		if n := total(t, s.get(t, path, "").want(t, 200)); n != want {
			t.Errorf("%s total %d, want %d", path, n, want)
		}
	}
	for name, e := range ids.Benchmarks {
		checkEntity(t, s, "/benchmarks/", name, e)
	}
	for name, e := range ids.Sites {
		checkEntity(t, s, "/sites/", name, e)
	}
	for name, e := range ids.Flavors {
		checkEntity(t, s, "/flavors/", name, e)
	}
	for name, tg := range ids.Tags {
		r := s.get(t, "/tags/"+tg.ID, "").want(t, 200).JSON(t)
		if r["name"] != name || (tg.Description == nil) != (r["description"] == nil) {
			t.Errorf("tag %s = %v", name, r)
		}
	}
	tagNames := map[string]string{}
	for name, tg := range ids.Tags {
		tagNames[tg.ID] = name
	}
	for _, res := range ids.Results {
		r := s.get(t, "/results/"+res.ID, "").want(t, 200).JSON(t)
		var tags []string
		for _, tg := range r["tags"].([]any) {
			tags = append(tags, tagNames[tg.(map[string]any)["id"].(string)])
		}
		if r["execution_datetime"] != res.ExecutionReturned || r["upload_datetime"] != res.UploadReturned ||
			fmt.Sprint(sorted(tags)) != fmt.Sprint(sorted(res.Tags)) {
			t.Errorf("result %s = %v, want %+v", res.ID, r, res)
		}
		s.get(t, "/results/"+res.ID+"/uploader", admin).want(t, 200)
	}
	if n := total(t, s.get(t, "/users/self/results", alice).want(t, 200)); n != 21 {
		t.Errorf("alice's results %d, want 21 (hidden ones included)", n)
	}
	if n := total(t, s.get(t, "/users", admin).want(t, 200)); n != 3 {
		t.Errorf("users %d, want 3", n)
	}
	s.get(t, "/users", alice).want(t, http.StatusForbidden)
	// Claims, linked to their results as 1.2.3 linked them.
	pending, approved := ids.Claims["pending"], ids.Claims["approved"]
	for _, c := range []struct {
		path, token, id, result string
	}{
		{"/reports/claims?status=on_review", admin, pending.ID, pending.ResultID},
		{"/reports/claims", admin, approved.ID, approved.ResultID},
		{"/results/" + pending.ResultID + "/claims?status=on_review", admin, pending.ID, pending.ResultID},
		{"/results/" + approved.ResultID + "/claims", bob, approved.ID, approved.ResultID}, // bob uploaded it
		{"/users/self/claims?status=on_review", bob, pending.ID, pending.ResultID},
		{"/users/self/claims", alice, approved.ID, approved.ResultID},
	} {
		items := s.get(t, c.path, c.token).want(t, 200).items(t)
		if len(items) != 1 || items[0]["id"] != c.id || items[0]["resource_id"] != c.result {
			t.Errorf("%s: %v, want claim %s of result %s", c.path, items, c.id, c.result)
		}
	}
	s.get(t, "/reports/claims/"+ids.Claims["rejected"].ID, admin).want(t, 404)
	s.get(t, "/reports/claims", alice).want(t, 403)
	submits := s.get(t, "/reports/submits", admin).want(t, 200).items(t)
	var kinds []string
	for _, it := range submits {
		kinds = append(kinds, it["resource_type"].(string))
	}
	if fmt.Sprint(kinds) != "[benchmark claim flavor site]" {
		t.Errorf("submits %v, want benchmark, claim, flavor, site", kinds)
	}
}

func checkEntity(t *testing.T, s *service, path, name string, e upstream123.Entity) {
	t.Helper()
	switch {
	case strings.HasPrefix(e.FinalState, "rejected"):
		s.get(t, path+e.ID, "").want(t, 404)
	case strings.HasPrefix(e.FinalState, "on_review"):
		if r := s.get(t, path+e.ID, "").want(t, 200).JSON(t); r["status"] != nil && r["status"] != "on_review" {
			t.Errorf("%s %s = %v, want pending", path, name, r)
		}
	default:
		s.get(t, path+e.ID, "").want(t, 200)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Two serve processes started at once on one 1.2.3 database adopt it once
// (goose's advisory lock): both serve, one logs the adoption.
func TestConcurrentServeAdoptsOnce(t *testing.T) {
	t.Parallel()
	m := upstream123.Load()
	first := newService(t, nil, restoreUpstream(t, upstream123.InsertsFile, m))
	second := &service{OP: first.OP, Rogue: first.Rogue, Env: first.Env, DSN: first.DSN, logs: &syncBuffer{}, stopped: make(chan int, 1)}
	t.Run("together", func(t *testing.T) {
		for i, s := range []*service{first, second} {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				s.start(t)
				if n := total(t, s.get(t, "/results", "").want(t, 200)); n != 36 {
					t.Errorf("results %d, want 36", n)
				}
			})
		}
	})
	adopted := 0
	for _, s := range []*service{first, second} {
		if strings.Contains(s.Logs(), "adopting the database") {
			adopted++
		}
	}
	if adopted != 1 {
		t.Errorf("%d processes adopted the database, want 1", adopted)
	}
	var n int
	if err := openDB(t, first).QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id = 1`).Scan(&n); err != nil || n != 1 {
		t.Errorf("baseline recorded %d times (%v), want once", n, err)
	}
}

// Both programs on one database: what 1.2.3 writes for claims and deletes
// (its statements, in its order) is what we read, and what we write is
// what 1.2.3 reads (result._claim_report_id, result.deleted).
func TestMixedOperationWithUpstream(t *testing.T) {
	t.Parallel()
	m := upstream123.Load()
	s := startServiceOn(t, nil, restoreUpstream(t, upstream123.InsertsFile, m))
	alice, admin := fixtureToken(t, s, m, "alice"), fixtureToken(t, s, m, "admin")
	fixtureToken(t, s, m, "bob")
	db := openDB(t, s)
	var mine []string // visible results of alice
	for _, r := range m.IDs.Results {
		if r.FinalState == "visible" && r.Uploader == "alice" {
			mine = append(mine, r.ID)
		}
	}
	r1, r2, r3 := mine[0], mine[1], mine[2]
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// upstreamClaim files a claim as 1.2.3 does: submit, claim (no
	// result_id: 1.2.3 does not know it), then the result's link.
	upstreamClaim := func(result string) string {
		t.Helper()
		c, sub := uuid.NewString(), uuid.NewString()
		exec(`INSERT INTO submit (id, resource_type, upload_datetime) VALUES ($1, 'claim', now() AT TIME ZONE 'UTC')`, sub)
		exec(`INSERT INTO claim (id, uploader_sub, uploader_iss, status, message, resource_type, upload_datetime, _submit_report_id)
			VALUES ($1, $2, $3, 'on_review', 'filed through 1.2.3', 'result', now() AT TIME ZONE 'UTC', $4)`,
			c, m.Users["bob"].Sub, s.OP.Issuer(), sub)
		exec(`UPDATE result SET deleted = true, _claim_report_id = $1 WHERE id = $2`, c, result)
		return c
	}
	// upstreamReject rejects a claim as 1.2.3 does: unlink, delete the
	// claim, then its submit; the result stays hidden.
	upstreamReject := func(claim string) {
		t.Helper()
		var sub string
		if err := db.QueryRow(`SELECT _submit_report_id::text FROM claim WHERE id = $1`, claim).Scan(&sub); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE result SET _claim_report_id = NULL WHERE _claim_report_id = $1`, claim)
		exec(`DELETE FROM claim WHERE id = $1`, claim)
		exec(`DELETE FROM submit WHERE id = $1`, sub)
	}
	upstreamView := func(result string) (deleted bool, claim string) {
		t.Helper()
		var link sql.NullString
		if err := db.QueryRow(`SELECT deleted, _claim_report_id::text FROM result WHERE id = $1`, result).Scan(&deleted, &link); err != nil {
			t.Fatal(err)
		}
		return deleted, link.String
	}
	claimsOf := func(result string) []map[string]any {
		t.Helper()
		return s.get(t, "/results/"+result+"/claims?status=on_review", alice).want(t, 200).items(t)
	}

	// A claim 1.2.3 files is ours too; rejecting it through us restores the result.
	c1 := upstreamClaim(r1)
	if items := claimsOf(r1); len(items) != 1 || items[0]["id"] != c1 || items[0]["resource_id"] != r1 {
		t.Fatalf("claims of %s after 1.2.3's claim: %v", r1, items)
	}
	if n := total(t, s.get(t, "/results", "").want(t, 200)); n != 35 {
		t.Errorf("results after 1.2.3's claim: %d, want 35", n)
	}
	s.post(t, "/reports/claims/"+c1+":reject", admin, nil).want(t, 204)
	if deleted, link := upstreamView(r1); deleted || link != "" {
		t.Errorf("1.2.3's view of %s after our rejection: deleted=%v link=%q, want visible, unlinked", r1, deleted, link)
	}

	// Our claim is 1.2.3's; 1.2.3 rejecting it removes it for us as well.
	c2 := s.post(t, "/results/"+r2+":claim", alice, map[string]any{"message": "ours"}).want(t, 201).JSON(t)["id"].(string)
	if deleted, link := upstreamView(r2); !deleted || link != c2 {
		t.Errorf("1.2.3's view of %s after our claim: deleted=%v link=%q, want hidden, linked to %s", r2, deleted, link, c2)
	}
	upstreamReject(c2)
	s.get(t, "/reports/claims/"+c2, admin).want(t, 404)
	if items := claimsOf(r2); len(items) != 0 {
		t.Errorf("claims of %s after 1.2.3's rejection: %v", r2, items)
	}

	// Several claims on one result: 1.2.3 sees the newest, we see all; our
	// rejection of the newest hands 1.2.3 the older one.
	c3 := upstreamClaim(r1)
	c4 := s.post(t, "/results/"+r1+":claim", alice, map[string]any{"message": "second"}).want(t, 201).JSON(t)["id"].(string)
	if items := claimsOf(r1); len(items) != 2 {
		t.Errorf("claims of %s: %v, want 1.2.3's and ours", r1, items)
	}
	if _, link := upstreamView(r1); link != c4 {
		t.Errorf("1.2.3's link of %s = %q, want the newest claim %s", r1, link, c4)
	}
	s.post(t, "/reports/claims/"+c4+":reject", admin, nil).want(t, 204)
	if deleted, link := upstreamView(r1); !deleted || link != c3 {
		t.Errorf("1.2.3's view of %s: deleted=%v link=%q, want hidden, linked to %s", r1, deleted, link, c3)
	}

	// A result 1.2.3 uploads (its columns only) is listed by us.
	r4 := uuid.NewString()
	exec(`INSERT INTO result (deleted, id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime,
			benchmark_id, flavor_id, site_id, _claim_report_id)
		SELECT false, $1, uploader_sub, uploader_iss, now() AT TIME ZONE 'UTC', json, execution_datetime,
			benchmark_id, flavor_id, site_id, NULL FROM result WHERE id = $2`, r4, r3)
	exec(`INSERT INTO result_tags (result_id, tag_id) VALUES ($1, $2)`, r4, m.IDs.Tags["cpu"].ID)
	if r := s.get(t, "/results/"+r4, "").want(t, 200).JSON(t); len(r["tags"].([]any)) != 1 {
		t.Errorf("result uploaded by 1.2.3: %v", r)
	}
	s.post(t, "/results/"+r4+":claim", alice, map[string]any{"message": "on 1.2.3's upload"}).want(t, 201)

	// A result 1.2.3's administrator deleted stays hidden when a later claim
	// on it is rejected through us.
	exec(`UPDATE result SET deleted = true WHERE id = $1`, r3)
	c5 := s.post(t, "/results/"+r3+":claim", alice, map[string]any{"message": "on a deleted one"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/reports/claims/"+c5+":reject", admin, nil).want(t, 204)
	if deleted, _ := upstreamView(r3); !deleted {
		t.Errorf("result %s deleted by 1.2.3's administrator came back", r3)
	}
}

// serve and migrate up refuse a database they must not take over, with a
// message naming what they found, and leave it as it was.
func TestServeRefusesOlderUpstreamRevision(t *testing.T) {
	t.Parallel()
	m := upstream123.Load()
	s := newService(t, nil, func(dsn, issuer string) {
		restoreUpstream(t, upstream123.InsertsFile, m)(dsn, issuer)
		pgtest.ExecScript(t, dsn, `ALTER TABLE benchmark DROP COLUMN url; UPDATE alembic_version SET version_num = '7fc773c5907d'`)
	})
	before := pgtest.Dump(t, s.DSN)
	for _, args := range [][]string{{"serve"}, {"migrate", "up"}} {
		code, _, stderr := run(t, s.Env, args...)
		if code != 1 || !strings.Contains(stderr, "alembic_version is 7fc773c5907d") ||
			!strings.Contains(stderr, "Start EOSC Performance API 1.2.3 once") {
			t.Errorf("%v = %d, want 1 with the refusal:\n%s", args, code, stderr)
		}
	}
	if after := pgtest.Dump(t, s.DSN); after != before {
		t.Error("the refused database changed")
	}
}

// A wrong password ends the start at once, whatever DB_WAIT_TIMEOUT says.
func TestServeStopsAtOnceOnWrongPassword(t *testing.T) {
	t.Parallel()
	s := newService(t, map[string]string{"DB_PASSWORD": "wrong", "DB_WAIT_TIMEOUT": "60s"}, nil)
	start := time.Now()
	code, _, stderr := run(t, s.Env, "serve")
	if code != 1 || !strings.Contains(stderr, "password authentication failed") || time.Since(start) > 10*time.Second {
		t.Errorf("serve = %d after %v, want 1 at once with the server's message:\n%s", code, time.Since(start), stderr)
	}
}
