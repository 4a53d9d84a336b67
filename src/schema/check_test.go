package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/eosc-perf/api/src/perf"
)

func TestCheckBenchmarkSchemaAccepts(t *testing.T) {
	tests := []struct {
		name   string
		schema string
	}{
		{"empty object is accepted", `{}`},
		{"unknown keyword is accepted", `{"x":1}`},
		{"type object is accepted", `{"type":"object"}`},
		{"2020-12 keyword unknown to draft 7 is accepted", `{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}]}`},
		{"unrecognised $schema is accepted", `{"$schema":"https://example.org/my-dialect","type":"object"}`},
		{"local $ref is accepted", `{"definitions":{"n":{"type":"number"}},"properties":{"a":{"$ref":"#/definitions/n"}}}`},
		{"$ref to an embedded metaschema is accepted", `{"properties":{"s":{"$ref":"http://json-schema.org/draft-07/schema#"}}}`},
		{"format keyword is accepted", `{"properties":{"d":{"type":"string","format":"date-time"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckBenchmarkSchema(json.RawMessage(tt.schema)); err != nil {
				t.Fatalf("CheckBenchmarkSchema(%s) = %v, want nil", tt.schema, err)
			}
		})
	}
	t.Run("c-ray template (draft 2020-12) is accepted", func(t *testing.T) {
		if err := CheckBenchmarkSchema(sampleFile(t, "template")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckBenchmarkSchemaRejects(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		msg    string
		path   string
	}{
		{"unknown type name is rejected at type", `{"type":"x"}`,
			"'x' is not valid under any of the given schemas", "deque(['type'])"},
		{"nested bad type is rejected with its full path", `{"properties":{"a":{"type":5}}}`,
			"5 is not valid under any of the given schemas", "deque(['properties', 'a', 'type'])"},
		{"required as a string is rejected", `{"required":"a"}`,
			"'a' is not of type 'array'", "deque(['required'])"},
		{"error inside an array of schemas has an integer index", `{"allOf":[{},{"minimum":"x"}]}`,
			"'x' is not of type 'number'", "deque(['allOf', 1, 'minimum'])"},
		{"invalid regex is rejected", `{"properties":{"a":{"pattern":"("}}}`,
			"'(' is not a 'regex'", "deque(['properties', 'a', 'pattern'])"},
		{"look-ahead regex (not RE2) is rejected", `{"pattern":"^(?!x)"}`,
			"'^(?!x)' is not a 'regex'", "deque(['pattern'])"},
		{"draft-4 schema with a numeric exclusiveMinimum fails its own draft", `{"$schema":"http://json-schema.org/draft-04/schema#","minimum":1,"exclusiveMinimum":5}`,
			"5 is not of type 'boolean'", "deque(['exclusiveMinimum'])"},
		{"draft-4 boolean exclusiveMaximum fails the draft-7 check (as upstream)", `{"$schema":"http://json-schema.org/draft-04/schema#","maximum":5,"exclusiveMaximum":true}`,
			"True is not of type 'number'", "deque(['exclusiveMaximum'])"},
		{"2020-12 keyword content is checked by its own draft", `{"$defs":{"a":{"type":"x"}}}`,
			"'x' is not valid under any of the given schemas", "deque(['$defs', 'a', 'type'])"},
		{"remote $ref is refused", `{"$ref":"https://example.org/schema.json"}`,
			"'https://example.org/schema.json' cannot be resolved: remote schemas are not loaded", "deque([])"},
		{"relative $ref is refused", `{"properties":{"a":{"$ref":"other.json"}}}`,
			"'other.json' cannot be resolved: remote schemas are not loaded", "deque([])"},
		{"dangling local $ref is rejected", `{"$ref":"#/definitions/none"}`,
			"'#/definitions/none' cannot be resolved: not found in the schema", "deque([])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, CheckBenchmarkSchema(json.RawMessage(tt.schema)), tt.msg, tt.path)
		})
	}
}

func TestCheckBenchmarkSchemaNonObjectIsNotAMapping(t *testing.T) {
	want := perf.Validation{Location: "json", Fields: map[string]any{"json_schema": []string{"Not a valid mapping type."}}}
	for _, raw := range []string{`[]`, `true`, `"x"`, `5`, `null`, `{`} {
		err := CheckBenchmarkSchema(json.RawMessage(raw))
		var pe *perf.Error
		if !errors.As(err, &pe) || pe.Kind != perf.Invalid || !reflect.DeepEqual(pe.Detail, want) {
			t.Errorf("CheckBenchmarkSchema(%s) = %#v, want Invalid with %v", raw, err, want)
		}
	}
}
