package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// pathUUID returns a UUID path variable. The route pattern already
// guarantees its form, so parsing cannot fail.
func pathUUID(r *http.Request, name string) uuid.UUID {
	return uuid.MustParse(mux.Vars(r)[name])
}

// query validates a query string against the parameters an endpoint
// declares (API.md §3.1): names have "[]" removed, unknown names and type
// errors are collected and reported together as 422 {"query": {...}}.
type query struct {
	values url.Values
	errs   map[string]any
	limits *Limits // nil: none
}

// newQuery reads r's query string for an endpoint that accepts the given
// parameter names. Pass no names for an endpoint whose query schema is
// empty (every parameter is then unknown).
func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{values: url.Values{}, errs: map[string]any{}, limits: limitsOf(r)}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, kv := range parseRawQuery(r.URL.RawQuery) {
		name := strings.ReplaceAll(kv[0], "[]", "")
		if !ok[name] {
			q.errs[name] = []string{"Unknown field."}
			continue
		}
		v := kv[1]
		if name != "filters" { // the filter parser gives its own answers
			if strings.IndexByte(v, 0) >= 0 {
				q.errs[name] = []string{"Not a valid string."}
				continue
			}
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		q.values[name] = append(q.values[name], v)
	}
	q.checkListCounts(q.limits)
	return q
}

// parseRawQuery splits a query string the way upstream's server did: on
// "&" only (a ";" is an ordinary character, where Go's parser drops the
// pair), "+" is a space, and a malformed percent escape is kept as text.
// Invalid UTF-8 is replaced by U+FFFD (newQuery) and NUL is refused, since
// PostgreSQL cannot take either as text.
func parseRawQuery(raw string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{unescapeQuery(k), unescapeQuery(v)})
	}
	return out
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return strings.ReplaceAll(s, "+", " ")
}

// err returns the collected validation error, or nil.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return perf.FieldErrors("query", q.errs)
}

// has reports whether a parameter was given.
func (q *query) has(name string) bool { _, ok := q.values[name]; return ok }

// str returns the first value of a string parameter, or nil.
func (q *query) str(name string) *string {
	vs, ok := q.values[name]
	if !ok {
		return nil
	}
	return &vs[0]
}

// list returns every value of a repeatable parameter.
func (q *query) list(name string) []string { return q.values[name] }

// integer returns the first value as an int, def when absent, checking the
// range [lo, hi] (hi 0 = unbounded) with marshmallow's messages.
func (q *query) integer(name string, def, lo, hi int) int {
	s := q.str(name)
	if s == nil {
		return def
	}
	text := strings.TrimSpace(*s)
	n, err := strconv.Atoi(text)
	if err != nil {
		if !integerText.MatchString(text) {
			q.errs[name] = []string{"Not a valid integer."}
			return def
		}
		// A valid integer beyond int range, as Python accepts: the
		// largest or smallest page number we handle does the same job.
		n = maxPageNumber
		if text[0] == '-' {
			n = -maxPageNumber
		}
	}
	// Page numbers so large that the offset would overflow are past any end.
	n = max(min(n, maxPageNumber), -maxPageNumber)
	switch {
	case hi > 0 && (n < lo || n > hi):
		q.errs[name] = []string{"Must be greater than or equal to " + itoa(lo) + " and less than or equal to " + itoa(hi) + "."}
	case n < lo:
		q.errs[name] = []string{"Must be greater than or equal to " + itoa(lo) + "."}
	}
	return n
}

// integerText is an integer as Python's int() reads it.
var integerText = regexp.MustCompile(`^[+-]?[0-9]+$`)

// maxPageNumber bounds page numbers: beyond every page a table can have,
// small enough that the offset cannot overflow.
const maxPageNumber = 1 << 40

// page reads page and per_page (API.md §3.4).
func (q *query) page() perf.Page {
	return perf.Page{
		Number:  q.integer("page", 1, 1, 0),
		PerPage: q.integer("per_page", perf.DefaultPerPage, 1, perf.MaxPerPage),
	}
}

// status reads the review status filter, default approved (API.md §3.7).
func (q *query) status() perf.Status {
	s := q.str("status")
	if s == nil {
		return perf.Approved
	}
	switch perf.Status(*s) {
	case perf.OnReview, perf.Approved:
		return perf.Status(*s)
	}
	q.errs["status"] = []string{"Must be one of: on_review, approved."}
	return perf.Approved
}

// date reads a YYYY-MM-DD parameter (1–2 digit month and day tolerated;
// anything with a time part is invalid, API.md §3.1).
func (q *query) date(name string) *time.Time {
	s := q.str(name)
	if s == nil {
		return nil
	}
	t, err := parseDate(*s)
	if err != nil {
		q.errs[name] = []string{"Not a valid date."}
		return nil
	}
	return &t
}

func parseDate(s string) (time.Time, error) {
	return time.Parse("2006-1-2", s)
}

// uuidParam reads a single UUID parameter.
func (q *query) uuidParam(name string) *uuid.UUID {
	s := q.str(name)
	if s == nil {
		return nil
	}
	id, err := uuid.Parse(*s)
	if err != nil {
		q.errs[name] = []string{"Not a valid UUID."}
		return nil
	}
	return &id
}

// uuidList reads a repeatable UUID parameter; bad items are reported by
// index as upstream does ({"tags_ids": {"0": ["Not a valid UUID."]}}).
func (q *query) uuidList(name string) []uuid.UUID {
	var out []uuid.UUID
	bad := map[string]any{}
	for i, s := range q.values[name] {
		id, err := uuid.Parse(s)
		if err != nil {
			bad[itoa(i)] = []string{"Not a valid UUID."}
			continue
		}
		out = append(out, id)
	}
	if len(bad) > 0 {
		q.errs[name] = bad
	}
	return out
}

// uploadDates reads upload_before and upload_after (API.md §3.6).
func (q *query) uploadDates() perf.DateRange {
	return perf.DateRange{Before: q.date("upload_before"), After: q.date("upload_after")}
}

// sortBy parses sort_by against the resource's sortable names (API.md §3.5).
// It runs after the other query checks: its errors use the "message" member.
// Absent means def; present but empty means no order.
func (q *query) sortBy(resource, def string, jsonPaths bool) ([]perf.SortKey, error) {
	s := def
	if v := q.str("sort_by"); v != nil {
		s = *v
	}
	if err := checkSortKeys(q.limits, s); err != nil {
		return nil, err
	}
	return parseSort(s, perf.SortFields[resource], jsonPaths)
}

func parseSort(s string, fields []string, jsonPaths bool) ([]perf.SortKey, error) {
	known := map[string]bool{}
	for _, f := range fields {
		known[f] = true
	}
	var keys []perf.SortKey
	for _, k := range strings.Split(s, ",") {
		if k == "" {
			continue
		}
		op, size := utf8.DecodeRuneInString(k)
		name := k[size:]
		key := perf.SortKey{Field: name}
		switch {
		case known[name]:
		case jsonPaths && strings.HasPrefix(name, "json.") && validJSONPath(name[5:]):
			key.Field = "json"
			key.JSONPath = strings.Split(name[5:], ".")
		default:
			return nil, &perf.Error{Kind: perf.Invalid, Msg: "Unexpected field '" + name + "'",
				Detail: perf.SortKeyError{Hint: "Use ',' to separate fields"}}
		}
		switch op {
		case '+':
		case '-':
			key.Desc = true
		default:
			return nil, &perf.Error{Kind: perf.Invalid, Msg: "Unknown order operator '" + string(op) + "'",
				Detail: perf.SortKeyError{Hint: "Use '+'(asc) or '-'(desc) before sort field"}}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// validJSONPath accepts dot-separated non-empty keys within the bounds of
// a filter's path: at most perf.MaxFilterPathDepth keys and
// perf.MaxFilterLength characters.
func validJSONPath(p string) bool {
	if strings.Count(p, ".") >= perf.MaxFilterPathDepth || utf8.RuneCountInString(p) > perf.MaxFilterLength {
		return false
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return false
		}
	}
	return true
}

// terms reads the :search terms.
func (q *query) terms() []string { return q.list("terms") }

func itoa(n int) string { return strconv.Itoa(n) }
