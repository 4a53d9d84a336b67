package schema

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/eosc-perf/api/src/perf"
)

// printer renders the library's own messages for the error kinds that have
// no Python-style text below.
var printer = message.NewPrinter(language.English)

// failure is one validation error in the flat shape Python's jsonschema
// reports from iter_errors: the failing keyword, where in the instance, the
// message, and for anyOf/oneOf the errors of the alternatives (Python's
// error.context).
type failure struct {
	keyword string
	path    []any // string keys and int array indexes
	message string
	context []*failure
}

// weak marks the keywords Python's best_match ranks below the others at
// the same depth: their own message says less than their alternatives'.
func (f *failure) weak() bool { return f.keyword == "anyOf" || f.keyword == "oneOf" }

// invalid turns a failed validation of doc into the 422 error of API.md §8.2:
// the most relevant failure's message and its location as a Python deque.
func invalid(verr *jsonschema.ValidationError, doc any) *perf.Error {
	best := bestMatch(collect(verr, doc, nil))
	if best == nil {
		// Cannot happen for a failed validation; keep a usable text anyway.
		best = &failure{message: "validation failed"}
	}
	return &perf.Error{
		Kind:   perf.Invalid,
		Msg:    best.message,
		Detail: perf.SchemaPath{Path: pyDeque(best.path)},
		Err:    verr,
	}
}

// collect flattens the library's error tree the way Python's validators
// yield errors: $ref, allOf, the per-location groups and the root wrapper
// pass their causes through; anyOf and oneOf keep theirs as context.
func collect(e *jsonschema.ValidationError, doc any, out []*failure) []*failure {
	if e == nil {
		return out
	}
	switch k := e.ErrorKind.(type) {
	case nil:
		return out // placeholder of a boolean-only evaluation, never reported
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, c := range e.Causes {
			out = collect(c, doc, out)
		}
		return out
	case *kind.AnyOf, *kind.OneOf:
		f := describe(e, doc)
		if o, ok := k.(*kind.OneOf); !ok || len(o.Subschemas) == 0 {
			for _, c := range e.Causes {
				f.context = collect(c, doc, f.context)
			}
		}
		return append(out, f)
	default:
		return append(out, describe(e, doc))
	}
}

// bestMatch picks the error to report like Python's
// jsonschema.exceptions.best_match (jsonschema 4.20, which upstream used):
// among the top-level errors the one highest up in the instance (a shorter
// path means "more" is wrong), anyOf/oneOf ranking below other keywords at
// the same depth; then, while the pick is an anyOf/oneOf, descend into its
// alternatives' errors preferring the deepest, unless the two best
// alternatives tie, in which case the anyOf/oneOf message itself is kept.
// Python breaks remaining ties by iteration order, which the library does not
// preserve; ties are broken here by instance location, keyword and message
// so that the answer is deterministic.
func bestMatch(fs []*failure) *failure {
	if len(fs) == 0 {
		return nil
	}
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, order)
	best := fs[0]
	for _, f := range fs[1:] {
		if relevance(f, best) > 0 {
			best = f
		}
	}
	for len(best.context) > 0 {
		ctx := slices.Clone(best.context)
		slices.SortStableFunc(ctx, order)
		slices.SortStableFunc(ctx, relevance)
		if len(ctx) >= 2 && relevance(ctx[0], ctx[1]) == 0 {
			return best
		}
		best = ctx[0]
	}
	return best
}

// relevance compares Python's relevance keys (-len(path), not weak): a
// positive result means a ranks above b for the top-level choice.
func relevance(a, b *failure) int {
	if c := cmp.Compare(len(b.path), len(a.path)); c != 0 {
		return c
	}
	switch {
	case a.weak() == b.weak():
		return 0
	case a.weak():
		return -1
	default:
		return 1
	}
}

// order is the deterministic tie-breaker: instance location (array indexes
// numerically, before keys), then keyword, then message.
func order(a, b *failure) int {
	for i := 0; i < len(a.path) && i < len(b.path); i++ {
		if c := cmpToken(a.path[i], b.path[i]); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(len(a.path), len(b.path)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.keyword, b.keyword); c != 0 {
		return c
	}
	return cmp.Compare(a.message, b.message)
}

func cmpToken(a, b any) int {
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	as, _ := a.(string)
	bs, _ := b.(string)
	return cmp.Compare(as, bs)
}

// describe builds the failure of one leaf error, with the value found at
// its instance location for the message.
func describe(e *jsonschema.ValidationError, doc any) *failure {
	path, value := locate(doc, e.InstanceLocation)
	kw, msg := explain(e.ErrorKind, value)
	return &failure{keyword: kw, path: path, message: msg}
}

// locate walks doc along the library's string tokens, returning the typed
// path (indexes of arrays as ints, like Python's deque) and the value there.
func locate(doc any, tokens []string) ([]any, any) {
	path := make([]any, 0, len(tokens))
	cur := doc
	for _, tok := range tokens {
		switch v := cur.(type) {
		case map[string]any:
			path = append(path, tok)
			cur = v[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				path = append(path, tok)
				cur = nil
				continue
			}
			path = append(path, i)
			cur = v[i]
		default:
			path = append(path, tok)
			cur = nil
		}
	}
	return path, cur
}

// explain returns the keyword and the Python-style message of an error kind
// for the failing value v. Kinds without a common Python counterpart keep the
// library's text.
func explain(k jsonschema.ErrorKind, v any) (keyword, msg string) {
	switch k := k.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = pyStr(w)
		}
		return "type", fmt.Sprintf("%s is not of type %s", pyRepr(v), strings.Join(want, ", "))
	case *kind.Required:
		return "required", fmt.Sprintf("%s is a required property", pyStr(first(k.Missing)))
	case *kind.Enum:
		return "enum", fmt.Sprintf("%s is not one of %s", pyRepr(v), pyRepr(k.Want))
	case *kind.Const:
		return "const", fmt.Sprintf("%s was expected", pyRepr(k.Want))
	case *kind.AnyOf:
		return "anyOf", fmt.Sprintf("%s is not valid under any of the given schemas", pyRepr(v))
	case *kind.OneOf:
		if len(k.Subschemas) >= 2 {
			return "oneOf", fmt.Sprintf("%s is valid under each of subschemas %d and %d",
				pyRepr(v), k.Subschemas[0], k.Subschemas[1])
		}
		return "oneOf", fmt.Sprintf("%s is not valid under any of the given schemas", pyRepr(v))
	case *kind.Minimum:
		return "minimum", fmt.Sprintf("%s is less than the minimum of %s", pyRepr(v), pyRat(k.Want))
	case *kind.ExclusiveMinimum:
		return "exclusiveMinimum", fmt.Sprintf("%s is less than or equal to the minimum of %s", pyRepr(v), pyRat(k.Want))
	case *kind.Maximum:
		return "maximum", fmt.Sprintf("%s is greater than the maximum of %s", pyRepr(v), pyRat(k.Want))
	case *kind.ExclusiveMaximum:
		return "exclusiveMaximum", fmt.Sprintf("%s is greater than or equal to the maximum of %s", pyRepr(v), pyRat(k.Want))
	case *kind.MultipleOf:
		return "multipleOf", fmt.Sprintf("%s is not a multiple of %s", pyRepr(v), pyRat(k.Want))
	case *kind.Pattern:
		return "pattern", fmt.Sprintf("%s does not match %s", pyStr(k.Got), pyStr(k.Want))
	case *kind.MinLength:
		return "minLength", fmt.Sprintf("%s is too short", pyRepr(v))
	case *kind.MaxLength:
		return "maxLength", fmt.Sprintf("%s is too long", pyRepr(v))
	case *kind.MinItems:
		return "minItems", fmt.Sprintf("%s is too short", pyRepr(v))
	case *kind.MaxItems:
		return "maxItems", fmt.Sprintf("%s is too long", pyRepr(v))
	case *kind.MinProperties:
		return "minProperties", fmt.Sprintf("%s does not have enough properties", pyRepr(v))
	case *kind.MaxProperties:
		return "maxProperties", fmt.Sprintf("%s has too many properties", pyRepr(v))
	case *kind.AdditionalProperties:
		names := slices.Sorted(slices.Values(k.Properties))
		return "additionalProperties", "Additional properties are not allowed (" + unexpected(toAny(names)) + ")"
	case *kind.AdditionalItems:
		arr, _ := v.([]any)
		return "additionalItems", "Additional items are not allowed (" + unexpected(arr[max(len(arr)-k.Count, 0):]) + ")"
	case *kind.UniqueItems:
		return "uniqueItems", fmt.Sprintf("%s has non-unique elements", pyRepr(v))
	case *kind.Dependency:
		return "dependencies", fmt.Sprintf("%s is a dependency of %s", pyStr(first(k.Missing)), pyStr(k.Prop))
	case *kind.DependentRequired:
		return "dependentRequired", fmt.Sprintf("%s is a dependency of %s", pyStr(first(k.Missing)), pyStr(k.Prop))
	case *kind.Contains:
		return "contains", fmt.Sprintf("%s does not contain items matching the given schema", pyRepr(v))
	case *kind.MinContains:
		return "minContains", fmt.Sprintf("Too few items match the given schema (expected at least %d but only %d matched)", k.Want, len(k.Got))
	case *kind.MaxContains:
		return "maxContains", fmt.Sprintf("Too many items match the given schema (expected at most %d)", k.Want)
	case *kind.Not:
		return "not", fmt.Sprintf("%s should not be valid under the given schema", pyRepr(v))
	case *kind.FalseSchema:
		return "false", fmt.Sprintf("False schema does not allow %s", pyRepr(v))
	case *kind.Format:
		return "format", fmt.Sprintf("%s is not a %s", pyRepr(k.Got), pyStr(k.Want))
	}
	if kp := k.KeywordPath(); len(kp) > 0 {
		keyword = kp[0]
	}
	return keyword, k.LocalizedString(printer)
}

// unexpected is Python's extras_msg: "'a', 'b' were unexpected".
func unexpected(extras []any) string {
	reprs := make([]string, len(extras))
	for i, e := range extras {
		reprs[i] = pyRepr(e)
	}
	verb := "were"
	if len(extras) == 1 {
		verb = "was"
	}
	return strings.Join(reprs, ", ") + " " + verb + " unexpected"
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// compileError turns a compilation failure of a benchmark schema (doc is
// the decoded schema) into a 422: a failed check against the draft's
// metaschema reads like a validation error; the other library errors keep
// their text, without the internal base URL.
func compileError(err error, doc any) *perf.Error {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var verr *jsonschema.ValidationError
		if errors.As(sve.Err, &verr) {
			return invalid(verr, doc)
		}
	}
	out := &perf.Error{Kind: perf.Invalid, Detail: perf.SchemaPath{Path: pyDeque(nil)}, Err: err}
	var lue *jsonschema.LoadURLError
	var rxe *jsonschema.InvalidRegexError
	var jpe *jsonschema.JSONPointerNotFoundError
	var ane *jsonschema.AnchorNotFoundError
	switch {
	case errors.As(err, &lue):
		out.Msg = fmt.Sprintf("%s cannot be resolved: remote schemas are not loaded", pyStr(strings.TrimPrefix(lue.URL, baseHost)))
	case errors.As(err, &jpe):
		out.Msg = fmt.Sprintf("%s cannot be resolved: not found in the schema", pyStr(internal(jpe.URL)))
	case errors.As(err, &ane):
		out.Msg = fmt.Sprintf("%s cannot be resolved: not found in the schema", pyStr(internal(ane.Reference)))
	case errors.As(err, &rxe):
		out.Msg = fmt.Sprintf("%s is not a 'regex'", pyStr(rxe.Regex))
		if _, frag, ok := strings.Cut(rxe.URL, "#"); ok {
			out.Detail = perf.SchemaPath{Path: pyDeque(pointerPath(doc, frag))}
		}
	default:
		out.Msg = internal(err.Error())
	}
	return out
}

// internal removes the compiler's name of the schema from a text, leaving
// references relative to the submitted document ("#/definitions/a").
func internal(s string) string {
	return strings.ReplaceAll(s, baseURL, "")
}

// pointerPath turns the URL-encoded JSON pointer of a library error into a
// typed path within doc.
func pointerPath(doc any, frag string) []any {
	ptr, err := url.PathUnescape(frag)
	if err != nil || ptr == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	path, _ := locate(doc, toks)
	return path
}
