package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

// execBudget bounds one fuzz execution's query; a slower query fails the
// target, since it would be a denial of service through the list endpoint.
const execBudget = 10 * time.Second

// runBounded runs SELECT … WHERE <w> <order> LIMIT 5 on db within
// execBudget.
func runBounded(t *testing.T, db *sql.DB, w *where, order, input string) {
	ctx, cancel := context.WithTimeout(context.Background(), execBudget)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT r.id FROM result r`+w.sql()+order+` LIMIT 5`, w.args...)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err != nil {
		t.Fatalf("%q: %v\nSQL: %s%s", input, err, w.sql(), order)
	}
}

// FuzzJSONFilterSQL: any filter ParseFilter accepts becomes SQL that runs
// without error (never a 500) over documents holding every kind of value,
// also sorted by the filter's path.
func FuzzJSONFilterSQL(f *testing.F) {
	for _, s := range []string{
		"v == 11", "v > 10", "v == 5", "v < nan", "v == inf", "v >= -Infinity", "v == 1e400", "v == 1_000",
		"v == true", "b == FALSE", "v < True", "v == AMD", "v == [1]", "s < banana", "a.b.c > 3", "k.0 == x",
		"n.-1 >= 20", ".z == 1", "ключ == значение", `q == it's"quoted"<&>`, "v == '; DROP TABLE result; --",
		`v == \'`, "v == {}", "x.y.z.w == \\u0000", "v == 0x10", "v == 1e-400", "k. 1 == y",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	db := filterDB(f, filterDocs)
	f.Fuzz(func(t *testing.T, s string, desc bool) {
		flt, err := perf.ParseFilter(s)
		if err != nil {
			return // FuzzParseFilter checks the errors
		}
		var w where
		jsonFilterSQL(&w, flt)
		order, err := orderBy(&w, []perf.SortKey{{Field: "json", JSONPath: flt.Path, Desc: desc}}, nil, "r.id")
		if err != nil {
			t.Fatal(err)
		}
		runBounded(t, db, &w, order, s)
	})
}

// FuzzJSONOrderSQL: any json.<path> sort key runs without error, whatever
// the path holds (parseSort in package api splits on dots and lets NUL and
// invalid UTF-8 through).
func FuzzJSONOrderSQL(f *testing.F) {
	for _, s := range []string{"v", "a.b.c", "k.0", "n.-1", "", ".", "ключ", "it's", `"`, "\x00", "\xff", "'; DROP TABLE result; --",
		strings.Repeat("a.", 1000) + "a"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	db := filterDB(f, filterDocs)
	f.Fuzz(func(t *testing.T, s string, desc bool) {
		var w where
		order := " ORDER BY " + w.jsonOrder(strings.Split(s, "."), desc) + ", r.id"
		runBounded(t, db, &w, order, s)
	})
}

// TestJSONFilterSQLCarriesNoInputText: paths and values reach PostgreSQL
// only as parameters, for every kind and operator.
func TestJSONFilterSQLCarriesNoInputText(t *testing.T) {
	t.Parallel()
	const mark = "XYZZY'\"--;"
	for _, value := range []string{"5", "true", mark} {
		for _, op := range perf.FilterOps {
			flt, err := perf.ParseFilter("a." + mark + " " + op + " " + value)
			if err != nil {
				t.Fatal(err)
			}
			var w where
			jsonFilterSQL(&w, flt)
			order := w.jsonOrder(flt.Path, true)
			if sql := w.sql() + order; strings.Contains(sql, "XYZZY") {
				t.Errorf("%s %s: input in SQL text: %s", op, value, sql)
			}
		}
	}
}
