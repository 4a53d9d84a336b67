package store

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/jmoiron/sqlx"
)

// filterDocs are the result documents the filter and sort tests query,
// by name. The "v" key holds one value of every kind a filter may meet.
var filterDocs = map[string]string{
	"int11":      `{"v": 11}`,
	"float11":    `{"v": 11.0}`,
	"num5":       `{"v": 5}`,
	"str5":       `{"v": "5"}`,
	"strspace5":  `{"v": " 5\t"}`,
	"strvt5":     `{"v": "\u000b5\f"}`,
	"one":        `{"v": 1}`,
	"zero":       `{"v": 0}`,
	"big":        `{"v": 1e400}`,
	"tiny":       `{"v": 1e-400}`,
	"strexp":     `{"v": "1e3"}`,
	"strinf":     `{"v": "inf"}`,
	"strneginf":  `{"v": "-Infinity"}`,
	"strnan":     `{"v": "NaN"}`,
	"strhex":     `{"v": "0x10"}`,
	"strunder":   `{"v": "1_000"}`,
	"strhugeexp": `{"v": "1e99999"}`,
	"strlong":    `{"v": "1` + strings.Repeat("0", numericTextMax) + `"}`, // over the length limit
	"two":        `{"v": "two"}`,
	"true":       `{"v": true}`,
	"false":      `{"v": false}`,
	"stryes":     `{"v": "yes"}`,
	"strT":       `{"v": " T "}`,
	"strTrue":    `{"v": "True"}`,
	"stroff":     `{"v": "off"}`,
	"AMD":        `{"v": "AMD"}`,
	"amd":        `{"v": "amd"}`,
	"obj":        `{"v": {"x": 1}}`,
	"arr":        `{"v": [1]}`,
	"null":       `{"v": null}`,
	"missing":    `{"w": 1}`,
	"p1":         `{"p": 0.1000000000000000000001}`,
	"p2":         `{"p": 0.30000000000000004}`,
	"p3":         `{"p": "0.1"}`,
	"tie":        `{"p": 1.00000000000000011102230246251565404236316680908203125}`,
	"b1":         `{"b": "1"}`,
	"b0":         `{"b": "0"}`,
	"bof":        `{"b": "of"}`,
	"bo":         `{"b": "o"}`,
	"bnum1":      `{"b": 1}`,
	"btrue":      `{"b": "\ttRuE\n"}`,
	"apple":      `{"s": "apple"}`,
	"banana":     `{"s": "banana"}`,
	"cherry":     `{"s": "cherry"}`,
	"s5":         `{"s": 5}`,
	"strue":      `{"s": true}`,
	"nested":     `{"a": {"b": {"c": 4}}}`,
	"karr":       `{"k": ["x", "y"], "n": [10, 20]}`,
	"kobj":       `{"k": {"0": "x"}}`,
	"emptykey":   `{"": {"z": 1}}`,
	"unicode":    `{"ключ": "значение", "q": "it's \"quoted\" <&>"}`,
}

// filterDB returns a migrated database holding one user, benchmark, site
// and flavor and a result per document, indexed in result_leaf;
// names(id, name) maps results to the documents' names.
func filterDB(tb testing.TB, docs map[string]string) *sql.DB {
	tb.Helper()
	db := pendingFilterDB(tb, docs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &Store{db: sqlx.NewDb(db, "postgres")}
	for {
		n, err := st.DrainLeaves(ctx, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return db
		}
	}
}

// pendingFilterDB is filterDB with the results' leaves still pending
// (migration 00013).
func pendingFilterDB(tb testing.TB, docs map[string]string) *sql.DB {
	tb.Helper()
	// A copy of a database migrated once per test binary.
	dsn := pgtest.NewDatabaseFrom(tb, "migrated", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		return Migrate(ctx, db, MigrateUp, nil)
	})
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup := []string{
		`INSERT INTO "user" (sub, iss, email, registration_datetime) VALUES ('s', 'i', 'e@x', now())`,
		`INSERT INTO benchmark (id, uploader_sub, uploader_iss, upload_datetime, status, docker_image, docker_tag, json_schema, url)
		 VALUES ('00000000-0000-0000-0000-00000000000b', 's', 'i', now(), 'approved', 'b', 't', '{}', 'https://x')`,
		`INSERT INTO site (id, uploader_sub, uploader_iss, upload_datetime, status, name, address)
		 VALUES ('00000000-0000-0000-0000-00000000000c', 's', 'i', now(), 'approved', 'site', 'addr')`,
		`INSERT INTO flavor (id, uploader_sub, uploader_iss, upload_datetime, status, name, site_id)
		 VALUES ('00000000-0000-0000-0000-00000000000f', 's', 'i', now(), 'approved', 'fl', '00000000-0000-0000-0000-00000000000c')`,
		`CREATE TABLE names (id uuid PRIMARY KEY, name text NOT NULL)`,
	}
	for _, q := range setup {
		if _, err := db.ExecContext(ctx, q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	for name, doc := range docs {
		_, err := db.ExecContext(ctx, `WITH r AS (
			INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
			VALUES (gen_random_uuid(), 's', 'i', now(), $1, now(), '00000000-0000-0000-0000-00000000000b',
			        '00000000-0000-0000-0000-00000000000f', '00000000-0000-0000-0000-00000000000c', false)
			RETURNING id)
			INSERT INTO names SELECT id, $2 FROM r`, doc, name)
		if err != nil {
			tb.Fatalf("insert %s %s: %v", name, doc, err)
		}
	}
	return db
}

// query runs SELECT names FROM result r WHERE <w> [ORDER BY order] and
// returns the names in the order received, or sorted when order is empty.
func query(tb testing.TB, db *sql.DB, w *where, order string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT n.name FROM result r JOIN names n ON n.id = r.id`+w.sql()+order, w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	if order == "" {
		sort.Strings(names)
	}
	return names, rows.Err()
}

// matching returns the sorted names of the results that all filters match.
func matching(t *testing.T, db *sql.DB, filters ...string) []string {
	t.Helper()
	fs, err := perf.ParseFilters(filters)
	if err != nil {
		t.Fatalf("ParseFilters(%q): %v", filters, err)
	}
	var w where
	jsonFiltersSQL(&w, fs)
	names, err := query(t, db, &w, "")
	if err != nil {
		t.Fatalf("filters %q: %v", filters, err)
	}
	return names
}

func names(s string) []string {
	if s == "" {
		return nil
	}
	n := strings.Fields(s)
	sort.Strings(n)
	return n
}

func TestJSONFilterMatches(t *testing.T) {
	t.Parallel()
	db := filterDB(t, filterDocs)
	allNumbers := "int11 float11 num5 str5 strspace5 strvt5 one zero big tiny strexp strinf strneginf"
	allBools := "true false stryes strT strTrue stroff"
	tests := []struct {
		name    string
		filters []string
		want    string
	}{
		// Numbers: JSON numbers and numeric strings, Python float semantics.
		{"11 matches 11 and 11.0", []string{"v == 11"}, "int11 float11"},
		{"11.0 matches 11 and 11.0", []string{"v == 11.0"}, "int11 float11"},
		{"5 matches numeric strings", []string{"v == 5"}, "num5 str5 strspace5 strvt5"},
		{"greater than skips uncastable values", []string{"v > 10"}, "int11 float11 big strexp strinf"},
		{"less than includes minus infinity and underflow", []string{"v < 1"}, "zero tiny strneginf"},
		{"at most 0 counts underflow as 0", []string{"v <= 0"}, "zero tiny strneginf"},
		{"0 equals an underflowing number", []string{"v == 0"}, "zero tiny"},
		{"at least 1 from both sides", []string{"v >= 1"}, "one num5 str5 strspace5 strvt5 int11 float11 big strexp strinf"},
		{"inf equals overflow and the string inf", []string{"v == inf"}, "big strinf"},
		{"1e400 is inf", []string{"v == 1e400"}, "big strinf"},
		{"nothing is greater than inf", []string{"v > inf"}, ""},
		{"everything convertible is at most inf", []string{"v <= inf"}, allNumbers},
		{"everything convertible is at least -inf", []string{"v >= -inf"}, allNumbers},
		{"-Infinity equals the string -Infinity", []string{"v == -Infinity"}, "strneginf"},
		{"nan equals nothing", []string{"v == nan"}, ""},
		{"nan orders nothing", []string{"v <= nan"}, ""},
		{"nan is never greater", []string{"v > NaN"}, ""},
		{"underscore filter value is a number", []string{"v == 1_000"}, "strexp"},
		{"Arabic-Indic filter value is a number", []string{"v == ٥"}, "num5 str5 strspace5 strvt5"},
		{"float rounding makes close decimals equal", []string{"p == 0.1"}, "p1 p3"},
		{"distinct floats stay distinct", []string{"p == 0.3"}, ""},
		{"the next float up is distinct", []string{"p == 0.30000000000000004"}, "p2"},
		{"a tie rounds to the even float", []string{"p == 1"}, "tie"},
		{"a tie is not above the even float", []string{"p > 1"}, ""},
		// Booleans: JSON booleans and strings PostgreSQL reads as booleans.
		{"true matches boolean strings", []string{"v == true"}, "true stryes strT strTrue"},
		{"False matches off", []string{"v == False"}, "false stroff"},
		{"less than true is false", []string{"v < TRUE"}, "false stroff"},
		{"at least false is every boolean", []string{"v >= false"}, allBools},
		{"greater than false is true", []string{"v > false"}, "true stryes strT strTrue"},
		{"at most true is every boolean", []string{"v <= true"}, allBools},
		{"1 and trimmed mixed case are true, numbers are not", []string{"b == true"}, "b1 btrue"},
		{"0 and of are false, o is ambiguous", []string{"b == false"}, "b0 bof"},
		// Strings: the stored text, case-sensitive.
		{"string equality is case-sensitive", []string{"v == AMD"}, "AMD"},
		{"lower case finds only lower case", []string{"v == amd"}, "amd"},
		{"uncastable value matches as a string", []string{"v == two"}, "two"},
		{"yes is a string filter", []string{"v == yes"}, "stryes"},
		{"an array matches its JSON text", []string{"v == [1]"}, "arr"},
		{"hexadecimal matches its text", []string{"v == 0x10"}, "strhex"},
		{"less than compares the text of any value", []string{"s < banana"}, "apple s5"},
		{"at least compares lexicographically", []string{"s >= banana"}, "banana cherry strue"},
		// Paths.
		{"nested path", []string{"a.b.c == 4"}, "nested"},
		{"nested path with an operator", []string{"a.b.c > 3"}, "nested"},
		{"object at the path matches no number", []string{"a.b == 4"}, ""},
		{"path through a number", []string{"a.b.c.d == 4"}, ""},
		{"missing key in the middle", []string{"a.x.c == 4"}, ""},
		{"missing path and null never match", []string{"v >= -inf", "w == 1"}, ""},
		{"numeric key indexes arrays and objects", []string{"k.0 == x"}, "karr kobj"},
		{"second array element", []string{"n.1 == 20"}, "karr"},
		{"negative index counts from the end", []string{"n.-1 >= 20"}, "karr"},
		{"index past the end", []string{"n.2 >= 0"}, ""},
		{"empty key", []string{".z == 1"}, "emptykey"},
		{"unicode key and value", []string{"ключ == значение"}, "unicode"},
		{"quotes and markup in a string value", []string{`q == it's`}, ""},
		{"all filters must hold", []string{"v >= 5", "v < 11"}, "num5 str5 strspace5 strvt5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, want := matching(t, db, tc.filters...), names(tc.want); !slices.Equal(got, want) {
				t.Errorf("filters %q: got %v, want %v", tc.filters, got, want)
			}
		})
	}
}

func TestJSONFilterStringWithQuotesAndMarkupMatches(t *testing.T) {
	t.Parallel()
	db := filterDB(t, map[string]string{"q": `{"q": "it's\"quoted\"<&>", "r": {"it's": {"\"k\"": "<&>"}}}`, "other": `{"q": "x"}`})
	for _, f := range []string{`q == it's"quoted"<&>`, `r.it's."k" == <&>`} {
		if got := matching(t, db, f); !slices.Equal(got, []string{"q"}) {
			t.Errorf("%q: got %v, want [q]", f, got)
		}
	}
}

func TestJSONFilterUnrepresentableTextMatchesNothing(t *testing.T) {
	t.Parallel()
	db := filterDB(t, filterDocs)
	for _, f := range []perf.JSONFilter{
		{Path: []string{"v\x00"}, Op: "==", Raw: "5", Kind: perf.FilterNumber, Num: 5},
		{Path: []string{"v"}, Op: "==", Raw: "AMD\xff", Kind: perf.FilterString},
		{Path: []string{"\xff"}, Op: ">", Raw: "true", Kind: perf.FilterBool, Bool: true},
		{Path: []string{"v"}, Op: "!=", Raw: "AMD", Kind: perf.FilterString},
		{Path: []string{"v"}, Op: "==", Raw: "AMD"},
	} {
		var w where
		jsonFilterSQL(&w, f)
		got, err := query(t, db, &w, "")
		if err != nil || len(got) != 0 {
			t.Errorf("%+v: got %v, %v; want no rows and no error", f, got, err)
		}
	}
}

func TestJSONOrderSortsByJSONBOrdering(t *testing.T) {
	t.Parallel()
	db := filterDB(t, map[string]string{
		"null": `{"o": null}`, "strA": `{"o": "a"}`, "strB": `{"o": "b"}`, "num2": `{"o": 2}`,
		"num10": `{"o": 10}`, "false": `{"o": false}`, "true": `{"o": true}`, "arr": `{"o": [1]}`,
		"obj": `{"o": {"x": 1}}`, "missing1": `{"p": 1}`, "missing2": `{}`,
		"nested1": `{"n": {"m": 3}}`, "nested2": `{"n": {"m": 1}}`,
	})
	tests := []struct {
		name string
		keys []perf.SortKey
		want string
	}{
		{"ascending puts missing last", []perf.SortKey{{Field: "json", JSONPath: []string{"o"}}},
			"null strA strB num2 num10 false true arr obj missing1 missing2 nested1 nested2"},
		{"descending puts missing first", []perf.SortKey{{Field: "json", JSONPath: []string{"o"}, Desc: true}},
			"missing1 missing2 nested1 nested2 obj arr true false num10 num2 strB strA null"},
		{"nested path", []perf.SortKey{{Field: "json", JSONPath: []string{"n", "m"}}},
			"nested2 nested1 arr false missing1 missing2 null num10 num2 obj strA strB true"},
		{"json key then a column", []perf.SortKey{{Field: "json", JSONPath: []string{"n", "m"}, Desc: true}, {Field: "name"}},
			"arr false missing1 missing2 null num10 num2 obj strA strB true nested1 nested2"},
		{"NUL in the path orders nothing", []perf.SortKey{{Field: "json", JSONPath: []string{"o\x00"}}},
			"arr false missing1 missing2 nested1 nested2 null num10 num2 obj strA strB true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w where
			order, err := orderBy(&w, tc.keys, map[string]string{"name": "n.name"}, "n.name")
			if err != nil {
				t.Fatal(err)
			}
			got, err := query(t, db, &w, order)
			if err != nil {
				t.Fatalf("%s: %v", order, err)
			}
			if want := strings.Fields(tc.want); !slices.Equal(got, want) {
				t.Errorf("%s:\ngot  %v\nwant %v", order, got, want)
			}
		})
	}
}

func TestResultOrderByRefusesUnknownColumns(t *testing.T) {
	t.Parallel()
	var w where
	if _, err := orderBy(&w, []perf.SortKey{{Field: "nope"}}, map[string]string{"id": "r.id"}); err == nil {
		t.Fatal("unknown sort field accepted")
	}
	if got, err := orderBy(&w, nil, nil); got != "" || err != nil {
		t.Fatalf("no keys: got %q, %v", got, err)
	}
}

// TestNumberFilterAgreesWithPythonFloats checks the exact rounding bounds
// of number filters against a model of Python's float(): the stored text
// is rounded half-to-even to a float64 (strconv.ParseFloat rounds the same
// way; overflow is ±Inf) and compared as floats. The values sit on and
// next to the rounding boundaries.
func TestNumberFilterAgreesWithPythonFloats(t *testing.T) {
	t.Parallel()
	one := math.Nextafter(1, 2)
	values := []string{
		"0", "-0", "1", "-1", "0.1", "0.3", "0.30000000000000004", "1e400", "-1e400", "1e-400",
		"5e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
		strconv.FormatFloat(one, 'g', -1, 64),
		exactDecimal(midpoint(1, 1)), exactDecimal(midpoint(1, -1)), exactDecimal(midpoint(one, 1)),
		exactDecimal(midpoint(math.MaxFloat64, 1)), exactDecimal(midpoint(-math.MaxFloat64, -1)),
		exactDecimal(midpoint(math.MaxFloat64, 1)) + ".000001", exactDecimal(midpoint(math.MaxFloat64, -1)),
		"1797693134862315807937289714053034150799341327710" + strings.Repeat("0", 259), // just below the overflow tie
		exactDecimal(midpoint(0, 1)), exactDecimal(midpoint(5e-324, 1)), exactDecimal(midpoint(0, 1)) + "1",
	}
	docs := map[string]string{}
	stored := map[string]float64{}
	for i, v := range values {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil && !math.IsInf(f, 0) {
			t.Fatalf("model cannot read %s: %v", v, err)
		}
		docs["n"+strconv.Itoa(i)], docs["s"+strconv.Itoa(i)] = `{"x": `+v+`}`, `{"x": " `+v+`"}`
		stored["n"+strconv.Itoa(i)], stored["s"+strconv.Itoa(i)] = f, f
	}
	docs["inf"], stored["inf"] = `{"x": "Infinity"}`, math.Inf(1)
	docs["-inf"], stored["-inf"] = `{"x": "-inf"}`, math.Inf(-1)
	// The longest and most extreme strings that still convert.
	digits := strings.Repeat("1", numericTextMax-12)
	docs["maxint"], stored["maxint"] = `{"x": "\t`+digits+`e+00009999"}`, math.Inf(1)
	docs["maxfrac"], stored["maxfrac"] = `{"x": ".`+digits+`E-9999\n"}`, 0
	docs["toolong"] = `{"x": "` + digits + `e+000099999"}`
	docs["hugeexp"] = `{"x": "1e10000"}`
	db := filterDB(t, docs)

	filterValues := []float64{0, 1, -1, one, math.Nextafter(1, 0), 0.1, 0.3, 0.30000000000000004, 5e-324, 1e-5,
		2.2250738585072014e-308, math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.Inf(-1), 1e300}
	cmp := map[string]func(a, b float64) bool{
		"==": func(a, b float64) bool { return a == b }, "<": func(a, b float64) bool { return a < b },
		">": func(a, b float64) bool { return a > b }, "<=": func(a, b float64) bool { return a <= b },
		">=": func(a, b float64) bool { return a >= b },
	}
	for _, fv := range filterValues {
		for _, op := range perf.FilterOps {
			var want []string
			for name, x := range stored {
				if cmp[op](x, fv) {
					want = append(want, name)
				}
			}
			sort.Strings(want)
			var w where
			jsonFilterSQL(&w, perf.JSONFilter{Path: []string{"x"}, Op: op, Kind: perf.FilterNumber, Num: fv})
			got, err := query(t, db, &w, "")
			if err != nil {
				t.Fatalf("x %s %v: %v", op, fv, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("x %s %v: got %v, want %v", op, fv, got, want)
			}
		}
	}
}
