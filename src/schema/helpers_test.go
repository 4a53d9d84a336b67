package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/eosc-perf/api/src/perf"
)

// samples is where the c-ray template and results are kept for the tests.
const samples = "testdata/sample-results"

// readFile returns a test data file.
func readFile(t testing.TB, path string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleResults returns the paths of the 25 c-ray result documents.
func sampleResults(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{"result-*.json", "c-ray/*.json"} {
		m, err := filepath.Glob(filepath.Join(samples, pattern))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) != 25 {
		t.Fatalf("found %d sample results, want 25", len(paths))
	}
	return paths
}

// template compiles the c-ray benchmark schema.
func template(t testing.TB) *Schema {
	t.Helper()
	s, err := Compile(readFile(t, filepath.Join(samples, "template.json")))
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
	if got := pe.Extra["path"]; got != path {
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
