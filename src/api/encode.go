package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/validjson"
	"github.com/google/uuid"
)

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, code int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		// Only programming errors reach here (every body is a plain struct).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code":500,"status":"Internal Server Error"}`))
		return
	}
	writeRaw(w, code, buf)
}

// writeRaw writes an already encoded JSON body.
func writeRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// noContent answers 204 with an empty body.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// isJSON reports whether a Content-Type is a JSON media type
// (application/json with any parameters, or application/*+json).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false // a malformed parameter still leaves the media type
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// readBody returns the raw JSON body of r, or nil when the body counts as
// absent (not a JSON content type, or empty; API.md §3.2). Malformed JSON is
// a 400; a body over the size limit a 413.
func readBody(r *http.Request) (json.RawMessage, error) {
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, nil
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, errInvalidJSON(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) || !utf8.Valid(raw) {
		return nil, errInvalidJSON(nil)
	}
	return raw, nil
}

// errInvalidJSON is the 400 of a body that is not JSON (API.md §3.2).
func errInvalidJSON(cause error) error {
	return &perf.Error{Kind: perf.BadRequest, Msg: "Invalid JSON body.", Detail: perf.BadBody{Location: "json"}, Err: cause}
}

// errTooLarge answers a body over MAX_BODY_BYTES.
var errTooLarge = &perf.Error{Kind: perf.TooLarge}

// readDocument reads the body as one JSON object and returns it raw
// ({} when absent). readBody has checked that it is valid JSON, so a
// leading "{" makes it an object: no decoding needed (the result upload's
// document goes to the schema validator and the database as it is). A
// non-object is 422 "Invalid input type." (API.md §3.2).
func readDocument(r *http.Request) (json.RawMessage, error) {
	raw, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return json.RawMessage("{}"), nil
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] != '{' {
		return nil, invalidBodyType()
	}
	return raw, nil
}

// readObject reads the body as a JSON object (absent = {}), keeping each
// member raw, for bodies validated field by field.
func readObject(r *http.Request) (map[string]json.RawMessage, error) {
	raw, err := readDocument(r)
	if err != nil {
		return nil, err
	}
	if !json.Valid(raw) {
		return nil, invalidBodyType()
	}
	return bodyMembers(raw, limitsOf(r))
}

// bodyMembers splits the valid JSON object text raw into its members, at
// most MaxBodyMembers of them.
func bodyMembers(raw []byte, l *Limits) (map[string]json.RawMessage, error) {
	max := 0
	if l != nil {
		max = l.MaxBodyMembers
	}
	obj, err := validjson.Object(raw, max)
	switch {
	case err == validjson.ErrTooMany:
		return nil, perf.FieldErrors("json", map[string]any{"_schema": []string{"More than " + strconv.Itoa(max) + " members."}})
	case err != nil:
		return nil, invalidBodyType()
	}
	return obj, nil
}

func invalidBodyType() error {
	return perf.FieldErrors("json", map[string]any{"_schema": []string{"Invalid input type."}})
}

// fieldKind is the type of a declared body field.
type fieldKind int

const (
	kindString fieldKind = iota
	kindObject
	kindUUIDList
)

// field declares one member of a request body schema. A readOnly member
// is only collected: checkEcho compares it with the stored value.
type field struct {
	name     string
	kind     fieldKind
	required bool
	readOnly bool
}

// body is a validated request body: the declared members that were present.
type body map[string]json.RawMessage

// decodeBody reads the request body and checks it against fields the way
// upstream's marshmallow schemas do: unknown members, missing required
// members, nulls and wrong types are 422 with one message list per member.
func decodeBody(r *http.Request, fields ...field) (body, error) {
	obj, err := readObject(r)
	if err != nil {
		return nil, err
	}
	l := limitsOf(r)
	problems := map[string]any{}
	declared := map[string]bool{}
	for _, f := range fields {
		declared[f.name] = true
		v, ok := obj[f.name]
		if !ok {
			if f.required {
				problems[f.name] = []string{"Missing data for required field."}
			}
			continue
		}
		if f.readOnly {
			continue
		}
		if msg := checkKind(f.kind, v, l); msg != nil {
			problems[f.name] = msg
		}
	}
	for name := range obj {
		if !declared[name] {
			problems[name] = []string{"Unknown field."}
		}
	}
	if len(problems) > 0 {
		return nil, perf.FieldErrors("json", problems)
	}
	return body(obj), nil
}

// listItems splits v, a member of a valid JSON text, into its items, at
// most max of them (0: any number), counted before any item is read; else
// the message: too long, or "Not a valid list." (also for null).
func listItems(v json.RawMessage, max int) ([]json.RawMessage, []string) {
	items, err := validjson.Array(v, max)
	switch {
	case err == validjson.ErrTooMany:
		return nil, tooLong(max)
	case err != nil:
		return nil, []string{"Not a valid list."}
	}
	return items, nil
}

// checkKind returns the marshmallow-style messages for a member of the
// wrong type, or nil. With l, a string may hold at most MaxTextLength
// characters and a UUID list at most MaxTagIDs items (it is only used for
// tags_ids), checked before its items.
func checkKind(kind fieldKind, v json.RawMessage, l *Limits) any {
	var maxText, maxItems int
	if l != nil {
		maxText, maxItems = l.MaxTextLength, l.MaxTagIDs
	}
	if string(bytes.TrimSpace(v)) == "null" {
		return []string{"Field may not be null."}
	}
	switch kind {
	case kindString:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return []string{"Not a valid string."}
		}
		if strings.IndexByte(s, 0) >= 0 {
			return []string{"Not a valid string: it contains a NUL character."}
		}
		if maxText > 0 && utf8.RuneCountInString(s) > maxText {
			return tooLong(maxText)
		}
	case kindObject:
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return []string{"Not a valid mapping type."}
		}
	case kindUUIDList:
		items, msg := listItems(v, maxItems)
		if msg != nil {
			return msg
		}
		bad := map[string]any{}
		for i, it := range items {
			var s string
			if json.Unmarshal(it, &s) != nil || !isUUID(s) {
				bad[itoa(i)] = []string{"Not a valid UUID."}
			}
		}
		if len(bad) > 0 {
			return bad
		}
	}
	return nil
}

// str returns a string member and whether it was present.
func (b body) str(name string) (string, bool) {
	v, ok := b[name]
	if !ok {
		return "", false
	}
	var s string
	_ = json.Unmarshal(v, &s) // checked by decodeBody
	return s, true
}

// optStr returns a string member as a pointer (nil when absent).
func (b body) optStr(name string) *string {
	s, ok := b.str(name)
	if !ok {
		return nil
	}
	return &s
}

// uuids returns a list-of-UUID member and whether it was present.
func (b body) uuids(name string) ([]uuid.UUID, bool) {
	v, ok := b[name]
	if !ok {
		return nil, false
	}
	var ss []string
	_ = json.Unmarshal(v, &ss)
	out := make([]uuid.UUID, 0, len(ss))
	for _, s := range ss {
		out = append(out, uuid.MustParse(s))
	}
	return out, true
}

// isUUID accepts what upstream's UUID fields accept in bodies and query
// strings: the dashed form in any letter case, 32 hex digits, braces or a
// urn:uuid: prefix. (Path segments are stricter: the router only matches
// the dashed form, API.md §1.)
func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
