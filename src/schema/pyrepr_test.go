package schema

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestPyReprMatchesPython(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"plain string in single quotes", "x", `'x'`},
		{"string with a single quote in double quotes", "it's", `"it's"`},
		{"string with both quotes escapes the single one", `it's "x"`, `'it\'s "x"'`},
		{"backslash doubled", `a\b`, `'a\\b'`},
		{"control characters escaped", "a\nb\tc\x01", `'a\nb\tc\x01'`},
		{"printable unicode kept", "é☃", `'é☃'`},
		{"non-breaking space escaped", "a\u00a0b", `'a\xa0b'`},
		{"integer literal", json.Number("10"), `10`},
		{"negative zero integer", json.Number("-0"), `0`},
		{"big integer kept exactly", json.Number("123456789012345678901234567890"), `123456789012345678901234567890`},
		{"float keeps .0", json.Number("1.0"), `1.0`},
		{"exponent literal is a float", json.Number("1e2"), `100.0`},
		{"small float in scientific form", json.Number("0.000015"), `1.5e-05`},
		{"large float in scientific form", json.Number("1e16"), `1e+16`},
		{"float below 1e16 positional", json.Number("123456789012345.5"), `123456789012345.5`},
		{"overflowing float", json.Number("1e400"), `inf`},
		{"booleans capitalised", []any{true, false}, `[True, False]`},
		{"null is None", nil, `None`},
		{"object keys sorted", map[string]any{"b": json.Number("1"), "a": "x"}, `{'a': 'x', 'b': 1}`},
		{"rational integer bound", big.NewRat(6, 2), `3`},
		{"rational fraction bound", big.NewRat(1, 4), `0.25`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pyRepr(tt.v); got != tt.want {
				t.Errorf("pyRepr(%#v) = %s, want %s", tt.v, got, tt.want)
			}
		})
	}
}

func TestPyReprCutsLongValues(t *testing.T) {
	long := make([]any, 1000)
	for i := range long {
		long[i] = "ééééé"
	}
	got := pyRepr(long)
	if len(got) > maxReprLen+len("...") || !strings.HasSuffix(got, "...") {
		t.Fatalf("pyRepr of a long array has %d bytes: %.40s...", len(got), got)
	}
	if !strings.HasPrefix(got, "['ééééé', ") {
		t.Fatalf("pyRepr lost the beginning: %.40s", got)
	}
	if !strings.ContainsRune(strings.TrimSuffix(got, "..."), 'é') || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("pyRepr cut inside a character: %q", got[len(got)-8:])
	}
}

func TestPyDequeRendersPaths(t *testing.T) {
	tests := []struct {
		name string
		path []any
		want string
	}{
		{"root is an empty deque", nil, "deque([])"},
		{"keys quoted, indexes bare", []any{"machine", "cpu", 0}, "deque(['machine', 'cpu', 0])"},
		{"key with a quote", []any{"it's"}, `deque(["it's"])`},
		{"numeric-looking key stays a string", []any{"0"}, "deque(['0'])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pyDeque(tt.path); got != tt.want {
				t.Errorf("pyDeque(%v) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

func TestBestMatchFollowsPythonRelevance(t *testing.T) {
	leaf := func(kw string, msg string, path ...any) *failure {
		return &failure{keyword: kw, message: msg, path: path}
	}
	tests := []struct {
		name string
		fs   []*failure
		want string
	}{
		{"shallower error wins", []*failure{leaf("type", "deep", "a", "b"), leaf("required", "root")}, "root"},
		{"non-weak wins over anyOf at the same depth", []*failure{
			{keyword: "anyOf", message: "any", path: []any{"a"}, context: []*failure{leaf("type", "t", "a")}},
			leaf("type", "plain", "b"),
		}, "plain"},
		{"anyOf alternatives of equal relevance keep anyOf", []*failure{
			{keyword: "anyOf", message: "any", context: []*failure{leaf("type", "t1"), leaf("enum", "e1")}},
		}, "any"},
		{"deepest alternative is chosen", []*failure{
			{keyword: "oneOf", message: "one", context: []*failure{leaf("type", "shallow"), leaf("type", "deep", "x", 0)}},
		}, "deep"},
		{"ties are broken by location", []*failure{leaf("type", "second", "b"), leaf("type", "first", "a")}, "first"},
		{"array indexes compare numerically", []*failure{leaf("type", "ten", 10), leaf("type", "two", 2)}, "two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bestMatch(tt.fs); got == nil || got.message != tt.want {
				t.Errorf("bestMatch = %+v, want %q", got, tt.want)
			}
		})
	}
	if bestMatch(nil) != nil {
		t.Error("bestMatch(nil) is not nil")
	}
}
