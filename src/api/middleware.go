package api

import (
	"context"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/rs/xid"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
)

// middleware wraps the router, outermost first: logger, request id, access
// log and metrics, panic recovery, the record of requests in flight,
// reverse-proxy prefix, URL length and query limits, the bound on heavy
// requests in flight, body limit, CORS, ETag and compression
// (conditional.go).
// It wraps the router instead of using mux's Use because Use only runs for
// matched routes and these must also cover 404/405 answers.
func (s *server) middleware(h http.Handler) http.Handler {
	h = conditional(h)
	h = s.cors(h)
	h = s.limitBody(h)
	h = s.limitHeavy(h)
	h = s.limitRequest(h)
	h = stripScriptName(h)
	h = s.opt.InFlight.track(h)
	h = recoverPanic(h)
	h = s.observe(h)
	h = requestID(h)
	h = hlog.NewHandler(s.opt.Logger)(h)
	return h
}

// routeKey carries the matched route's template from the handler wrapper
// back out to the access log and metrics.
type routeKey struct{}

type routeInfo struct{ template string }

// setRoute records the matched route template for the outer middleware.
func setRoute(r *http.Request, template string) {
	if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok {
		ri.template = template
	}
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe writes the access log line and the request metrics. The log has
// method, path, route template, status, size and duration; never headers or
// the query string (which may hold e-mail addresses).
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &routeInfo{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := ri.template
		if route == "" {
			route = "unmatched"
		}
		hlog.FromRequest(r).Info().
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Str("route", route).
			Int("status", sw.status).
			Int("size", sw.size).
			Dur("duration", d).
			Msg("request")
		if s.opt.Metrics != nil {
			s.opt.Metrics.observe(r.Method, route, sw.status, d)
		}
	})
}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// plain, so it cannot forge log content.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes the caller's X-Request-Id or makes one, returns it in the
// response header and adds it to every log line of the request.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = xid.New().String()
		}
		w.Header().Set("X-Request-Id", id)
		log := zerolog.Ctx(r.Context()).With().Str("req_id", id).Logger()
		next.ServeHTTP(w, r.WithContext(log.WithContext(r.Context())))
	})
}

// recoverPanic turns a panic into a logged 500 with the bare error body.
func recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			hlog.FromRequest(r).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("handler panicked")
			writeJSON(w, http.StatusInternalServerError, envelope(http.StatusInternalServerError))
		}()
		next.ServeHTTP(w, r)
	})
}

// stripScriptName honours X-Script-Name (API.md §11): the prefix is removed
// from the path when present; requests without it keep working.
func stripScriptName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := strings.TrimRight(r.Header.Get("X-Script-Name"), "/")
		if prefix != "" && strings.HasPrefix(r.URL.Path, prefix) {
			rest := r.URL.Path[len(prefix):]
			if rest == "" || rest[0] == '/' {
				if rest == "" {
					rest = "/"
				}
				r2 := r.Clone(r.Context())
				r2.URL.Path = rest
				r2.URL.RawPath = ""
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body (MAX_BODY_BYTES).
func (s *server) limitBody(next http.Handler) http.Handler {
	limit := s.opt.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit > 0 && r.Body != nil {
			if r.ContentLength > limit {
				writeJSON(w, http.StatusRequestEntityTooLarge, envelope(http.StatusRequestEntityTooLarge))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// cors adds CORS headers for the configured origins (CORS_ORIGINS); with
// none configured it adds nothing, as upstream.
func (s *server) cors(next http.Handler) http.Handler {
	origins := s.opt.CORSOrigins
	if len(origins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (anyOrigin || slices.Contains(origins, origin)) {
			h := w.Header()
			if anyOrigin {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", "X-Request-Id")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
			}
		}
		next.ServeHTTP(w, r)
	})
}
