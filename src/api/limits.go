package api

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

// Limits bound what one request may cost (DESIGN.md §9). Zero disables a
// limit.
type Limits struct {
	MaxURLBytes int // request target (path and query), 414 beyond

	// Values of a repeatable query parameter, 422 beyond.
	MaxFilters, MaxTagIDs, MaxSearchTerms int
	MaxSortKeys                           int // comma-separated keys of sort_by

	MaxSchemaBytes, MaxSchemaDepth    int // a benchmark's json_schema
	MaxSchemaObjects                  int // objects and arrays in a json_schema
	MaxDocumentDepth, MaxDocumentKeys int // an uploaded result document

	// MaxTextLength bounds, in characters, each text member of a JSON
	// body (names, descriptions, addresses, URLs, image names, claim
	// messages): they are listed, embedded in every result that carries
	// a tag, and kept in each replica's catalog cache.
	MaxTextLength int
	// MaxBodyMembers bounds the members of a JSON body read field by
	// field (everything but result documents, whose keys MaxDocumentKeys
	// bounds) and of a bulk line; each unknown member would be an error
	// of its own in the answer.
	MaxBodyMembers int

	// MaxHeavyRequests bounds the requests that may buffer a large
	// document (everything on results, every request with a body) running
	// at once; a request waits up to HeavyQueueWait for a slot, then gets
	// 503 with Retry-After.
	MaxHeavyRequests int
	HeavyQueueWait   time.Duration
}

// limitsKey carries the server's Limits to newQuery.
type limitsKey struct{}

func limitsOf(r *http.Request) *Limits {
	l, _ := r.Context().Value(limitsKey{}).(*Limits)
	return l
}

// listLimits are the repeatable query parameters and their bounds.
func (l *Limits) listLimits() map[string]int {
	return map[string]int{"filters": l.MaxFilters, "tags_ids": l.MaxTagIDs, "terms": l.MaxSearchTerms}
}

// tooLong is marshmallow's Length message, as upstream would word it.
func tooLong(max int) []string {
	return []string{"Longer than maximum length " + strconv.Itoa(max) + "."}
}

// checkListCounts adds an error for each repeatable parameter of q with more
// values than its limit.
func (q *query) checkListCounts(l *Limits) {
	if l == nil {
		return
	}
	for name, max := range l.listLimits() {
		if max > 0 && len(q.values[name]) > max {
			q.errs[name] = tooLong(max)
			delete(q.values, name)
		}
	}
}

// checkSortKeys refuses a sort_by with more keys than MaxSortKeys before it
// is parsed: every key is an ORDER BY expression, and PostgreSQL refuses
// more than 1,664 of them (54011) long after it has spent its time.
func checkSortKeys(l *Limits, s string) error {
	if l == nil || l.MaxSortKeys <= 0 || strings.Count(s, ",") < l.MaxSortKeys {
		return nil
	}
	n := 0
	for _, k := range strings.Split(s, ",") {
		if k != "" {
			n++
		}
	}
	if n <= l.MaxSortKeys {
		return nil
	}
	return perf.FieldErrors("query", map[string]any{
		"sort_by": []string{"More than " + strconv.Itoa(l.MaxSortKeys) + " sort keys."}})
}

// limitRequest applies the per-request limits that need no routing: the
// length of the request target (414 in the error format) and the Limits for
// newQuery.
func (s *server) limitRequest(next http.Handler) http.Handler {
	l := &s.opt.Limits
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.MaxURLBytes > 0 && len(r.RequestURI) > l.MaxURLBytes {
			writeJSON(w, http.StatusRequestURITooLong, envelope(http.StatusRequestURITooLong))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), limitsKey{}, l)))
	})
}

// heavy reports whether r may buffer a large document: anything on results
// (stored documents up to MAX_BODY_BYTES each) and any request with a body.
func heavy(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/results") || r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// limitHeavy bounds the heavy requests in flight (MAX_HEAVY_REQUESTS): the
// memory the process may take at once is then about that many documents.
// A request that finds no slot within HEAVY_QUEUE_WAIT gets 503 with
// Retry-After; light requests (and /healthz, /readyz) are never held.
func (s *server) limitHeavy(next http.Handler) http.Handler {
	l := s.opt.Limits
	if l.MaxHeavyRequests <= 0 {
		return next
	}
	slots := make(chan struct{}, l.MaxHeavyRequests)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !heavy(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			if !s.waitSlot(r, slots, l.HeavyQueueWait) {
				if r.Context().Err() == nil {
					w.Header().Set("Retry-After", retryAfter)
					writeJSON(w, http.StatusServiceUnavailable, envelope(http.StatusServiceUnavailable))
				}
				return
			}
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}

// waitSlot waits up to d for a slot, or until the client leaves.
func (s *server) waitSlot(r *http.Request, slots chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

// InFlight records the requests being served, so that a shutdown that runs
// out of time can say which requests it cut off.
type InFlight struct {
	mu   sync.Mutex
	next uint64
	reqs map[uint64]inFlightRequest
}

type inFlightRequest struct {
	method, path string
	start        time.Time
}

// NewInFlight returns an empty record.
func NewInFlight() *InFlight { return &InFlight{reqs: map[uint64]inFlightRequest{}} }

// List describes the requests in flight, oldest first, as
// "METHOD /path (running 1.2s)".
func (f *InFlight) List() []string {
	f.mu.Lock()
	reqs := make([]inFlightRequest, 0, len(f.reqs))
	for _, r := range f.reqs {
		reqs = append(reqs, r)
	}
	f.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].start.Before(reqs[j].start) })
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.method + " " + r.path + " (running " + time.Since(r.start).Round(time.Millisecond).String() + ")"
	}
	return out
}

// track records each request in f while it runs.
func (f *InFlight) track(next http.Handler) http.Handler {
	if f == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.next++
		id := f.next
		f.reqs[id] = inFlightRequest{method: r.Method, path: r.URL.Path, start: time.Now()}
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.reqs, id)
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// jsonShape measures a valid JSON text in one pass without decoding it:
// the deepest nesting of arrays and objects, the number of object members
// and the number of objects and arrays. It stops counting once the depth
// or the keys exceed their limit (0: no limit), so the cost is linear and
// bounded whatever the document.
func jsonShape(raw []byte, maxDepth, maxKeys int) (depth, keys, containers int) {
	d := 0
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			d++
			containers++
			if d > depth {
				depth = d
				if maxDepth > 0 && depth > maxDepth {
					return depth, keys, containers
				}
			}
		case '}', ']':
			d--
		case ':':
			keys++
			if maxKeys > 0 && keys > maxKeys {
				return depth, keys, containers
			}
		}
	}
	return depth, keys, containers
}

// checkDocument refuses a result document nested deeper or with more keys
// than the limits, before anything decodes it.
func checkDocument(l *Limits, raw []byte) error {
	depth, keys, _ := jsonShape(raw, l.MaxDocumentDepth, l.MaxDocumentKeys)
	switch {
	case l.MaxDocumentDepth > 0 && depth > l.MaxDocumentDepth:
		return perf.Errorf(perf.Invalid, "The result is nested deeper than %d levels", l.MaxDocumentDepth)
	case l.MaxDocumentKeys > 0 && keys > l.MaxDocumentKeys:
		return perf.Errorf(perf.Invalid, "The result has more than %d keys", l.MaxDocumentKeys)
	}
	return nil
}

// checkSchemaShape refuses a benchmark json_schema larger, nested deeper or
// made of more subschemas than the limits, before the metaschema check and
// the compilation: their cost (in the JSON Schema library) grows faster
// than the depth and than the number of subschemas: 5,000 levels took
// minutes; 525 chains of 63 levels in 256 KiB took 48 s; 2,000 objects at
// any depth up to 32 take well under a second.
func checkSchemaShape(l *Limits, raw []byte) error {
	field := func(msg string) error {
		return perf.FieldErrors("json", map[string]any{"json_schema": []string{msg}})
	}
	if l.MaxSchemaBytes > 0 && len(raw) > l.MaxSchemaBytes {
		return field("Longer than maximum length " + strconv.Itoa(l.MaxSchemaBytes) + " bytes.")
	}
	depth, _, objects := jsonShape(raw, l.MaxSchemaDepth, 0)
	if l.MaxSchemaDepth > 0 && depth > l.MaxSchemaDepth {
		return field("Nested deeper than " + strconv.Itoa(l.MaxSchemaDepth) + " levels.")
	}
	if l.MaxSchemaObjects > 0 && objects > l.MaxSchemaObjects {
		return field("More than " + strconv.Itoa(l.MaxSchemaObjects) + " objects and arrays.")
	}
	return nil
}
