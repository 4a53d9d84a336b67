package schema

import (
	"encoding/json"
	"errors"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eosc-perf/api/src/perf"
)

// draft7 is the draft-7 metaschema every submitted schema must pass
// (upstream: jsonschema.Draft7Validator.check_schema). Like Python's default
// format checker without optional packages, it asserts the "regex" format
// (pattern, patternProperties) but not "uri"/"uri-reference" ($schema, $id,
// $ref); a $ref that does not resolve is caught by the compilation that
// follows.
var draft7 = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	for _, name := range []string{"uri", "uri-reference"} {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
	}
	return c.Compile(jsonschema.Draft7.String())
})

// notMapping is the body validation error of a json_schema that is not an
// object (API.md §8.1).
func notMapping() *perf.Error {
	return perf.FieldErrors("json", map[string]any{"json_schema": []string{"Not a valid mapping type."}})
}

// CheckBenchmarkSchema checks a submitted benchmark json_schema (API.md
// §8.1, on create and on update, §13 item 6): it must be a JSON object, pass
// the draft-7 metaschema whatever $schema it declares, and compile with its
// own draft (so a stored schema never fails when results are uploaded).
// Failures are Invalid *perf.Error values: a message and a path such as
// {"error": "'x' is not valid under any of the given schemas",
// "path": "deque(['type'])"}, or the "Not a valid mapping type." field error
// for a non-object.
func CheckBenchmarkSchema(raw json.RawMessage) error {
	doc, err := decode(raw)
	if err != nil {
		return notMapping()
	}
	if _, ok := doc.(map[string]any); !ok {
		return notMapping()
	}
	meta, err := draft7()
	if err != nil {
		return perf.Wrap(err, "compile the draft-7 metaschema")
	}
	if err := meta.Validate(doc); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return perf.Wrap(err, "check schema against draft 7")
		}
		return invalid(verr, doc)
	}
	_, err = Compile(raw)
	return err
}
