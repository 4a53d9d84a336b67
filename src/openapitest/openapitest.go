// Package openapitest checks, in black-box tests, that HTTP responses are
// what the served OpenAPI document (package openapi) allows, and records
// which operations the tests exercised.
//
// It is stricter than the document, on purpose: the document is written for
// client generators and stays lenient where a client benefits, while tests
// should notice any drift of the server. On top of kin-openapi's response
// validation a Validator requires
//
//   - the status to be declared explicitly for the operation (the catch-all
//     "default" response does not count);
//   - no properties besides the declared ones in every object schema that
//     declares properties (so an exposed "status" or "site_id" is caught);
//   - timestamps in the upstream format (ISO 8601 without offset, with a
//     six-digit fraction only when it is non-zero) and lower-case UUIDs;
//   - an empty body for 204 and HEAD, and JSON bodies typed application/json;
//   - "code"/"status" of an error envelope, and "error" of an authentication
//     error, to agree with the HTTP status.
//
// Requests are not validated, except that a 2xx answer to a request whose
// query or path parameters the document forbids is reported: tests send
// invalid input on purpose, but the server must not accept it. Request
// bodies and security are never checked.
package openapitest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/eosc-perf/api/src/api/openapi"
)

// Validator checks responses against the document. It is safe for
// concurrent use by parallel tests.
type Validator struct {
	doc       *openapi3.T
	templates []template

	mu   sync.Mutex
	seen map[string]bool
}

// template matches request paths against one path of the document.
type template struct {
	path  string
	re    *regexp.Regexp
	names []string
	item  *openapi3.PathItem
}

// New loads the document or fails the test.
func New(tb testing.TB) *Validator {
	tb.Helper()
	v, err := Load()
	if err != nil {
		tb.Fatalf("openapitest: %v", err)
	}
	return v
}

// Load loads and validates the document (for use outside a test, e.g. in
// TestMain to share one Validator across a package).
func Load() (*Validator, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document("/"))
	if err != nil {
		return nil, fmt.Errorf("load document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate document: %w", err)
	}
	closeObjects(doc)
	v := &Validator{doc: doc, seen: map[string]bool{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		t, err := compileTemplate(path)
		if err != nil {
			return nil, err
		}
		t.item = doc.Paths.Value(path)
		v.templates = append(v.templates, t)
	}
	return v, nil
}

// closeObjects forbids undeclared properties in every component schema that
// declares properties and says nothing about additional ones. Schemas meant
// to be free-form (Json, the json/json_schema/errors members) declare no
// properties and stay open.
func closeObjects(doc *openapi3.T) {
	no := false
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &no
		}
	}
}

// compileTemplate turns "/benchmarks/{benchmark_id}:approve" into a regular
// expression. A variable never spans "/" or ":", so the literal ":verb"
// suffixes select their own operation whatever the order of the templates.
// Matching the decoded path is why this exists: kin-openapi's gorillamux
// router matches the encoded path, so "/users%3Aregister", which the server
// treats as "/users:register" (API.md §1), would not be found (its legacy
// router finds none of these paths under the server "/").
func compileTemplate(path string) (template, error) {
	t := template{path: path}
	var b strings.Builder
	b.WriteString("^")
	rest := path
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("path %q: unterminated variable", path)
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		b.WriteString("([^/:]+)")
		t.names = append(t.names, rest[i+1:i+j])
		rest = rest[i+j+1:]
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return t, fmt.Errorf("path %q: %w", path, err)
	}
	t.re = re
	return t, nil
}

// match finds the document path of a decoded request path.
func (v *Validator) match(path string) (template, map[string]string, bool) {
	for _, t := range v.templates {
		m := t.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		params := make(map[string]string, len(t.names))
		for i, name := range t.names {
			params[name] = m[i+1]
		}
		return t, params, true
	}
	return template{}, nil, false
}

// Check fails the test (without stopping it) when the response is not one
// the document allows for req, and records the operation as seen.
func (v *Validator) Check(tb testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	if err := v.Validate(req, status, header, body); err != nil {
		tb.Errorf("openapi: %s %s → %d: %v\nbody: %s", req.Method, req.URL.RequestURI(), status, err, excerpt(body))
	}
}

// CheckResponse is Check for an *http.Response whose body the caller has
// already read into body.
func (v *Validator) CheckResponse(tb testing.TB, resp *http.Response, body []byte) {
	tb.Helper()
	if resp.Request == nil {
		tb.Errorf("openapi: response without its request")
		return
	}
	v.Check(tb, resp.Request, resp.StatusCode, resp.Header, body)
}

// Seen returns the operationIds of the operations checked so far.
func (v *Validator) Seen() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]bool, len(v.seen))
	for k := range v.seen {
		out[k] = true
	}
	return out
}

// Unseen returns, sorted, the operationIds of the document not checked so far.
func (v *Validator) Unseen() []string {
	seen := v.Seen()
	var out []string
	for _, op := range openapi.Operations() {
		if !seen[op.OperationID] {
			out = append(out, op.OperationID)
		}
	}
	slices.Sort(out)
	return out
}

func (v *Validator) record(operationID string) {
	v.mu.Lock()
	v.seen[operationID] = true
	v.mu.Unlock()
}

// requestPath is the request path as the server routes it: decoded (so
// %3A is ":") and without the X-Script-Name prefix, which the server strips
// when present (API.md §11).
func requestPath(req *http.Request) string {
	p := req.URL.Path
	prefix := strings.TrimRight(req.Header.Get("X-Script-Name"), "/")
	if prefix != "" && strings.HasPrefix(p, prefix) {
		if rest := p[len(prefix):]; rest == "" || rest[0] == '/' {
			p = rest
			if p == "" {
				p = "/"
			}
		}
	}
	return p
}

func excerpt(body []byte) string {
	const max = 2000
	if len(body) > max {
		return string(body[:max]) + "…"
	}
	return string(body)
}

// route builds the kin-openapi route of an operation for openapi3filter.
func (v *Validator) route(t template, method string, op *openapi3.Operation) *routers.Route {
	return &routers.Route{Spec: v.doc, Path: t.path, PathItem: t.item, Method: method, Operation: op}
}
