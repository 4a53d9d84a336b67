package tests

import (
	"strings"
	"testing"
)

// TestClaimLifecycle follows API.md §7.2–7.3 end to end, with the e-mails.
func TestClaimLifecycle(t *testing.T) {
	t.Parallel()
	mb := startMailbox(t)
	s := startService(t, mb.env())
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	res := upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 1}).want(t, 201).JSON(t)["id"].(string)
	visible := func() bool {
		for _, id := range resultIDs(t, s.get(t, "/results", "").want(t, 200)) {
			if id == res {
				return true
			}
		}
		return false
	}
	if !visible() {
		t.Fatal("new result not listed")
	}

	// A claim hides the result and tells its uploader.
	r := s.post(t, "/results/"+res+":claim", c.User, map[string]any{"message": "numbers look wrong"}).want(t, 201)
	claim := r.JSON(t)
	claimID := claim["id"].(string)
	if claim["resource_id"] != res || claim["resource_type"] != "result" || claim["message"] != "numbers look wrong" ||
		claim["uploader"].(map[string]any)["sub"] != c.UserSub {
		t.Fatalf("claim = %s", r.Body)
	}
	m := mb.wait(t, "Claim submitted on result: "+res)
	if m.Rcpts[0] != "owner-1@example.org" || m.Header.Get("Claim-Id") != claimID || m.Header.Get("Result-Id") != res {
		t.Fatalf("claim mail: %v %v", m.Rcpts, m.Header)
	}
	if visible() {
		t.Fatal("claimed result still listed")
	}
	if n := len(s.get(t, "/results:search?terms=b1", "").items(t)); n != 0 {
		t.Fatal("claimed result found by search")
	}
	s.get(t, "/results/"+res, "").want(t, 200)
	own := resultIDs(t, s.get(t, "/users/self/results", c.Owner).want(t, 200))
	if len(own) != 1 || own[0] != res {
		t.Fatalf("owner's results = %v", own)
	}
	// New claims are on review: default listings show none.
	for _, p := range []string{"/reports/claims", "/results/" + res + "/claims"} {
		if n := len(s.get(t, p, c.Admin).want(t, 200).items(t)); n != 0 {
			t.Fatalf("%s lists %d claims without status=on_review", p, n)
		}
		if n := len(s.get(t, p+"?status=on_review", c.Admin).want(t, 200).items(t)); n != 1 {
			t.Fatalf("%s?status=on_review lists %d claims", p, n)
		}
	}
	if n := len(s.get(t, "/users/self/claims?status=on_review", c.User).items(t)); n != 1 {
		t.Fatalf("claimant's claims = %d", n)
	}
	if n := len(s.get(t, "/reports/submits?resource_type=claim", c.Admin).items(t)); n != 1 {
		t.Fatalf("claim submits = %d", n)
	}
	s.get(t, "/reports/claims/"+claimID, c.Admin).want(t, 200).wantBody(t, string(r.Body))

	// A second claim, then rejecting both: the result comes back only when
	// no claim is left, and its uploader is told.
	claim2 := s.post(t, "/results/"+res+":claim", c.Admin, map[string]any{"message": "me too"}).want(t, 201).JSON(t)["id"].(string)
	if n := len(s.get(t, "/results/"+res+"/claims?status=on_review", c.Owner).items(t)); n != 2 {
		t.Fatalf("result claims = %d, want 2 (both stay linked)", n)
	}
	s.post(t, "/reports/claims/"+claimID+":reject", c.Admin, nil).want(t, 204)
	mb.wait(t, "Resource rejected: "+claimID)
	if visible() {
		t.Fatal("result restored while another claim is pending")
	}
	s.post(t, "/reports/claims/"+claim2+":reject", c.Admin, nil).want(t, 204)
	m = mb.wait(t, "Result restored: "+res)
	if m.Rcpts[0] != "owner-1@example.org" {
		t.Fatalf("restored mail to %v", m.Rcpts)
	}
	if !visible() {
		t.Fatal("result not restored after its last claim was rejected")
	}
	s.get(t, "/reports/claims/"+claimID, c.Admin).want(t, 404).
		wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"Claim `+claimID+` not found in the database"}}`)

	// An approved claim keeps the result hidden and cannot be reviewed again.
	claim3 := s.post(t, "/results/"+res+":claim", c.User, map[string]any{"message": "really wrong"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/reports/claims/"+claim3+":approve", c.Admin, nil).want(t, 204)
	mb.wait(t, "Resource approved: "+claim3)
	if visible() {
		t.Fatal("result visible after its claim was approved")
	}
	s.post(t, "/reports/claims/"+claim3+":approve", c.Admin, nil).want(t, 422).
		wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"error":"Resource `+claim3+` was already approved"}}`)
	s.post(t, "/reports/claims/"+claim3+":reject", c.Admin, nil).want(t, 422)
	if n := len(s.get(t, "/reports/claims", c.Admin).items(t)); n != 1 {
		t.Fatalf("approved claims = %d", n)
	}
	s.post(t, "/reports/claims/"+claim3+":approve?x=1", c.Admin, nil).want(t, 422)
	s.post(t, "/results/00000000-0000-4000-8000-000000000000:claim", c.User, map[string]any{"message": "x"}).want(t, 404)
	s.post(t, "/results/"+res+":claim", c.User, map[string]any{}).want(t, 422)

	// A result an administrator deleted stays hidden when a claim on it is
	// rejected (the claim did not hide it), and nobody is told it is back.
	res2 := upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 2}).want(t, 201).JSON(t)["id"].(string)
	s.del(t, "/results/"+res2, c.Admin).want(t, 204)
	claim4 := s.post(t, "/results/"+res2+":claim", c.User, map[string]any{"message": "gone anyway"}).want(t, 201).JSON(t)["id"].(string)
	s.post(t, "/reports/claims/"+claim4+":reject", c.Admin, nil).want(t, 204)
	mb.wait(t, "Resource rejected: "+claim4)
	for _, id := range resultIDs(t, s.get(t, "/results", "").want(t, 200)) {
		if id == res2 {
			t.Fatal("rejecting a claim restored a result an administrator had deleted")
		}
	}
	for _, sub := range mb.subjects() {
		if strings.Contains(sub, "Result restored: "+res2) {
			t.Fatal("restore mail for a result that stays deleted")
		}
	}

	// A hard delete of the result leaves the claim without resource_id.
	s.del(t, "/benchmarks/"+w.Lenient, c.Admin).want(t, 204)
	got := s.get(t, "/reports/claims/"+claim3, c.Admin).want(t, 200).JSON(t)
	if _, ok := got["resource_id"]; ok {
		t.Fatalf("claim of a deleted result still has resource_id: %v", got)
	}
}

func TestResultTagsDeleteAndUploader(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	res := upload(t, s, c.Owner, w.Lenient, w.FlavorA, past, map[string]any{"time": 1}, w.Tag1).want(t, 201).JSON(t)["id"].(string)
	tagNames := func() string {
		var out []string
		for _, tg := range s.get(t, "/results/"+res, "").JSON(t)["tags"].([]any) {
			out = append(out, tg.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	path := "/results/" + res + "/tags"
	s.put(t, path, c.Owner, map[string]any{"tags_ids": []string{w.Tag2}}).want(t, 204)
	if got := tagNames(); got != "tag2" {
		t.Fatalf("tags after replace = %q", got)
	}
	s.put(t, path, c.Admin, map[string]any{}).want(t, 204)
	if got := tagNames(); got != "tag2" {
		t.Fatalf("{} changed the tags: %q", got)
	}
	s.put(t, path, c.Owner, map[string]any{"tags_ids": []string{}}).want(t, 204)
	if got := tagNames(); got != "" {
		t.Fatalf("[] left tags: %q", got)
	}
	s.put(t, path, c.Owner, map[string]any{"tags_ids": nil}).want(t, 422)
	s.put(t, path, c.Owner, map[string]any{"tags_ids": []string{w.Tag1, w.Tag1}}).want(t, 409).
		wantBody(t, `{"code":409,"status":"Conflict","errors":{"error":"Conflict updating `+res+`"}}`)
	s.put(t, path, c.Owner, map[string]any{"tags_ids": []string{"00000000-0000-4000-8000-000000000000"}}).want(t, 404)
	s.put(t, path, c.User, map[string]any{"tags_ids": []string{}}).want(t, 403).wantBody(t, `{"code":403,"status":"Forbidden"}`)
	s.put(t, "/results/00000000-0000-4000-8000-000000000000/tags", c.User, map[string]any{"tags_ids": []string{}}).want(t, 404)
	s.put(t, path, c.Owner, map[string]any{"bogus": 1}).want(t, 422)
	if got := tagNames(); got != "" {
		t.Fatalf("failed updates changed the tags: %q", got)
	}
	s.get(t, "/results/"+res+"/claims", c.User).want(t, 403).wantBody(t, `{"code":403,"status":"Forbidden"}`)

	u := s.get(t, "/results/"+res+"/uploader", c.Admin).want(t, 200).JSON(t)
	if u["sub"] != c.OwnerSub || u["email"] != "owner-1@example.org" {
		t.Fatalf("uploader = %v", u)
	}

	s.del(t, "/results/"+res, c.Admin).want(t, 204)
	s.del(t, "/results/"+res, c.Admin).want(t, 204)
	s.get(t, "/results/"+res, "").want(t, 200)
	if n := len(s.get(t, "/results", "").items(t)); n != 0 {
		t.Fatal("deleted result listed")
	}
	s.get(t, "/results/"+res+"/uploader", c.Admin).want(t, 200)
	s.del(t, "/results/00000000-0000-4000-8000-000000000000", c.Admin).want(t, 404).
		wantBody(t, `{"code":404,"status":"Not Found","errors":{"error":"Result 00000000-0000-4000-8000-000000000000 not found in the database"}}`)
}

// TestUserResultsHonourFilters: GET /users/self/results applies the
// filters of GET /results (upstream dropped them), hidden results included.
func TestUserResultsHonourFilters(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	a := upload(t, s, c.Owner, w.Lenient, w.FlavorA, "2020-01-01T00:00:00Z", map[string]any{"time": 1}, w.Tag1).want(t, 201).JSON(t)["id"].(string)
	b := upload(t, s, c.Owner, w.Lenient, w.FlavorB, "2021-01-01T00:00:00Z", map[string]any{"time": 7}).want(t, 201).JSON(t)["id"].(string)
	upload(t, s, c.User, w.Lenient, w.FlavorA, "2021-01-01T00:00:00Z", map[string]any{"time": 7}).want(t, 201)
	s.del(t, "/results/"+b, c.Admin).want(t, 204)
	cases := []struct{ query, want string }{
		{"", a + "," + b},
		{"?site_id=" + w.SiteB, b},
		{"?flavor_id=" + w.FlavorA, a},
		{"?tags_ids=" + w.Tag1, a},
		{"?execution_after=2020-06-01", b},
		{"?filters=time%20%3E%205", b},
		{"?benchmark_id=" + w.CRay, ""},
		{"?sort_by=-execution_datetime", b + "," + a},
	}
	for _, tc := range cases {
		if got := strings.Join(resultIDs(t, s.get(t, "/users/self/results"+tc.query, c.Owner).want(t, 200)), ","); got != tc.want {
			t.Errorf("/users/self/results%s = %s, want %s", tc.query, got, tc.want)
		}
	}
	s.get(t, "/users/self/results?filters=bad", c.Owner).want(t, 422)
}
