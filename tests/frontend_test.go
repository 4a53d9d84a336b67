package tests

import (
	"encoding/json"
	"html"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPutAcceptsTheRepresentationItRead covers API.md §13.1 item 12: the
// web frontend's editors send back the whole representation they read
// (GET answer, one field changed), including id and upload_datetime.
func TestPutAcceptsTheRepresentationItRead(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	cat := newCatalog(t, s, c)
	tag := createTag(t, s, c.User, "gpu")

	kinds := []struct {
		name, path string
		edit       string // the field the editor changes
		readOnly   []string
	}{
		{"site", "/sites/" + cat.Site, "name", []string{"id", "upload_datetime"}},
		{"flavor", "/flavors/" + cat.Flavor, "description", []string{"id", "upload_datetime"}},
		{"benchmark", "/benchmarks/" + cat.Benchmark, "url", []string{"id", "upload_datetime"}},
		{"tag", "/tags/" + tag, "description", []string{"id"}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			read := func() map[string]any { return s.get(t, k.path, "").want(t, 200).JSON(t) }
			// sent is what the editor sends: the GET's answer, verbatim, with
			// the edited field changed.
			sent := func(change map[string]any) map[string]any {
				m := read()
				maps.Copy(m, change)
				return m
			}
			before := read()
			for _, f := range k.readOnly {
				if _, ok := before[f]; !ok {
					t.Fatalf("the representation lacks %s: %v", f, before)
				}
			}

			t.Run("GET answer with one field changed is saved", func(t *testing.T) {
				body := sent(map[string]any{k.edit: "edited by the frontend"})
				s.put(t, k.path, c.Admin, body).want(t, 204)
				after := read()
				if !jsonEqual(after, body) {
					t.Fatalf("after PUT:\n got %v\nwant %v", after, body)
				}
			})
			t.Run("the exact bytes of the GET answer are accepted", func(t *testing.T) {
				cur := read()
				raw := string(s.get(t, k.path, "").want(t, 200).Body)
				s.put(t, k.path, c.Admin, raw).want(t, 204)
				if after := read(); !jsonEqual(after, cur) {
					t.Fatalf("an unchanged PUT changed the resource:\n got %v\nwant %v", after, cur)
				}
			})
			t.Run("changed read-only field is 422", func(t *testing.T) {
				cur := read()
				changes := map[string]any{"id": "00000000-0000-4000-8000-000000000000", "upload_datetime": "2020-01-01T00:00:00"}
				for _, f := range k.readOnly {
					body := sent(map[string]any{k.edit: "must not be saved", f: changes[f]})
					s.put(t, k.path, c.Admin, body).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Read-only field."]}}}`)
				}
				if len(k.readOnly) == 2 {
					body := sent(map[string]any{"id": changes["id"], "upload_datetime": changes["upload_datetime"]})
					s.put(t, k.path, c.Admin, body).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"id":["Read-only field."],"upload_datetime":["Read-only field."]}}}`)
				}
				if after := read(); !jsonEqual(after, cur) {
					t.Fatalf("a rejected PUT changed the resource:\n got %v\nwant %v", after, cur)
				}
			})
			t.Run("wrong type or null for a read-only field is 422", func(t *testing.T) {
				for _, f := range k.readOnly {
					for _, v := range []any{5, nil, true, []any{before[f]}, map[string]any{"value": before[f]}, ""} {
						body := sent(map[string]any{f: v})
						s.put(t, k.path, c.Admin, body).want(t, 422).
							wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Read-only field."]}}}`)
					}
				}
			})
			t.Run("equal values in other spellings are accepted", func(t *testing.T) {
				id := before["id"].(string)
				ids := []string{strings.ToUpper(id), strings.ReplaceAll(id, "-", ""), "urn:uuid:" + id}
				for _, v := range ids {
					s.put(t, k.path, c.Admin, sent(map[string]any{"id": v})).want(t, 204)
				}
				if len(k.readOnly) < 2 {
					return
				}
				up := before["upload_datetime"].(string)
				at, err := time.Parse("2006-01-02T15:04:05", up)
				if err != nil {
					t.Fatalf("upload_datetime %q: %v", up, err)
				}
				for _, v := range []string{
					up + "Z",
					up + "+00:00",
					at.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.999999999-07:00"),
					at.Format("2006-01-02 15:04:05.000000000"),
				} {
					s.put(t, k.path, c.Admin, sent(map[string]any{"upload_datetime": v})).want(t, 204)
				}
				// One microsecond off is another instant.
				off := at.Add(time.Microsecond).Format("2006-01-02T15:04:05.000000")
				s.put(t, k.path, c.Admin, sent(map[string]any{"upload_datetime": off})).want(t, 422).
					wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"upload_datetime":["Read-only field."]}}}`)
			})
			t.Run("other unknown fields stay unknown", func(t *testing.T) {
				unknown := []string{"status", "site_id", "uploader_sub"}
				if len(k.readOnly) == 1 {
					unknown = append(unknown, "upload_datetime") // not in the tag representation
				}
				for _, f := range unknown {
					s.put(t, k.path, c.Admin, sent(map[string]any{f: before[k.edit]})).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Unknown field."]}}}`)
				}
			})
			t.Run("POST still rejects read-only fields as unknown", func(t *testing.T) {
				create := map[string]string{"site": "/sites", "flavor": "/sites/" + cat.Site + "/flavors", "benchmark": "/benchmarks", "tag": "/tags"}
				body := sent(map[string]any{"name": "new-" + k.name})
				if k.name == "benchmark" {
					body = sent(map[string]any{"docker_tag": "new"})
				}
				want := map[string]any{}
				for _, f := range k.readOnly {
					want[f] = []string{"Unknown field."}
				}
				w, _ := json.Marshal(map[string]any{"code": 422, "status": "Unprocessable Entity", "errors": map[string]any{"json": want}})
				s.post(t, create[k.name], c.User, body).want(t, 422).wantBody(t, string(w))
			})
			t.Run("unknown id is 404", func(t *testing.T) {
				other := k.path[:strings.LastIndex(k.path, "/")+1] + "00000000-0000-4000-8000-000000000000"
				s.put(t, other, c.Admin, sent(nil)).want(t, 404)
			})
			t.Run("non-admin is 403 before any of this", func(t *testing.T) {
				s.put(t, k.path, c.User, sent(map[string]any{"id": 5})).want(t, 403)
			})
		})
	}
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// frontendPage stands in for the web frontend at / of the shared origin.
// Like the real one (a single-page app) it answers every path with its
// page, so an asset URL that misses the API prefix gets HTML, not a 404.
const frontendPage = "<!DOCTYPE html><title>EOSC Performance</title><div id=app></div>"

// slashFix is the Swagger page's first script when it uses relative URLs:
// a browser that reached the page without its trailing slash goes to the
// slash form before it loads anything.
const slashFix = `<script>if (location.pathname.slice(-1) !== "/") location.replace(location.pathname + "/" + location.search + location.hash);</script>`

// pageRefs matches the URLs the Swagger page makes the browser load.
var pageRefs = regexp.MustCompile(`(?:src|href|data-spec-url)="([^"]*)"`)

// TestSwaggerUIBehindAReverseProxy serves the API at /api/v1/ of one origin
// through a real reverse proxy (the frontend at /), with and without
// X-Script-Name, loads the Swagger page with and without its trailing
// slash, resolves every URL the page references as a browser does and
// fetches each through the proxy.
func TestSwaggerUIBehindAReverseProxy(t *testing.T) {
	t.Parallel()
	for _, backendRoute := range []string{"/api/v1", ""} {
		t.Run("BACKEND_ROUTE="+backendRoute, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"BACKEND_ROUTE": backendRoute}
			if backendRoute == "" {
				env = nil // the default, /
			}
			swaggerUIBehindAReverseProxy(t, startService(t, env), backendRoute)
		})
	}
}

func swaggerUIBehindAReverseProxy(t *testing.T, s *service, backendRoute string) {
	api, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name        string
		strip       bool // the proxy removes /api/v1 from the path
		scriptName  bool // the proxy sends X-Script-Name: /api/v1
		wantRelURLs bool // the page references its URLs relative to itself
	}{
		{"strip prefix, no X-Script-Name", true, false, true},
		{"strip prefix, X-Script-Name", true, true, false},
		{"keep prefix, X-Script-Name", false, true, false},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(api)
				if m.strip {
					p := strings.TrimPrefix(pr.In.URL.Path, "/api/v1")
					if p == "" {
						p = "/"
					}
					pr.Out.URL.Path, pr.Out.URL.RawPath = p, ""
				}
				if m.scriptName {
					pr.Out.Header.Set("X-Script-Name", "/api/v1")
				}
			}}
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/v1" || strings.HasPrefix(r.URL.Path, "/api/v1/") {
					rp.ServeHTTP(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, frontendPage)
			}))
			t.Cleanup(origin.Close)

			for _, entry := range []string{"/api/v1/", "/api/v1"} {
				t.Run("page at "+entry, func(t *testing.T) {
					page, body := browse(t, origin.URL+entry, "text/html; charset=utf-8")
					refs := pageRefs.FindAllStringSubmatch(body, -1)
					if len(refs) != 6 {
						t.Fatalf("page references %d URLs, want 6:\n%s", len(refs), body)
					}
					if got := strings.Contains(body, slashFix); got != m.wantRelURLs {
						t.Fatalf("slash fix present = %v, want %v:\n%s", got, m.wantRelURLs, body)
					}
					if m.wantRelURLs {
						if strings.Index(body, slashFix) > strings.Index(body, "<link") {
							t.Fatalf("the slash fix must run before anything loads:\n%s", body)
						}
						// What the script does in the browser.
						if !strings.HasSuffix(page.Path, "/") {
							page.Path += "/"
							page, body = browse(t, page.String(), "text/html; charset=utf-8")
						}
					}
					if page.Path != "/api/v1/" && page.Path != "/api/v1" {
						t.Fatalf("page ended at %s", page)
					}
					for _, ref := range pageRefs.FindAllStringSubmatch(body, -1) {
						raw := html.UnescapeString(ref[1])
						if strings.HasPrefix(raw, "/") != !m.wantRelURLs {
							t.Errorf("URL %q: relative = %v, want %v", raw, !strings.HasPrefix(raw, "/"), m.wantRelURLs)
						}
						u, err := page.Parse(raw)
						if err != nil {
							t.Fatalf("URL %q: %v", raw, err)
						}
						if u.Host != page.Host || !strings.HasPrefix(u.Path, "/api/v1/") {
							t.Errorf("URL %q resolves to %s, outside the API", raw, u)
							continue
						}
						want := map[string]string{".css": "text/css", ".js": "text/javascript", ".png": "image/png", ".json": "application/json"}[path.Ext(u.Path)]
						if want == "" {
							t.Errorf("URL %q: unexpected kind of asset", raw)
							continue
						}
						_, got := browse(t, u.String(), want)
						if path.Base(u.Path) == "api-spec.json" {
							var doc struct {
								Servers []struct{ URL string } `json:"servers"`
							}
							// BACKEND_ROUTE when set, else the X-Script-Name prefix;
							// with neither, the service cannot know the prefix.
							wantServer := backendRoute
							if wantServer == "" {
								wantServer = "/"
								if m.scriptName {
									wantServer = "/api/v1"
								}
							}
							if err := json.Unmarshal([]byte(got), &doc); err != nil || len(doc.Servers) != 1 || doc.Servers[0].URL != wantServer {
								t.Fatalf("document servers = %+v (%v), want %s", doc.Servers, err, wantServer)
							}
							if wantServer == "/" {
								continue
							}
							// Swagger UI's "Try it out" calls servers[0].url.
							tags, err := u.Parse(doc.Servers[0].URL + "/tags")
							if err != nil {
								t.Fatal(err)
							}
							browse(t, tags.String(), "application/json")
						}
					}
				})
			}
		})
	}
}

// browse GETs u the way a browser does (following redirects) and checks
// the status 200 and the media type. It returns the final URL and the body.
func browse(t *testing.T, u, mediaType string) (*url.URL, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %.200s", u, resp.StatusCode, b)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != mediaType && ct != mediaType) {
		t.Fatalf("GET %s: Content-Type %q, want %s", u, ct, mediaType)
	}
	if resp.Request.URL.Path != "/api/v1/tags" && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s: no X-Content-Type-Options: nosniff", u)
	}
	if resp.Request.URL.Path == "/api/v1/tags" {
		// An API answer: validated against the document like every other.
		req, err := http.NewRequest("GET", resp.Request.URL.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Script-Name", "/api/v1")
		checkResponse(t, req, &response{Status: resp.StatusCode, Header: resp.Header, Body: b})
	}
	return resp.Request.URL, string(b)
}

// TestCORSPreflightForSignedInCalls checks the cross-origin layout (the
// frontend on its own origin, listed in CORS_ORIGINS): the browser's
// preflight of a signed-in JSON call (Authorization and Content-Type
// headers) is granted for PUT, POST and DELETE, the call itself carries the
// grant, and an origin that is not listed gets none.
func TestCORSPreflightForSignedInCalls(t *testing.T) {
	t.Parallel()
	const frontend = "https://perf.example.org"
	s := startService(t, map[string]string{"CORS_ORIGINS": "http://localhost:8080," + frontend})
	c := s.newCallers(t)
	tag := createTag(t, s, c.User, "cors")
	site := s.post(t, "/sites", c.User, map[string]any{"name": "cors-site", "address": "a"}).want(t, 201).JSON(t)

	calls := []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", "/tags/" + tag, map[string]any{"id": tag, "name": "cors", "description": "edited"}, 204},
		{"PUT", "/sites/" + site["id"].(string), map[string]any{"id": site["id"], "upload_datetime": site["upload_datetime"], "name": "cors-site", "address": "b"}, 204},
		{"POST", "/tags", map[string]any{"name": "cors-2"}, 201},
		{"POST", "/sites/" + site["id"].(string) + ":approve", nil, 204},
		{"DELETE", "/tags/" + tag, nil, 204},
	}
	preflight := func(t *testing.T, origin, method, path string) *response {
		return s.do(t, request{Method: "OPTIONS", Path: path, Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": method,
			"Access-Control-Request-Headers": "authorization,content-type"}}).want(t, 200)
	}
	for _, call := range calls {
		t.Run(call.method+" "+call.path, func(t *testing.T) {
			r := preflight(t, frontend, call.method, call.path)
			h := r.Header
			if h.Get("Access-Control-Allow-Origin") != frontend {
				t.Fatalf("preflight: Access-Control-Allow-Origin = %q", h.Get("Access-Control-Allow-Origin"))
			}
			if !slices.Contains(splitList(h.Get("Access-Control-Allow-Methods")), call.method) {
				t.Errorf("preflight: Access-Control-Allow-Methods = %q", h.Get("Access-Control-Allow-Methods"))
			}
			allowed := splitList(strings.ToLower(h.Get("Access-Control-Allow-Headers")))
			for _, want := range []string{"authorization", "content-type"} {
				if !slices.Contains(allowed, want) {
					t.Errorf("preflight: Access-Control-Allow-Headers = %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if !slices.Contains(splitList(strings.Join(h.Values("Vary"), ",")), "Origin") {
				t.Errorf("preflight: Vary = %q lacks Origin", h.Values("Vary"))
			}

			evil := preflight(t, "https://evil.example", call.method, call.path).Header
			for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
				if evil.Get(k) != "" {
					t.Errorf("unlisted origin got %s: %q", k, evil.Get(k))
				}
			}

			got := s.do(t, request{Method: call.method, Path: call.path, Token: c.Admin, Body: call.body,
				Header: map[string]string{"Origin": frontend}}).want(t, call.status)
			if got.Header.Get("Access-Control-Allow-Origin") != frontend {
				t.Errorf("%s: Access-Control-Allow-Origin = %q", call.method, got.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// splitList splits a comma-separated header value into trimmed items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
