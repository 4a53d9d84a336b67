package schema

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eosc-perf/api/src/perf"
)

func TestTemplateAcceptsEverySampleResult(t *testing.T) {
	s := template(t)
	for _, r := range sampleResults(t) {
		if err := s.Validate(r.JSON); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
}

func TestTemplateRejectsMutatedResults(t *testing.T) {
	s := template(t)
	base := sampleFile(t, "result-4")
	cpu := func(doc map[string]any) map[string]any {
		return doc["machine"].(map[string]any)["cpu"].(map[string]any)
	}
	tests := []struct {
		name   string
		change func(map[string]any)
		msg    string
		path   string
	}{
		{"score as a string is not a number", func(d map[string]any) { d["result"].(map[string]any)["score"] = "7.5" },
			"'7.5' is not of type 'number'", "deque(['result', 'score'])"},
		{"missing machine is a required property", func(d map[string]any) { delete(d, "machine") },
			"'machine' is a required property", "deque([])"},
		{"error nearer the root wins over a deeper one", func(d map[string]any) {
			delete(d, "units")
			d["result"].(map[string]any)["score"] = "7.5"
		}, "'units' is a required property", "deque([])"},
		{"missing cpu count is reported on the cpu object", func(d map[string]any) { delete(cpu(d), "count") },
			"'count' is a required property", "deque(['machine', 'cpu'])"},
		{"cpu count as a string has the full path", func(d map[string]any) { cpu(d)["count"] = "4" },
			"'4' is not of type 'number'", "deque(['machine', 'cpu', 'count'])"},
		{"other test name fails const", func(d map[string]any) { d["test"] = "pts/other" },
			"'pts/c-ray-1.2.0' was expected", "deque(['test'])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, s.Validate(mutate(t, base, tt.change)), tt.msg, tt.path)
		})
	}
	t.Run("array document is not an object", func(t *testing.T) {
		wantInvalid(t, s.Validate(json.RawMessage(`[1, "a"]`)), "[1, 'a'] is not of type 'object'", "deque([])")
	})
}

func TestValidateReportsLikeUpstream(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		doc    string
		msg    string
		path   string
	}{
		{"string for an integer (API.md §8.2 example)", `{"properties":{"time":{"type":"integer"}}}`, `{"time":"10"}`,
			"'10' is not of type 'integer'", "deque(['time'])"},
		{"array index in the path is an integer", `{"properties":{"xs":{"items":{"type":"integer"}}}}`, `{"xs":[1,"a"]}`,
			"'a' is not of type 'integer'", "deque(['xs', 1])"},
		{"quote in a key is escaped like Python", `{"properties":{"it's":{"type":"integer"}}}`, `{"it's":true}`,
			"True is not of type 'integer'", `deque(["it's"])`},
		{"enum lists the allowed values", `{"enum":["a",1,null]}`, `"b"`,
			"'b' is not one of ['a', 1, None]", "deque([])"},
		{"minimum names the bound", `{"minimum":3}`, `2.5`,
			"2.5 is less than the minimum of 3", "deque([])"},
		{"maximum names the bound", `{"maximum":3}`, `4`,
			"4 is greater than the maximum of 3", "deque([])"},
		{"pattern quotes the pattern", `{"pattern":"^a+$"}`, `"b"`,
			"'b' does not match '^a+$'", "deque([])"},
		{"additional properties are listed", `{"properties":{"a":{}},"additionalProperties":false}`, `{"a":1,"c":2,"b":3}`,
			"Additional properties are not allowed ('b', 'c' were unexpected)", "deque([])"},
		{"anyOf with equally relevant alternatives keeps the anyOf message", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `1.5`,
			"1.5 is not valid under any of the given schemas", "deque([])"},
		{"anyOf descends to the deepest alternative error", `{"anyOf":[{"type":"string"},{"properties":{"a":{"type":"integer"}}}]}`, `{"a":"x"}`,
			"'x' is not of type 'integer'", "deque(['a'])"},
		{"oneOf with none matching", `{"oneOf":[{"type":"string"},{"type":"boolean"}]}`, `null`,
			"None is not valid under any of the given schemas", "deque([])"},
		{"string length", `{"maxLength":2}`, `"abc"`,
			"'abc' is too long", "deque([])"},
		{"false schema", `{"properties":{"a":false}}`, `{"a":1}`,
			"False schema does not allow 1", "deque(['a'])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			wantInvalid(t, s.Validate(json.RawMessage(tt.doc)), tt.msg, tt.path)
		})
	}
}

func TestFormatIsNotAsserted(t *testing.T) {
	drafts := []string{
		"http://json-schema.org/draft-04/schema#",
		"http://json-schema.org/draft-06/schema#",
		"http://json-schema.org/draft-07/schema#",
		"https://json-schema.org/draft/2019-09/schema",
		"https://json-schema.org/draft/2020-12/schema",
	}
	doc := json.RawMessage(`{"when":"yesterday","mail":"nobody","link":"::","ip":"300.1.1.1","re":"(","deep":["not-a-uuid"]}`)
	for _, d := range drafts {
		t.Run(d, func(t *testing.T) {
			s, err := Compile(json.RawMessage(`{"$schema":"` + d + `","definitions":{"u":{"format":"uuid"}},
				"properties":{"when":{"format":"date-time"},"mail":{"format":"email"},"link":{"format":"uri"},
				"ip":{"format":"ipv4"},"re":{"format":"regex"},"deep":{"items":{"$ref":"#/definitions/u"}}}}`))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(doc); err != nil {
				t.Fatalf("format was asserted: %v", err)
			}
		})
	}
}

func TestCompileSelectsTheDraftOfSchema(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		draft   *jsonschema.Draft
		invalid string // a document this draft rejects
		valid   string // a document this draft accepts
	}{
		{"draft 4 reads exclusiveMaximum as a boolean",
			`{"$schema":"http://json-schema.org/draft-04/schema#","maximum":5,"exclusiveMaximum":true}`, jsonschema.Draft4, `5`, `4.9`},
		{"draft 4 without the fragment",
			`{"$schema":"http://json-schema.org/draft-04/schema","maximum":5,"exclusiveMaximum":true}`, jsonschema.Draft4, `5`, `4.9`},
		{"2020-12 reads exclusiveMaximum as a number",
			`{"$schema":"https://json-schema.org/draft/2020-12/schema","exclusiveMaximum":5}`, jsonschema.Draft2020, `5`, `4.9`},
		{"draft 6 knows const",
			`{"$schema":"http://json-schema.org/draft-06/schema#","const":1}`, jsonschema.Draft6, `2`, `1`},
		{"draft 7 knows if/then",
			`{"$schema":"http://json-schema.org/draft-07/schema#","if":{"minimum":0},"then":{"multipleOf":2}}`, jsonschema.Draft7, `3`, `-3`},
		{"draft 7 over https is still draft 7 (ignores prefixItems)",
			`{"$schema":"https://json-schema.org/draft-07/schema#","prefixItems":[{"type":"string"}],"items":{"type":"integer"}}`, jsonschema.Draft7, `["a"]`, `[1]`},
		{"2019-09 knows dependentRequired",
			`{"$schema":"https://json-schema.org/draft/2019-09/schema","dependentRequired":{"a":["b"]}}`, jsonschema.Draft2019, `{"a":1}`, `{"a":1,"b":2}`},
		{"no $schema means 2020-12 (prefixItems applies)",
			`{"prefixItems":[{"type":"string"}]}`, jsonschema.Draft2020, `[1]`, `["a"]`},
		{"draft 3 is compiled as 2020-12",
			`{"$schema":"http://json-schema.org/draft-03/schema#","prefixItems":[{"type":"string"}]}`, jsonschema.Draft2020, `[1]`, `["a"]`},
		{"unrecognised $schema means 2020-12 and is not fetched",
			`{"$schema":"https://example.org/dialect","prefixItems":[{"type":"string"}]}`, jsonschema.Draft2020, `[1]`, `["a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if s.Draft() != tt.draft.String() {
				t.Errorf("Draft() = %s, want %s", s.Draft(), tt.draft)
			}
			if err := s.Validate(json.RawMessage(tt.invalid)); perf.KindOf(err) != perf.Invalid {
				t.Errorf("Validate(%s) = %v, want invalid", tt.invalid, err)
			}
			if err := s.Validate(json.RawMessage(tt.valid)); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", tt.valid, err)
			}
		})
	}
}

func TestCompileRejectsSchemaInvalidForItsDraft(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		msg    string
		path   string
	}{
		{"boolean exclusiveMaximum under 2020-12", `{"maximum":5,"exclusiveMaximum":true}`,
			"True is not of type 'number'", "deque(['exclusiveMaximum'])"},
		{"numeric exclusiveMaximum under draft 4", `{"$schema":"http://json-schema.org/draft-04/schema#","exclusiveMaximum":5}`,
			"", "deque([])"},
		{"unknown type stored before the PUT check existed", `{"properties":{"a":{"type":"x"}}}`,
			"'x' is not valid under any of the given schemas", "deque(['properties', 'a', 'type'])"},
		{"bad regex under 2020-12 (format not asserted there)", `{"$defs":{"a":{"pattern":"("}}}`,
			"'(' is not a 'regex'", "deque(['$defs', 'a', 'pattern'])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(json.RawMessage(tt.schema))
			wantInvalid(t, err, tt.msg, tt.path)
		})
	}
}

func TestNumbersAreComparedExactly(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		doc    string
		ok     bool
	}{
		{"integer above 2^53 exceeds a maximum of 2^53", `{"maximum":9007199254740992}`, `9007199254740993`, false},
		{"integer equal to 2^53 meets the maximum", `{"maximum":9007199254740992}`, `9007199254740992`, true},
		{"30-digit integer is an integer", `{"type":"integer"}`, `123456789012345678901234567890`, true},
		{"0.3 is a multiple of 0.1", `{"multipleOf":0.1}`, `0.3`, true},
		{"big const differs in the last digit", `{"const":12345678901234567890}`, `12345678901234567891`, false},
		{"1.0 is an integer", `{"type":"integer"}`, `1.0`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Validate(json.RawMessage(tt.doc))
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%s) = %v, want ok=%v", tt.doc, err, tt.ok)
			}
		})
	}
}

func TestRemoteReferencesAreNeverFetched(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"type":"string"}`))
	}))
	defer srv.Close()

	_, err := Compile(json.RawMessage(`{"properties":{"a":{"$ref":"` + srv.URL + `/s.json"}}}`))
	wantInvalid(t, err, "'"+srv.URL+"/s.json' cannot be resolved: remote schemas are not loaded", "deque([])")
	if err := CheckBenchmarkSchema(json.RawMessage(`{"$ref":"` + srv.URL + `/s.json"}`)); perf.KindOf(err) != perf.Invalid {
		t.Errorf("CheckBenchmarkSchema with a remote $ref = %v, want invalid", err)
	}
	if _, err := Compile(json.RawMessage(`{"$schema":"` + srv.URL + `/meta.json"}`)); err != nil {
		t.Errorf("unrecognised $schema: %v, want compiled as 2020-12", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the schema server got %d requests, want none", n)
	}
}

func TestValidateOfMalformedJSONIsBadRequest(t *testing.T) {
	s := template(t)
	err := s.Validate(json.RawMessage(`{"a":`))
	var pe *perf.Error
	if !errors.As(err, &pe) || pe.Kind != perf.BadRequest {
		t.Fatalf("Validate(malformed) = %v, want bad request", err)
	}
}
