package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// jsonHandler answers every request with body as JSON and code.
func jsonHandler(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	})
}

func serveConditional(h http.Handler, method string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/x", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	conditional(h).ServeHTTP(rec, req)
	return rec
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompressionNegotiation(t *testing.T) {
	t.Parallel()
	large := `{"items":"` + strings.Repeat("abc", 400) + `"}`
	tests := []struct {
		name, accept, body string
		code               int
		wantGzip, wantVary bool
	}{
		{"gzip accepted", "gzip, deflate, br", large, 200, true, true},
		{"x-gzip and quality", "br;q=1.0, x-gzip;q=0.5", large, 200, true, true},
		{"wildcard", "*", large, 200, true, true},
		{"gzip refused by q=0", "gzip;q=0, *", large, 200, false, true},
		{"wildcard refused", "*;q=0", large, 200, false, true},
		{"no header", "", large, 200, false, true},
		{"identity only", "identity", large, 200, false, true},
		{"bad quality counts as 0", "gzip;q=x", large, 200, false, true},
		{"small body is sent as it is", "gzip", `{"a":1}`, 200, false, false},
		{"error bodies are compressed too", "gzip", large, 422, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveConditional(jsonHandler(tc.code, tc.body), "GET", map[string]string{"Accept-Encoding": tc.accept})
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			gz := rec.Header().Get("Content-Encoding") == "gzip"
			if gz != tc.wantGzip {
				t.Fatalf("Content-Encoding %q, want gzip %v", rec.Header().Get("Content-Encoding"), tc.wantGzip)
			}
			if vary := rec.Header().Get("Vary") == "Accept-Encoding"; vary != tc.wantVary {
				t.Errorf("Vary %q, want Accept-Encoding %v", rec.Header().Get("Vary"), tc.wantVary)
			}
			body := rec.Body.Bytes()
			if gz {
				if len(body) >= len(tc.body) {
					t.Errorf("compressed %d bytes into %d", len(tc.body), len(body))
				}
				body = gunzip(t, body)
			}
			if string(body) != tc.body {
				t.Errorf("body differs from the handler's")
			}
		})
	}
}

func TestETagAndNotModified(t *testing.T) {
	t.Parallel()
	large := `{"items":"` + strings.Repeat("xyz", 400) + `"}`
	h := jsonHandler(200, large)
	plain := serveConditional(h, "GET", nil)
	tag := plain.Header().Get("ETag")
	if len(tag) != 34 || tag[0] != '"' || tag[33] != '"' {
		t.Fatalf("ETag %q, want a strong tag of 32 hex digits", tag)
	}
	zipped := serveConditional(h, "GET", map[string]string{"Accept-Encoding": "gzip"})
	zipTag := zipped.Header().Get("ETag")
	if zipTag != strings.TrimSuffix(tag, `"`)+`-gzip"` {
		t.Errorf("gzip ETag %q, want %q with -gzip", zipTag, tag)
	}
	if other := serveConditional(jsonHandler(200, large+" "), "GET", nil).Header().Get("ETag"); other == tag {
		t.Error("another body has the same ETag")
	}
	for _, tc := range []struct {
		name, inm, accept string
		want              int
	}{
		{"same tag", tag, "", 304},
		{"gzip tag on an identity request", zipTag, "", 304},
		{"identity tag on a gzip request", tag, "gzip", 304},
		{"in a list, weak", `"other", W/` + tag, "", 304},
		{"star", "*", "", 304},
		{"other tag", `"0123"`, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveConditional(h, "GET", map[string]string{"If-None-Match": tc.inm, "Accept-Encoding": tc.accept})
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if tc.want == 304 {
				if rec.Body.Len() != 0 || rec.Header().Get("ETag") == "" || rec.Header().Get("Content-Type") != "" {
					t.Errorf("304 with %d body bytes, ETag %q, Content-Type %q", rec.Body.Len(), rec.Header().Get("ETag"), rec.Header().Get("Content-Type"))
				}
			}
		})
	}
	// Only GET and HEAD answers of 200 with JSON get a tag.
	for _, tc := range []struct {
		name    string
		h       http.Handler
		method  string
		wantTag bool
	}{
		{"HEAD", h, "HEAD", true},
		{"POST", h, "POST", false},
		{"error", jsonHandler(404, `{"code":404}`), "GET", false},
		{"not JSON", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<p>")
		}), "GET", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveConditional(tc.h, tc.method, map[string]string{"If-None-Match": "*"})
			if got := rec.Header().Get("ETag") != ""; got != tc.wantTag {
				t.Errorf("ETag %q, want one: %v", rec.Header().Get("ETag"), tc.wantTag)
			}
			if !tc.wantTag && rec.Code == 304 {
				t.Error("304 for an answer without a tag")
			}
		})
	}
}

// A handler that flushes (an export) streams: what it wrote reaches the
// client before it returns, nothing is held back whole, there is no ETag,
// and with gzip accepted the stream is compressed as it goes and
// decompresses to exactly what was written; a panic (an aborted stream)
// leaves no gzip trailer.
func TestFlushingHandlerStreams(t *testing.T) {
	t.Parallel()
	for _, accept := range []string{"", "gzip"} {
		t.Run("accept "+accept, func(t *testing.T) {
			t.Parallel()
			first := make(chan struct{})
			release := make(chan struct{})
			h := conditional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-ndjson")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, "{\"line\":1}\n")
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				close(first)
				<-release
				_, _ = io.WriteString(w, strings.Repeat("{\"line\":2}\n", 200))
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", accept) // set by hand: the transport does not decompress then
			if accept == "" {
				req.Header.Set("Accept-Encoding", "identity")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			<-first // the headers arrived while the handler still runs
			if resp.Header.Get("ETag") != "" {
				t.Errorf("a stream got an ETag %q", resp.Header.Get("ETag"))
			}
			gz := resp.Header.Get("Content-Encoding") == "gzip"
			if gz != (accept == "gzip") {
				t.Errorf("Content-Encoding = %q with Accept-Encoding %q", resp.Header.Get("Content-Encoding"), accept)
			}
			var r io.Reader = resp.Body
			if gz {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			line := make([]byte, len("{\"line\":1}\n"))
			if _, err := io.ReadFull(r, line); err != nil || string(line) != "{\"line\":1}\n" {
				t.Fatalf("first line before the handler finished = %q, %v", line, err)
			}
			close(release)
			rest, err := io.ReadAll(r)
			if err != nil || string(rest) != strings.Repeat("{\"line\":2}\n", 200) {
				t.Errorf("rest: %d bytes, %v", len(rest), err)
			}
		})
	}
}
