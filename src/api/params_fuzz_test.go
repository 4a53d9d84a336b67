package api

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/eosc-perf/api/src/perf"
)

// FuzzParseSort: no sort_by value makes parseSort panic, every error is a
// 422 (*perf.Error Invalid with a "message" object, API.md §3.5), and every
// accepted key is a whitelisted result field or a json.<path> whose keys
// are non-empty.
func FuzzParseSort(f *testing.F) {
	for _, s := range []string{
		"+execution_datetime", "-upload_datetime,+id", "+json.result.score", "-json.machine.cpu.count",
		"+json", "+json.", "+json..a", "+json.other", "+a,", ",+a", "", ",", "Bad sort", " name", "+benchmark",
		"+tags_ids", "*id", "+json.a'; DROP TABLE result; --", "+json.\x00", "\xff\xfe", "+json.ключ.🚀",
		"+json." + strings.Repeat("a.", 500) + "a", "-", "+", "é", "+json.\"quoted\"",
	} {
		f.Add(s)
	}
	fields := perf.SortFields["result"]
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := parseSort(s, fields, true)
		if err != nil {
			var pe *perf.Error
			if !errors.As(err, &pe) || pe.Kind != perf.Invalid || pe.Msg == "" {
				t.Fatalf("parseSort(%q): %v is not an Invalid *perf.Error with a message", s, err)
			}
			return
		}
		for _, k := range keys {
			switch {
			case k.JSONPath != nil:
				if k.Field != "json" || slices.Contains(k.JSONPath, "") {
					t.Fatalf("parseSort(%q): bad json key %+v", s, k)
				}
			case !slices.Contains(fields, k.Field):
				t.Fatalf("parseSort(%q): field %q is not sortable", s, k.Field)
			}
		}
	})
}
