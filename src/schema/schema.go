// Package schema handles the JSON Schemas of benchmarks (API.md §8.1, §8.2):
// it checks a submitted schema before it is stored, compiles a stored schema
// with the draft its $schema names, validates result documents against it,
// and caches compiled schemas by benchmark id.
//
// Failures are *perf.Error values of kind Invalid whose Msg reads like the
// message of Python's jsonschema (the upstream validator) and whose Detail,
// a perf.SchemaPath, is the failing location rendered as upstream did, a Python deque
// such as deque(['machine', 'cpu', 0]). Which of several failures is reported
// follows Python's best_match (see bestMatch).
//
// Validation never touches the network: $ref and $schema resolve only to the
// schema itself and to the metaschemas embedded in the library; any other
// URL fails the compilation (and so the upload of the schema) with a 422.
//
// Differences from upstream worth knowing: regular expressions use Go's RE2
// syntax (no look-around or backreferences; a schema using them is refused
// at upload with "... is not a 'regex'"), and draft 3 is not supported by the
// library, so a schema declaring it is compiled as 2020-12 like any other
// unrecognised $schema (such a schema rarely passes the draft-7 check of
// CheckBenchmarkSchema anyway, as draft 3 spells "required" as a boolean).
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/validjson"
)

// baseURL names a benchmark schema inside its compiler. It is never fetched
// (the .invalid top-level domain cannot resolve): relative references
// resolve against it and then fail in refuseLoader like any other URL.
const (
	baseHost = "https://eosc-perf.invalid/"
	baseURL  = baseHost + "json_schema"
)

// formatNames are the formats the library asserts by default in drafts 4
// to 7. API.md §8.2: upstream never asserted format, so each is replaced by
// a check that always passes ("regex" cannot be replaced; disableFormats
// removes it after compilation).
var formatNames = []string{
	"date", "date-time", "duration", "email", "hostname", "ipv4", "ipv6",
	"iri", "iri-reference", "json-pointer", "period", "relative-json-pointer",
	"semver", "time", "uri", "uri-reference", "uri-template", "uuid",
}

// Schema is a compiled benchmark schema, safe for concurrent use.
type Schema struct {
	compiled *jsonschema.Schema
	draft    *jsonschema.Draft
}

// Draft returns the URL of the draft the schema was compiled with, e.g.
// "https://json-schema.org/draft/2020-12/schema".
func (s *Schema) Draft() string { return s.draft.String() }

// Compile compiles a benchmark schema with the draft named by its $schema:
// drafts 4, 6, 7, 2019-09 and 2020-12 (http or https, with or without the
// empty fragment "#"); any other or no $schema means 2020-12. format is not
// asserted and no URL is fetched. A schema that does not compile gives an
// Invalid *perf.Error with a message and path (API.md §13 item 6: 422, not
// 500).
func Compile(raw json.RawMessage) (*Schema, error) {
	doc, err := decode(raw)
	if err != nil {
		return nil, &perf.Error{Kind: perf.Invalid, Msg: "json_schema is not valid JSON",
			Detail: perf.SchemaPath{Path: pyDeque(nil)}, Err: err}
	}
	draft := draftOf(doc)
	if m, ok := doc.(map[string]any); ok {
		// The draft is decided here; left in place, an unrecognised $schema
		// would make the library try to load it as a metaschema.
		if _, isString := m["$schema"].(string); isString {
			delete(m, "$schema")
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(draft)
	c.UseLoader(refuseLoader{})
	for _, name := range formatNames {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
	}
	if err := c.AddResource(baseURL, doc); err != nil {
		return nil, compileError(err, doc)
	}
	sch, err := c.Compile(baseURL)
	if err != nil {
		return nil, compileError(err, doc)
	}
	disableFormats(sch)
	return &Schema{compiled: sch, draft: draft}, nil
}

// Validate validates a result document. A document that fails gives an
// Invalid *perf.Error: Msg is the most relevant failure (e.g. "'10' is not
// of type 'integer'") and Detail its location (e.g. "deque(['time'])").
// Numbers are decoded exactly, so big integers and long fractions are
// compared by their value.
func (s *Schema) Validate(doc json.RawMessage) error {
	if !json.Valid(doc) {
		return &perf.Error{Kind: perf.BadRequest, Msg: "The result is not valid JSON"}
	}
	return s.ValidateValid(doc)
}

// ValidateValid is Validate for a document the caller has checked with
// json.Valid (or found inside a text so checked): it skips that check.
func (s *Schema) ValidateValid(doc json.RawMessage) error {
	v, err := validjson.Decode(doc)
	if err != nil {
		return &perf.Error{Kind: perf.BadRequest, Msg: "The result is not valid JSON", Err: err}
	}
	if err := s.compiled.Validate(v); err != nil {
		var verr *jsonschema.ValidationError
		if errors.As(err, &verr) {
			return invalid(verr, v)
		}
		return perf.Wrap(err, "validate result")
	}
	return nil
}

// decode parses JSON keeping numbers as json.Number.
func decode(raw json.RawMessage) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

// draftOf picks the draft of a schema document from its $schema, as
// Python's jsonschema.validators.validator_for does (with 2020-12 as the
// default), accepting http and https for every draft.
func draftOf(doc any) *jsonschema.Draft {
	m, ok := doc.(map[string]any)
	if !ok {
		return jsonschema.Draft2020
	}
	s, ok := m["$schema"].(string)
	if !ok {
		return jsonschema.Draft2020
	}
	s = strings.TrimSuffix(s, "#")
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	} else {
		s = strings.TrimPrefix(s, "http://")
	}
	switch s {
	case "json-schema.org/draft-04/schema":
		return jsonschema.Draft4
	case "json-schema.org/draft-06/schema":
		return jsonschema.Draft6
	case "json-schema.org/draft-07/schema":
		return jsonschema.Draft7
	case "json-schema.org/draft/2019-09/schema":
		return jsonschema.Draft2019
	default:
		return jsonschema.Draft2020
	}
}

// refuseLoader is the compiler's URL loader: nothing beyond the schema
// itself and the embedded metaschemas is ever loaded, so a submitted schema
// can neither make the service fetch a URL nor read a local file.
type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) {
	return nil, errors.New("remote schemas are not loaded")
}

// disableFormats removes format assertions from every subschema reachable
// from root. The registered always-passing formats already cover the named
// formats; this also covers "regex", which the library does not let us
// replace.
func disableFormats(root *jsonschema.Schema) {
	seen := map[*jsonschema.Schema]bool{}
	stack := []*jsonschema.Schema{root}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == nil || seen[s] {
			continue
		}
		seen[s] = true
		s.Format = nil
		stack = appendSubschemas(stack, s)
	}
}

// appendSubschemas appends every subschema s refers to.
func appendSubschemas(out []*jsonschema.Schema, s *jsonschema.Schema) []*jsonschema.Schema {
	out = append(out, s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else,
		s.PropertyNames, s.UnevaluatedProperties, s.Contains, s.Items2020,
		s.UnevaluatedItems, s.ContentSchema)
	if s.DynamicRef != nil {
		out = append(out, s.DynamicRef.Ref)
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	out = append(out, s.PrefixItems...)
	for _, sub := range s.Properties {
		out = append(out, sub)
	}
	for _, sub := range s.PatternProperties {
		out = append(out, sub)
	}
	for _, sub := range s.DependentSchemas {
		out = append(out, sub)
	}
	for _, dep := range s.Dependencies {
		if sub, ok := dep.(*jsonschema.Schema); ok {
			out = append(out, sub)
		}
	}
	for _, v := range []any{s.AdditionalProperties, s.AdditionalItems, s.Items} {
		switch v := v.(type) {
		case *jsonschema.Schema:
			out = append(out, v)
		case []*jsonschema.Schema:
			out = append(out, v...)
		}
	}
	return out
}
