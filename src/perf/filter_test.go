package perf_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/eosc-perf/api/src/perf"
)

func TestParseFilterValueTypes(t *testing.T) {
	num := func(v float64) perf.JSONFilter { return perf.JSONFilter{Kind: perf.FilterNumber, Num: v} }
	boolean := func(v bool) perf.JSONFilter { return perf.JSONFilter{Kind: perf.FilterBool, Bool: v} }
	str := perf.JSONFilter{Kind: perf.FilterString}
	tests := []struct {
		name  string
		value string
		want  perf.JSONFilter
	}{
		{"integer is a number", "5", num(5)},
		{"negative integer is a number", "-2", num(-2)},
		{"decimal is a number", "11.0", num(11)},
		{"exponent is a number", "1e1", num(10)},
		{"leading dot is a number", ".5", num(0.5)},
		{"trailing dot is a number", "5.", num(5)},
		{"underscores between digits are a number", "1_000", num(1000)},
		{"underscores in the exponent are a number", "1e1_0", num(1e10)},
		{"inf is a number", "inf", num(math.Inf(1))},
		{"signed infinity in any case is a number", "-iNfInItY", num(math.Inf(-1))},
		{"overflow is infinity as in Python", "1e400", num(math.Inf(1))},
		{"underflow is zero as in Python", "1e-400", num(0)},
		{"Arabic-Indic digits are a number", "١.٥", num(1.5)},
		{"fullwidth digits are a number", "５", num(5)},
		{"tab around a number is stripped", "\t5\n", num(5)},
		{"no-break space around a number is stripped", "\u00a05", num(5)},
		{"ASCII file separator is not stripped", "5\x1c", str},
		{"zero-width space is not whitespace", "\u200b5", str},
		{"double underscore is a string", "1__0", str},
		{"leading underscore is a string", "_1", str},
		{"trailing underscore is a string", "1_", str},
		{"underscore next to the dot is a string", "1._5", str},
		{"hexadecimal is a string", "0x10", str},
		{"lone dot is a string", ".", str},
		{"exponent without digits is a string", "1e", str},
		{"truncated infinity is a string", "infinit", str},
		{"superscript digit is a string", "²", str},
		{"empty value is a string", "", str},
		{"true is a boolean", "true", boolean(true)},
		{"True is a boolean", "True", boolean(true)},
		{"TRUE is a boolean", "TRUE", boolean(true)},
		{"false is a boolean", "false", boolean(false)},
		{"False is a boolean", "False", boolean(false)},
		{"FALSE is a boolean", "FALSE", boolean(false)},
		{"tRUE is a string", "tRUE", str},
		{"yes is a string", "yes", str},
		{"word is a string", "AMD", str},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := perf.ParseFilter("a.b == " + tc.value)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if f.Kind != tc.want.Kind || f.Bool != tc.want.Bool || f.Num != tc.want.Num || math.Signbit(f.Num) != math.Signbit(tc.want.Num) {
				t.Errorf("got kind %v num %v bool %v, want kind %v num %v bool %v",
					f.Kind, f.Num, f.Bool, tc.want.Kind, tc.want.Num, tc.want.Bool)
			}
			if f.Raw != tc.value || f.Op != "==" || !reflect.DeepEqual(f.Path, []string{"a", "b"}) {
				t.Errorf("got path %q op %q raw %q", f.Path, f.Op, f.Raw)
			}
		})
	}
}

func TestParseFilterNaNIsANumber(t *testing.T) {
	for _, v := range []string{"nan", "NaN", "-nan", "+NAN"} {
		f, err := perf.ParseFilter("x < " + v)
		if err != nil || f.Kind != perf.FilterNumber || !math.IsNaN(f.Num) {
			t.Errorf("%q: got %+v, %v; want a NaN number filter", v, f, err)
		}
	}
}

func TestParseFilterPathsAndOperators(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		path   []string
		op     string
	}{
		{"dotted path is split into keys", "machine.cpu.count > 4", []string{"machine", "cpu", "count"}, ">"},
		{"numeric key is kept as text", "flags.0 == avx", []string{"flags", "0"}, "=="},
		{"doubled dot gives an empty key", "a..b <= 1", []string{"a", "", "b"}, "<="},
		{"leading dot gives an empty first key", ".a >= 1", []string{"", "a"}, ">="},
		{"empty path is the empty key", " < 1", []string{""}, "<"},
		{"quotes and unicode stay in keys", `it's."ключ" == x`, []string{"it's", `"ключ"`}, "=="},
		{"32 keys are allowed", strings.Repeat("k.", 31) + "k == 1", strings.Split(strings.Repeat("k.", 31)+"k", "."), "=="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := perf.ParseFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if !reflect.DeepEqual(f.Path, tc.path) || f.Op != tc.op {
				t.Errorf("got path %q op %q, want %q %q", f.Path, f.Op, tc.path, tc.op)
			}
		})
	}
}

// errorsBody builds the "errors" member expected for a filter error.
func errorsBody(filter, reason, hint string) map[string]any {
	return map[string]any{"filter": filter, "reason": []string{reason}, "hint": hint,
		"example": "filters=machine.cpu.count%20%3E%205"}
}

func TestParseFilterErrors(t *testing.T) {
	const split = "Probably missing spaces (%20)"
	long := "a == " + strings.Repeat("x", perf.MaxFilterLength-4)
	deep := strings.Repeat("k.", perf.MaxFilterPathDepth) + "k == 1"
	tests := []struct {
		name    string
		filter  string
		errors  map[string]any
		message map[string]any
	}{
		{"missing spaces are one part", "time>1", errorsBody("time>1", "not enough values to unpack (expected 3, got 1)", split), nil},
		{"empty filter is one part", "", errorsBody("", "not enough values to unpack (expected 3, got 1)", split), nil},
		{"one space gives two parts", "time >1", errorsBody("time >1", "not enough values to unpack (expected 3, got 2)", split), nil},
		{"double space gives four parts", "time  > 1", errorsBody("time  > 1", "too many values to unpack (expected 3)", split), nil},
		{"value with a space gives four parts", "cpu == AMD Ryzen", errorsBody("cpu == AMD Ryzen", "too many values to unpack (expected 3)", split), nil},
		{"trailing space gives four parts", "a == 1 ", errorsBody("a == 1 ", "too many values to unpack (expected 3)", split), nil},
		{"not-equal operator is unknown", "time <> 1", nil, map[string]any{"filter": "time <> 1",
			"reason": []string{"Unknown filter operator: '<>'"}, "hint": "Use only one of ['==', '>', '<', '>=', '<=']",
			"example": "filters=machine.cpu.count%20%3E%205"}},
		{"single equals is unknown", "a = 1", nil, map[string]any{"filter": "a = 1",
			"reason": []string{"Unknown filter operator: '='"}, "hint": "Use only one of ['==', '>', '<', '>=', '<=']",
			"example": "filters=machine.cpu.count%20%3E%205"}},
		{"empty operator is unknown", "a  1", nil, map[string]any{"filter": "a  1",
			"reason": []string{"Unknown filter operator: ''"}, "hint": "Use only one of ['==', '>', '<', '>=', '<=']",
			"example": "filters=machine.cpu.count%20%3E%205"}},
		{"operator error comes before the length check", "a != " + strings.Repeat("x", 2000), nil, map[string]any{
			"filter": "a != " + strings.Repeat("x", 2000), "reason": []string{"Unknown filter operator: '!='"},
			"hint": "Use only one of ['==', '>', '<', '>=', '<=']", "example": "filters=machine.cpu.count%20%3E%205"}},
		{"filter over the length limit is refused", long + "x", errorsBody(long+"x", "Filter longer than 1024 characters", "Use shorter paths and values"), nil},
		{"path over the depth limit is refused", deep, errorsBody(deep, "Path deeper than 32 keys", "Use at most 32 dot-separated keys"), nil},
		{"NUL is refused", "a == \x00", errorsBody("a == \x00", "Filter contains a NUL character or invalid UTF-8", "Use only valid UTF-8 text without NUL characters"), nil},
		{"invalid UTF-8 is refused", "a\xff == 1", errorsBody("a\xff == 1", "Filter contains a NUL character or invalid UTF-8", "Use only valid UTF-8 text without NUL characters"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := perf.ParseFilter(tc.filter)
			var pe *perf.Error
			if !errors.As(err, &pe) || pe.Kind != perf.Invalid {
				t.Fatalf("got %v, want an Invalid *perf.Error", err)
			}
			errs, message := filterBody(pe)
			if tc.errors != nil && (!reflect.DeepEqual(errs, tc.errors) || message != nil) {
				t.Errorf("got errors %#v message %#v, want errors %#v", errs, message, tc.errors)
			}
			if tc.message != nil && (!reflect.DeepEqual(message, tc.message) || errs != nil) {
				t.Errorf("got message %#v errors %#v, want message %#v", message, errs, tc.message)
			}
		})
	}
}

func TestParseFilterAtTheLengthLimitIsAccepted(t *testing.T) {
	s := "a == " + strings.Repeat("é", perf.MaxFilterLength-5) // counted in characters
	if _, err := perf.ParseFilter(s); err != nil {
		t.Fatalf("ParseFilter of %d characters: %v", perf.MaxFilterLength, err)
	}
}

func TestParseFiltersStopsAtTheFirstBadFilter(t *testing.T) {
	fs, err := perf.ParseFilters([]string{"a > 1", "b == x"})
	if err != nil || len(fs) != 2 || fs[0].Kind != perf.FilterNumber || fs[1].Kind != perf.FilterString {
		t.Fatalf("got %+v, %v", fs, err)
	}
	_, err = perf.ParseFilters([]string{"a > 1", "b<>1", "c <> 1"})
	var pe *perf.Error
	if !errors.As(err, &pe) || pe.Detail.(perf.FilterError).Filter != "b<>1" {
		t.Fatalf("got %v, want the split error of the second filter", err)
	}
}

// filterBody is the "errors" or "message" member upstream sent for a
// filter error (API.md §3.8), as package api renders pe.
func filterBody(pe *perf.Error) (errs, message map[string]any) {
	d, ok := pe.Detail.(perf.FilterError)
	if !ok {
		return nil, nil
	}
	m := map[string]any{"filter": d.Filter, "reason": []string{pe.Msg}, "hint": d.Hint, "example": d.Example}
	if d.Operator {
		return nil, m
	}
	return m, nil
}
