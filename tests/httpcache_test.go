package tests

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawGet sends a GET with exactly the given headers (Go's transport adds
// no Accept-Encoding of its own when one is given, and then leaves the body
// compressed), checks the decompressed answer against the OpenAPI document
// and returns it with the size on the wire.
func rawGet(t *testing.T, s *service, path string, header map[string]string) (*response, int) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	wire, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := wire
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	checkResponse(t, req, r)
	return r, len(wire)
}

// EXTENSIONS.md §X5 on the real server: a page of results is compressed
// when gzip is accepted and is then byte-for-byte the same once
// decompressed; its strong ETag answers If-None-Match with 304 until the
// page changes.
func TestResultPageETagAndCompression(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	w := newWorld(t, s, c)
	for _, name := range []string{"cesga-1", "ifca-lcg2-16", "result-4"} {
		upload(t, s, c.User, w.CRay, w.FlavorA, past, sampleResults(t)[name]).want(t, 201)
	}
	const page = "/results?per_page=100"

	plain, plainWire := rawGet(t, s, page, nil)
	plain.want(t, 200)
	tag := plain.Header.Get("ETag")
	if plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("Vary") != "Accept-Encoding" || len(tag) != 34 {
		t.Fatalf("identity answer: Content-Encoding %q, Vary %q, ETag %q", plain.Header.Get("Content-Encoding"),
			plain.Header.Get("Vary"), tag)
	}
	zipped, zippedWire := rawGet(t, s, page, map[string]string{"Accept-Encoding": "gzip, deflate"})
	zipped.want(t, 200)
	if zipped.Header.Get("Content-Encoding") != "gzip" || zipped.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip answer: Content-Encoding %q, Vary %q", zipped.Header.Get("Content-Encoding"), zipped.Header.Get("Vary"))
	}
	if !bytes.Equal(zipped.Body, plain.Body) {
		t.Error("the decompressed body differs from the identity body")
	}
	if zippedWire*3 > plainWire {
		t.Errorf("gzip sent %d bytes for %d", zippedWire, plainWire)
	}
	if want := strings.TrimSuffix(tag, `"`) + `-gzip"`; zipped.Header.Get("ETag") != want {
		t.Errorf("gzip ETag %q, want %q", zipped.Header.Get("ETag"), want)
	}

	for _, inm := range []string{tag, zipped.Header.Get("ETag")} {
		r, n := rawGet(t, s, page, map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
		r.want(t, 304)
		if n != 0 || r.Header.Get("ETag") == "" {
			t.Errorf("304 with %d bytes, ETag %q", n, r.Header.Get("ETag"))
		}
	}
	// Small answers are not compressed but still carry a tag.
	small, _ := rawGet(t, s, "/results?per_page=1&filters=missing%20%3D%3D%201", map[string]string{"Accept-Encoding": "gzip"})
	small.want(t, 200)
	if small.Header.Get("Content-Encoding") != "" || small.Header.Get("ETag") == "" {
		t.Errorf("small answer: Content-Encoding %q, ETag %q", small.Header.Get("Content-Encoding"), small.Header.Get("ETag"))
	}

	// A new result changes the page, so the old tag no longer matches.
	upload(t, s, c.User, w.CRay, w.FlavorB, past, sampleResults(t)["cesnet-mcc-2"]).want(t, 201)
	again, _ := rawGet(t, s, page, map[string]string{"If-None-Match": tag})
	again.want(t, 200)
	if again.Header.Get("ETag") == tag {
		t.Error("the page changed but its ETag did not")
	}
}

// The catalog cache of each replica is invalidated by a change made through
// another replica (or any program): results show the renamed site and
// flavor and the changed benchmark at once.
func TestCatalogCacheInvalidationAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := startService(t, nil)
	c := a.newCallers(t)
	w := newWorld(t, a, c)
	id := upload(t, a, c.User, w.CRay, w.FlavorA, past, sampleResults(t)["cesga-1"]).want(t, 201).JSON(t)["id"].(string)
	// A second replica on the same database.
	b := &service{OP: a.OP, Rogue: a.Rogue, Env: a.Env, DSN: a.DSN, logs: &syncBuffer{}, stopped: make(chan int, 1)}
	b.start(t)

	names := func(s *service) (site, flavor, desc string) {
		t.Helper()
		for _, r := range []*response{s.get(t, "/results/"+id, "").want(t, 200), s.get(t, "/results", "").want(t, 200)} {
			var got map[string]any
			if items := r.items(t); items != nil {
				got = items[0]
			} else {
				got = r.JSON(t)
			}
			site2 := got["site"].(map[string]any)["name"].(string)
			flavor2 := got["flavor"].(map[string]any)["name"].(string)
			desc2, _ := got["benchmark"].(map[string]any)["description"].(string)
			if site != "" && (site2 != site || flavor2 != flavor || desc2 != desc) {
				t.Fatalf("the result and the list disagree: %s %s %s / %s %s %s", site, flavor, desc, site2, flavor2, desc2)
			}
			site, flavor, desc = site2, flavor2, desc2
		}
		return site, flavor, desc
	}
	if s, f, _ := names(a); s != "IFCA-LCG2" || f != "m1.small" {
		t.Fatalf("before: %s %s", s, f)
	}
	names(b)
	b.put(t, "/sites/"+w.SiteA, c.Admin, map[string]any{"name": "IFCA-renamed", "address": "https://ifca.es"}).want(t, 204)
	b.put(t, "/flavors/"+w.FlavorA, c.Admin, map[string]any{"name": "m1.renamed"}).want(t, 204)
	for _, s := range []*service{a, b} {
		if site, flavor, _ := names(s); site != "IFCA-renamed" || flavor != "m1.renamed" {
			t.Errorf("after the rename through replica b: %s %s", site, flavor)
		}
	}
	// A change by another program (here SQL), with no API call at all.
	db := openDB(t, a)
	if _, err := db.Exec(`UPDATE benchmark SET description = 'changed in SQL' WHERE id = $1`, w.CRay); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*service{a, b} {
		if _, _, desc := names(s); desc != "changed in SQL" {
			t.Errorf("after an UPDATE in SQL: description %q", desc)
		}
	}
}
