package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// slashFix is the page's first script: it moves a browser that reached the
// page without its trailing slash to the slash form, against which the
// relative URLs resolve.
const slashFix = `<script>if (location.pathname.slice(-1) !== "/") location.replace(location.pathname + "/" + location.search + location.hash);</script>`

func TestPageReferencesSpecAndAssetsUnderTheProxyPrefix(t *testing.T) {
	tests := []struct {
		name       string
		scriptName string
		wantPrefix string // "" = relative URLs
	}{
		{"no proxy header: relative", "", ""},
		{"prefix", "/api/v1", "/api/v1/"},
		{"prefix with trailing slash", "/api/v1/", "/api/v1/"},
		{"root prefix: relative", "/", ""},
		{"protocol-relative prefix is ignored", "//evil.example", ""},
		{"relative prefix is ignored", "api", ""},
		{"prefix with markup is ignored", `/x"><script>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, UIHandler(), "GET", "/", map[string]string{"X-Script-Name": tt.scriptName, "X-Scheme": "https"})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := rec.Body.String()
			for _, want := range []string{
				`data-spec-url="` + tt.wantPrefix + `api-spec.json"`,
				`src="` + tt.wantPrefix + `swagger-ui/swagger-ui-bundle.js"`,
				`src="` + tt.wantPrefix + `swagger-ui/swagger-init.js"`,
				`href="` + tt.wantPrefix + `swagger-ui/swagger-ui.css"`,
				`href="` + tt.wantPrefix + `swagger-ui/favicon-32x32.png"`,
				`href="` + tt.wantPrefix + `swagger-ui/favicon-16x16.png"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s:\n%s", want, body)
				}
			}
			// The slash fix is needed exactly when the URLs are relative.
			if got := strings.Contains(body, slashFix); got != (tt.wantPrefix == "") {
				t.Errorf("slash-fix script present = %v:\n%s", got, body)
			}
			if strings.Count(body, "<script") != 2+strings.Count(body, slashFix) {
				t.Errorf("unexpected script in the page:\n%s", body)
			}
			if strings.Contains(body, "evil.example") || strings.Contains(body, `"><script>`) {
				t.Errorf("forged prefix reached the page:\n%s", body)
			}
			if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
				t.Errorf("page loads something from another origin:\n%s", body)
			}
			if rec.Header().Get("Vary") != "X-Script-Name" {
				t.Errorf("Vary = %q", rec.Header().Get("Vary"))
			}
		})
	}
}

func TestAssetsAreServedWithTheirContentTypes(t *testing.T) {
	tests := []struct {
		path, contentType, contains string
	}{
		{"/swagger-ui/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/swagger-ui/swagger-init.js", "text/javascript; charset=utf-8", "data-spec-url"},
		{"/swagger-ui/favicon-32x32.png", "image/png", "PNG"},
		{"/swagger-ui/favicon-16x16.png", "image/png", "PNG"},
		{"/swagger-ui/LICENSE", "text/plain; charset=utf-8", "Apache License"},
		{"/swagger-ui/NOTICE", "text/plain; charset=utf-8", "SmartBear"},
		{"/swagger-ui/swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", "license"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, UIHandler(), "GET", tt.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("ETag") == "" {
				t.Errorf("headers = %v", rec.Header())
			}
		})
	}
}

func TestUnknownPathsAndMethodsGetJSONErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		h                  http.Handler
		want               int
	}{
		{"unknown asset", "GET", "/swagger-ui/swagger-ui.js.map", UIHandler(), 404},
		{"source map is not embedded", "GET", "/swagger-ui/swagger-ui-bundle.js.map", UIHandler(), 404},
		{"page template is not an asset", "GET", "/swagger-ui/index.html", UIHandler(), 404},
		{"path outside the UI", "GET", "/other", UIHandler(), 404},
		{"POST to the page", "POST", "/", UIHandler(), 405},
		{"DELETE of the document", "DELETE", "/api-spec.json", SpecHandler("/"), 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, tt.h, tt.method, tt.path, nil)
			var body struct {
				Code   int    `json:"code"`
				Status string `json:"status"`
			}
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != tt.want || body.Status != http.StatusText(tt.want) {
				t.Errorf("body %q (%v)", rec.Body.String(), err)
			}
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestSpecHandlerServesTheDocumentForBackendRoute(t *testing.T) {
	rec := get(t, SpecHandler("/api/v1"), "GET", "/api-spec.json", map[string]string{"X-Script-Name": "/ignored"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers = %+v, want BACKEND_ROUTE /api/v1", doc.Servers)
	}
}

func TestSpecHandlerFollowsXScriptNameWithoutBackendRoute(t *testing.T) {
	tests := []struct {
		backendRoute, scriptName, want string
	}{
		{"/", "", "/"},
		{"/", "/api/v1", "/api/v1"},
		{"/", "/api/v1/", "/api/v1"},
		{"", "/api/v1", "/api/v1"},
		{"/", "//evil.example", "/"},
		{"/", `/x"y`, "/"},
		{"/api/v1", "/other", "/api/v1"},
		{"https://perf.example.org/api/v1", "/other", "https://perf.example.org/api/v1"},
	}
	for _, tt := range tests {
		rec := get(t, SpecHandler(tt.backendRoute), "GET", "/api-spec.json", map[string]string{"X-Script-Name": tt.scriptName})
		var doc struct {
			Servers []struct{ URL string } `json:"servers"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusOK || len(doc.Servers) != 1 || doc.Servers[0].URL != tt.want {
			t.Errorf("BACKEND_ROUTE %q, X-Script-Name %q: status %d, servers %+v, want %q",
				tt.backendRoute, tt.scriptName, rec.Code, doc.Servers, tt.want)
		}
		wantVary := ""
		if tt.backendRoute == "/" || tt.backendRoute == "" {
			wantVary = "X-Script-Name"
		}
		if got := rec.Header().Get("Vary"); got != wantVary {
			t.Errorf("BACKEND_ROUTE %q: Vary = %q, want %q", tt.backendRoute, got, wantVary)
		}
	}
	// Each prefix has its own ETag, so a revalidation never mixes them up.
	h := SpecHandler("/")
	a := get(t, h, "GET", "/api-spec.json", map[string]string{"X-Script-Name": "/a"}).Header().Get("ETag")
	b := get(t, h, "GET", "/api-spec.json", map[string]string{"X-Script-Name": "/b"}).Header().Get("ETag")
	if a == "" || a == b {
		t.Errorf("ETags %q and %q", a, b)
	}
}

func TestConditionalAndHeadRequestsSendNoBody(t *testing.T) {
	h := SpecHandler("/")
	first := get(t, h, "GET", "/api-spec.json", nil)
	again := get(t, h, "GET", "/api-spec.json", map[string]string{"If-None-Match": first.Header().Get("ETag")})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("revalidation: status %d, %d bytes", again.Code, again.Body.Len())
	}
	head := get(t, UIHandler(), "HEAD", "/", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, %d bytes, headers %v", head.Code, head.Body.Len(), head.Header())
	}
}

func TestRoutesCoverSpecPageAndEveryAsset(t *testing.T) {
	paths := map[string]bool{}
	for _, rt := range Routes("/") {
		if paths[rt.Path] {
			t.Errorf("%s listed twice", rt.Path)
		}
		paths[rt.Path] = true
		if rec := get(t, rt.Handler, "GET", rt.Path, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d", rt.Path, rec.Code)
		}
	}
	for _, want := range []string{"/api-spec.json", "/", "/swagger-ui/swagger-ui-bundle.js", "/swagger-ui/swagger-init.js", "/swagger-ui/LICENSE"} {
		if !paths[want] {
			t.Errorf("Routes lacks %s", want)
		}
	}
	if len(paths) != 2+len(assets()) {
		t.Errorf("%d routes for %d assets", len(paths), len(assets()))
	}
}
