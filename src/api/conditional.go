package api

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
)

// HTTP conditional requests and compression (EXTENSIONS.md §X5):
//
//   - every GET (and HEAD) answered 200 with a JSON body carries a strong
//     ETag, 128 bits of hash of the body (bodyTag); an If-None-Match
//     holding it answers 304 with no body;
//   - a body of gzipMin bytes or more is sent gzip-compressed when the
//     request accepts gzip (Content-Encoding: gzip), with Vary:
//     Accept-Encoding on every answer whose body is that large, compressed
//     or not. The compressed representation's ETag ends in -gzip (it is
//     another representation); If-None-Match accepts either form.
//
// Handlers that write complete bodies have them buffered (a pooled
// buffer), then hashed, compressed and sent at once. A handler that flushes
// (the export streams) switches its answer to streaming from then on: what
// was buffered and everything after goes straight to the client, gzip-
// compressed as it goes when the request accepts it, without an ETag (the
// body is not known in advance), so a stream never grows in memory.

// gzipMin is the smallest body that is compressed.
const gzipMin = 1024

// gzipSuffix marks the ETag of the compressed representation.
const gzipSuffix = "-gzip"

// maxPooledBody bounds the buffers kept for reuse, so that one large answer
// does not stay in memory.
const maxPooledBody = 4 << 20

// bufferedWriter holds a handler's status and body until it returns, or
// until the handler flushes (see stream).
type bufferedWriter struct {
	http.ResponseWriter
	req    *http.Request
	code   int
	body   []byte
	stream io.Writer    // once the handler flushed: where writes go
	zw     *gzip.Writer // the stream's compressor, when compressed
}

// FlushError switches the answer to streaming (on the first call) and
// sends what was written so far on to the client.
func (b *bufferedWriter) FlushError() error {
	if b.stream == nil {
		if err := b.startStream(); err != nil {
			return err
		}
	}
	if b.zw != nil {
		if err := b.zw.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(b.ResponseWriter).Flush()
}

// Flush is FlushError for http.Flusher.
func (b *bufferedWriter) Flush() { _ = b.FlushError() }

// Unwrap lets http.ResponseController reach the connection's other
// controls (deadlines).
func (b *bufferedWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// startStream sends the status and headers, then what was buffered.
func (b *bufferedWriter) startStream() error {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	h := b.Header()
	b.stream = b.ResponseWriter
	if h.Get("Content-Encoding") == "" && b.code != http.StatusNoContent && b.code != http.StatusNotModified {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(b.req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			h.Del("Content-Length")
			b.zw = gzipPool.Get().(*gzip.Writer)
			b.zw.Reset(b.ResponseWriter)
			b.stream = b.zw
		}
	}
	b.ResponseWriter.WriteHeader(b.code)
	if len(b.body) == 0 {
		return nil
	}
	_, err := b.stream.Write(b.body)
	b.body = b.body[:0]
	return err
}

func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.stream != nil {
		return b.stream.Write(p)
	}
	if b.code == 0 {
		b.code = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

var (
	bufferPool = sync.Pool{New: func() any { return &bufferedWriter{body: make([]byte, 0, 64<<10)} }}
	gzipPool   = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
		return zw
	}}
)

// conditional applies §X5 to every answer of next.
func conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Validators of handlers that set their own ETag (the Swagger UI
		// assets) are compared without our suffix.
		if inm := r.Header.Get("If-None-Match"); strings.Contains(inm, gzipSuffix+`"`) {
			r.Header.Set("If-None-Match", strings.ReplaceAll(inm, gzipSuffix+`"`, `"`))
		}
		bw := bufferPool.Get().(*bufferedWriter)
		bw.ResponseWriter, bw.req, bw.code, bw.body = w, r, 0, bw.body[:0]
		defer func() {
			if bw.zw != nil {
				// Not closed after a panic (an aborted stream): no gzip
				// trailer makes a cut-off body look complete.
				bw.zw.Reset(nil)
				gzipPool.Put(bw.zw)
			}
			bw.ResponseWriter, bw.req, bw.stream, bw.zw = nil, nil, nil, nil
			if cap(bw.body) <= maxPooledBody {
				bufferPool.Put(bw)
			}
		}()
		next.ServeHTTP(bw, r)
		if bw.stream != nil {
			if bw.zw != nil {
				_ = bw.zw.Close()
			}
			return
		}
		finish(w, r, bw.code, bw.body)
	})
}

// bodyTag is the ETag's value for body: two 64-bit xxHash sums (seeds 0
// and 1), 32 hex digits. An ETag needs no cryptographic hash (nothing is
// secret and nobody gains by a collision; a stale copy is taken for the
// current one with probability 2^-128), and the body of a page of 100
// results (350 kB) is hashed in 40 µs instead of SHA-256's 300 µs. The
// same body gives the same tag in every replica and every version.
func bodyTag(body []byte) string {
	var sum [16]byte
	binary.BigEndian.PutUint64(sum[:8], xxhash.Sum64(body))
	d := xxhash.NewWithSeed(1)
	_, _ = d.Write(body)
	binary.BigEndian.PutUint64(sum[8:], d.Sum64())
	return hex.EncodeToString(sum[:])
}

// finish sends a buffered answer.
func finish(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	if code == 0 {
		code = http.StatusOK
	}
	h := w.Header()
	large := len(body) >= gzipMin && code != http.StatusPartialContent && h.Get("Content-Encoding") == ""
	gz := large && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if large {
		h.Add("Vary", "Accept-Encoding")
	}
	if etag := h.Get("ETag"); etag != "" && gz && !strings.HasPrefix(etag, "W/") {
		h.Set("ETag", strings.TrimSuffix(etag, `"`)+gzipSuffix+`"`)
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && code == http.StatusOK &&
		h.Get("ETag") == "" && isJSON(h.Get("Content-Type")) {
		tag := `"` + bodyTag(body)
		if gz {
			h.Set("ETag", tag+gzipSuffix+`"`)
		} else {
			h.Set("ETag", tag+`"`)
		}
		if noneMatch(r.Header.Get("If-None-Match"), tag+`"`) {
			h.Del("Content-Type")
			h.Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if !gz {
		w.WriteHeader(code)
		_, _ = w.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	w.WriteHeader(code)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(w)
	_, _ = zw.Write(body)
	_ = zw.Close()
	zw.Reset(nil)
	gzipPool.Put(zw)
}

// noneMatch reports whether an If-None-Match header matches the strong
// entity tag tag (weak comparison, RFC 9110 §13.1.2; the -gzip form of the
// tag matches too).
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	gzTag := strings.TrimSuffix(tag, `"`) + gzipSuffix + `"`
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag || t == gzTag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: gzip
// (or x-gzip) with a non-zero quality, or else * with a non-zero quality.
func acceptsGzip(header string) bool {
	gz, star := -1.0, -1.0 // -1: not mentioned
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gz = max(gz, q)
		case "*":
			star = max(star, q)
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}
