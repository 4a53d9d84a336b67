package api

// POST /results:bulk (EXTENSIONS.md X4): NDJSON lines, each checked exactly
// as POST /results checks its query and body, with one answer per line.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/store"
)

// MaxBulkLines is the most lines one bulk upload may hold.
const MaxBulkLines = 10_000

type bulkItemJSON struct {
	Line   int            `json:"line"`
	Code   int            `json:"code"`
	ID     *uuid.UUID     `json:"id,omitempty"`
	Errors map[string]any `json:"errors,omitempty"`
}

type bulkJSON struct {
	Created int            `json:"created"`
	Failed  int            `json:"failed"`
	Items   []bulkItemJSON `json:"items"`
}

// isNDJSON accepts application/x-ndjson (parameters allowed).
func isNDJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	return mt == "application/x-ndjson"
}

// bulkBool reads a boolean query parameter the way marshmallow's Boolean
// does (true/false, 1/0, yes/no, on/off … in any case).
func bulkBool(q *query, name string) bool {
	s := q.str(name)
	if s == nil {
		return false
	}
	switch strings.ToLower(*s) {
	case "true", "t", "1", "yes", "y", "on":
		return true
	case "false", "f", "0", "no", "n", "off":
		return false
	}
	q.errs[name] = []string{"Not a valid boolean."}
	return false
}

// handleResultBulk handles POST /results:bulk.
func (s *server) handleResultBulk(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "atomic")
	atomic := bulkBool(q, "atomic")
	if err := q.err(); err != nil {
		return err
	}
	if !isNDJSON(r.Header.Get("Content-Type")) {
		return &perf.Error{Kind: perf.BadRequest, Detail: perf.BadBody{Location: "json"},
			Msg: "The body must be NDJSON (Content-Type: application/x-ndjson), one JSON object per line."}
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return &perf.Error{Kind: perf.BadRequest, Msg: "Invalid NDJSON body.", Detail: perf.BadBody{Location: "json"}, Err: err}
	}
	texts := splitLines(raw)
	switch {
	case len(texts) == 0:
		return perf.Errorf(perf.Invalid, "The body holds no line: send one JSON object per line")
	case len(texts) > MaxBulkLines:
		return &perf.Error{Kind: perf.Invalid, Msg: "Too many lines: at most 10000 per request",
			Detail: perf.Figures{"max_lines": MaxBulkLines}}
	}
	c := callerOf(r)
	lines := make([]store.BulkLine, len(texts))
	now := time.Now()
	for i, text := range texts {
		lines[i].New, lines[i].Err = parseBulkLine(text, now, &s.opt.Limits)
		n := &lines[i].New
		n.ID, n.UploadDatetime = uuid.New(), perf.Now()
		n.Uploader = perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}
	}
	created, err := s.store.CreateResults(r.Context(), lines, atomic, func(b perf.Benchmark, doc json.RawMessage) error {
		sch, err := s.opt.Schemas.Get(b.ID, b.JSONSchema)
		if err != nil {
			return err
		}
		return sch.ValidateValid(doc) // parseBulkLine checked the line with json.Valid
	})
	if err != nil {
		return err
	}
	body := bulkJSON{Created: created, Items: make([]bulkItemJSON, len(lines))}
	for i, l := range lines {
		it := bulkItemJSON{Line: i + 1}
		switch {
		case l.Err != nil:
			e := perf.AsError(l.Err)
			if e.Kind == perf.Internal || e.Kind == perf.Unavailable {
				return l.Err
			}
			it.Code, it.Errors = status[e.Kind], errorsMember(e)
			body.Failed++
		case created == 0 && atomic:
			it.Code = http.StatusFailedDependency
			it.Errors = map[string]any{"error": "Not stored: another line failed and atomic is true"}
		default:
			id := l.New.ID
			it.Code, it.ID = http.StatusCreated, &id
		}
		body.Items[i] = it
	}
	code := http.StatusOK
	if atomic && body.Failed > 0 {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, body)
	return nil
}

// splitLines splits an NDJSON body at LF (a CR before it is dropped); the
// newline after the last line is optional.
func splitLines(raw []byte) [][]byte {
	if len(raw) == 0 {
		return nil
	}
	raw = bytes.TrimSuffix(raw, []byte("\n"))
	parts := bytes.Split(raw, []byte("\n"))
	for i, p := range parts {
		parts[i] = bytes.TrimSuffix(p, []byte("\r"))
	}
	return parts
}

// parseBulkLine reads one line with the checks and texts of POST /results:
// the members other than "json" as its query parameters (unknown members,
// missing fields, malformed UUIDs and datetimes), "json" as its body
// (absent = {}; not an object is "Invalid input type."), then the time
// zone and future rules. The document's shape is checked against limits
// as POST /results checks its body (checkDocument), before anything
// decodes it.
func parseBulkLine(text []byte, now time.Time, limits *Limits) (perf.NewResult, error) {
	var n perf.NewResult
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 || !utf8.Valid(trimmed) || !json.Valid(trimmed) {
		return n, &perf.Error{Kind: perf.Invalid, Msg: "Invalid JSON line.", Detail: perf.BadBody{Location: "json"}}
	}
	if trimmed[0] != '{' {
		return n, invalidBodyType()
	}
	obj, err := bodyMembers(trimmed, limits) // valid: one pass, no second check
	if err != nil {
		return n, err
	}
	q := &query{values: url.Values{}, errs: map[string]any{}}
	for name, v := range obj {
		switch name {
		case "json":
		case "tags_ids":
			items, msg := listItems(v, limits.MaxTagIDs)
			if msg != nil {
				q.errs[name] = msg
				continue
			}
			for _, it := range items {
				var s string
				if json.Unmarshal(it, &s) != nil {
					s = string(it) // not a string: reported as not a UUID
				}
				q.values.Add(name, s)
			}
		case "benchmark_id", "flavor_id", "execution_datetime":
			var s string
			if json.Unmarshal(v, &s) != nil {
				msg := "Not a valid UUID."
				if name == "execution_datetime" {
					msg = "Not a valid datetime."
				}
				q.errs[name] = []string{msg}
				continue
			}
			if strings.IndexByte(s, 0) >= 0 { // as newQuery answers a query parameter
				q.errs[name] = []string{"Not a valid string."}
				continue
			}
			q.values.Set(name, s)
		default:
			q.errs[name] = []string{"Unknown field."}
		}
	}
	fields, exec, zoned := uploadFields(q)
	n.BenchmarkID, n.FlavorID, n.TagIDs = fields.BenchmarkID, fields.FlavorID, fields.TagIDs
	if err := q.err(); err != nil {
		return n, err
	}
	doc := json.RawMessage("{}")
	if v, ok := obj["json"]; ok {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			return n, invalidBodyType()
		}
		doc = v
	}
	if err := checkDocument(limits, doc); err != nil {
		return n, err
	}
	if err := checkExecTime(exec, zoned, now); err != nil {
		return n, err
	}
	n.ExecutionDatetime, n.JSON = exec, doc
	return n, nil
}

// errorsMember is the "errors" member writeError would send for e (API.md
// §3.3), for a line's answer.
func errorsMember(e *perf.Error) map[string]any {
	body := envelopeOf(status[e.Kind], e)
	if m, ok := body["errors"].(map[string]any); ok {
		return m
	}
	m, _ := body["message"].(map[string]any) // a sort or operator error
	return m
}
