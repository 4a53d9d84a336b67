package schema

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/samples"
)

// sampleResults returns the 25 c-ray result documents.
func sampleResults(t testing.TB) []samples.Result {
	t.Helper()
	rs := samples.Results()
	if len(rs) != 25 {
		t.Fatalf("found %d sample results, want 25", len(rs))
	}
	return rs
}

// sampleFile returns the sample result named name ("ifca-lcg2-16",
// "result-8") or, for "template", the c-ray schema.
func sampleFile(t testing.TB, name string) json.RawMessage {
	t.Helper()
	if name == "template" {
		return samples.Template()
	}
	for _, r := range samples.Results() {
		if r.Name == name {
			return r.JSON
		}
	}
	t.Fatalf("no sample %q", name)
	return nil
}

// template compiles the c-ray benchmark schema.
func template(t testing.TB) *Schema {
	t.Helper()
	s, err := Compile(sampleFile(t, "template"))
	if err != nil {
		t.Fatalf("compile template.json: %v", err)
	}
	return s
}

// wantInvalid asserts that err is an Invalid *perf.Error with the given
// message and path (the two keys of API.md §8.2). An empty msg is not
// compared.
func wantInvalid(t *testing.T, err error, msg, path string) {
	t.Helper()
	var pe *perf.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *perf.Error", err, err)
	}
	if pe.Kind != perf.Invalid {
		t.Fatalf("kind %v, want invalid (%v)", pe.Kind, err)
	}
	if msg != "" && pe.Msg != msg {
		t.Errorf("message %q, want %q", pe.Msg, msg)
	}
	if got := pe.Detail; got != (perf.SchemaPath{Path: path}) {
		t.Errorf("path %v, want %q", got, path)
	}
}

// mutate decodes a JSON object, lets change edit it and encodes it again.
func mutate(t *testing.T, raw json.RawMessage, change func(doc map[string]any)) json.RawMessage {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
