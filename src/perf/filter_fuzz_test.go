package perf_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
)

// filterSeeds are the spec's examples and hostile inputs; the files under
// testdata/fuzz/FuzzParseFilter hold more.
var filterSeeds = []string{
	"machine.cpu.count > 4", "machine.cpu.count%20%3E%205", "time == 11", "time == 11.0",
	"cpu == true", "type == AMD", "time>1", "time <> 1", "other > 0", "a  > 1", "",
	"a == 'x'; DROP TABLE result; --", `a == "`, `'"\ == \'`, "a == \x00", "a\xff\xfe == 1",
	"ключ.値 == 🚀", "a == 1e400", "a < nan", "a >= -Infinity", "a == 1_000", "a == ١٢",
	strings.Repeat("a.", 40) + "a == 1", "a == " + strings.Repeat("9", 2000),
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := perf.ParseFilter(s)
		if err != nil {
			var pe *perf.Error
			if !errors.As(err, &pe) || pe.Kind != perf.Invalid {
				t.Fatalf("ParseFilter(%q): %v is not an Invalid *perf.Error", s, err)
			}
			if d, ok := pe.Detail.(perf.FilterError); !ok || pe.Msg == "" || d.Filter != s {
				t.Fatalf("ParseFilter(%q): want a reason and the filter, got %#v", s, pe)
			}
			return
		}
		if got := strings.Join(flt.Path, ".") + " " + flt.Op + " " + flt.Raw; got != s {
			t.Fatalf("ParseFilter(%q) does not give back its input: %q", s, got)
		}
		if !slices.Contains(perf.FilterOps, flt.Op) || len(flt.Path) > perf.MaxFilterPathDepth ||
			utf8.RuneCountInString(s) > perf.MaxFilterLength || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("ParseFilter(%q) accepted %+v beyond its limits", s, flt)
		}
		switch flt.Kind {
		case perf.FilterNumber:
		case perf.FilterBool:
			if want := strings.ToLower(flt.Raw) == "true"; flt.Bool != want {
				t.Fatalf("ParseFilter(%q): bool %v", s, flt.Bool)
			}
		case perf.FilterString:
			if _, ok := perf.PythonFloat(flt.Raw); ok {
				t.Fatalf("ParseFilter(%q): a number typed as a string", s)
			}
		default:
			t.Fatalf("ParseFilter(%q): kind %v", s, flt.Kind)
		}
		if flt.Kind != perf.FilterNumber && flt.Num != 0 || math.IsNaN(flt.Num) && flt.Kind != perf.FilterNumber {
			t.Fatalf("ParseFilter(%q): stray number %v", s, flt.Num)
		}
	})
}
