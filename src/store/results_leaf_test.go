package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
)

// Property test of migration 00011 and leafFilterSQL: on random documents
// holding every kind of value (numeric and boolean strings, long scalars,
// arrays, objects, null) at random paths, every random filter answers the
// same through result_leaf as by evaluating the condition on every
// document, also after documents are rewritten and deleted (the triggers).

// leafKeys are the keys of the random documents: "1" is also an array
// index (such paths take the scan), "" the empty key.
var leafKeys = []string{"a", "b", "c", "1", ""}

// leafScalars are the scalar values of the random documents.
var leafScalars = []any{
	5, 5.0, -2, 0, 0.5, 11, 1e300, "5", " 5\t", "1e3", "-2", "0.5", "inf", "-Infinity", "nan", "0x10", "1_000",
	true, false, "yes", " T ", "off", "0", "1", "of", "o", "tRuE", "apple", "banana", "b", "AMD", "amd", "[1]", "{}",
	strings.Repeat("z", 1100), "1" + strings.Repeat("0", 1100), "  " + strings.Repeat(" ", 1100) + "true", nil,
}

// leafValues are the filter values: numbers, booleans and strings.
var leafValues = []string{"5", "5.0", "-2", "0", "0.5", "11", "1e3", "inf", "-inf", "nan", "1e300", "1e400",
	"true", "False", "TRUE", "apple", "b", "banana", "AMD", "[1]", "{}", "zz", "yes", "0x10"}

func randomValue(rng *rand.Rand, depth int) any {
	switch n := rng.Intn(10); {
	case depth < 3 && n < 3:
		obj := map[string]any{}
		for range rng.Intn(4) {
			obj[leafKeys[rng.Intn(len(leafKeys))]] = randomValue(rng, depth+1)
		}
		return obj
	case depth < 3 && n == 3:
		arr := make([]any, rng.Intn(3))
		for i := range arr {
			arr[i] = randomValue(rng, depth+1)
		}
		return arr
	default:
		return leafScalars[rng.Intn(len(leafScalars))]
	}
}

// randomDocs returns n random documents named d0, d1, ….
func randomDocs(rng *rand.Rand, n int) map[string]string {
	docs := make(map[string]string, n)
	for i := range n {
		docs[fmt.Sprintf("d%d", i)] = randomDoc(rng)
	}
	return docs
}

func randomDoc(rng *rand.Rand) string {
	doc := map[string]any{}
	for range 1 + rng.Intn(4) {
		doc[leafKeys[rng.Intn(len(leafKeys))]] = randomValue(rng, 1)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func randomFilter(rng *rand.Rand) string {
	path := make([]string, 1+rng.Intn(3))
	for i := range path {
		path[i] = leafKeys[rng.Intn(len(leafKeys)-1)] // not the empty key: "a..b" is a valid path, but rarer
	}
	return strings.Join(path, ".") + " " + perf.FilterOps[rng.Intn(len(perf.FilterOps))] + " " + leafValues[rng.Intn(len(leafValues))]
}

func TestLeafFiltersAgreeWithTheScan(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(11))
	db := pendingFilterDB(t, randomDocs(rng, 300))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// compare checks n random filters (400 in the fully indexed rounds,
	// 200 while results are pending, to keep the test's time down).
	compare := func(round string, n int) {
		indexed, byLookups := 0, 0
		for range n {
			texts := []string{randomFilter(rng)}
			if rng.Intn(4) == 0 {
				texts = append(texts, randomFilter(rng))
			}
			fs, err := perf.ParseFilters(texts)
			if err != nil {
				t.Fatalf("%q: %v", texts, err)
			}
			var leaf, scan where
			jsonFiltersSQL(&leaf, fs)
			for _, f := range fs {
				if !matchable(f) {
					scan.conds = append(scan.conds, "FALSE")
					continue
				}
				scanFilterSQL(&scan, f)
			}
			if strings.Contains(leaf.sql(), "result_leaf") {
				indexed++
			}
			// As ListResults runs them: the indexed part alone where no
			// recheck row is at the path.
			noRecheck, small, err := leafPlan(ctx, sqlx.NewDb(db, "postgres"), fs)
			if err != nil {
				t.Fatal(err)
			}
			var known where
			jsonFiltersKnown(&known, fs, noRecheck, nil)
			gotKnown, err := query(t, db, &known, "")
			if err != nil {
				t.Fatalf("%s: %q with known recheck rows: %v", round, texts, err)
			}
			// And with the exact filters that match few entries answered by
			// lookups (r.id = ANY(ARRAY(...))), as ListResults runs them.
			var lookups where
			jsonFiltersKnown(&lookups, fs, noRecheck, small)
			gotLookups, err := query(t, db, &lookups, "")
			if err != nil {
				t.Fatalf("%s: %q by lookups: %v", round, texts, err)
			}
			if !slices.Equal(gotLookups, gotKnown) {
				t.Errorf("%s: %q: by lookups %v, joined %v", round, texts, gotLookups, gotKnown)
			}
			if strings.Contains(lookups.sql(), "= ANY(ARRAY(") {
				byLookups++
			}
			got, err := query(t, db, &leaf, "")
			if err != nil {
				t.Fatalf("%s: %q through result_leaf: %v", round, texts, err)
			}
			want, err := query(t, db, &scan, "")
			if err != nil {
				t.Fatalf("%s: %q by scan: %v", round, texts, err)
			}
			if !slices.Equal(got, want) || !slices.Equal(gotKnown, want) {
				t.Errorf("%s: %q: result_leaf gives %v (%v without the recheck part where none is needed), the scan %v",
					round, texts, got, gotKnown, want)
			}
		}
		if indexed < n/2 {
			t.Errorf("%s: only %d of %d filters went through result_leaf", round, indexed, n)
		}
		var waiting int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM result_leaf_pending`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 && byLookups < n/8 {
			t.Errorf("%s: only %d of %d filters were answered by lookups", round, byLookups, n)
		}
	}
	// result_count (migration 00011) holds the visible results per
	// benchmark, site and flavor.
	checkCounts := func(round string) {
		t.Helper()
		var diff int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (
			SELECT benchmark_id, site_id, flavor_id, n FROM result_count WHERE n <> 0
			EXCEPT SELECT benchmark_id, site_id, flavor_id, count(*) FROM result WHERE NOT deleted GROUP BY 1, 2, 3) d`).Scan(&diff); err != nil {
			t.Fatal(err)
		}
		var sum, visible int
		if err := db.QueryRowContext(ctx, `SELECT (SELECT COALESCE(sum(n), 0) FROM result_count), (SELECT count(*) FROM result WHERE NOT deleted)`).Scan(&sum, &visible); err != nil {
			t.Fatal(err)
		}
		if diff != 0 || sum != visible {
			t.Errorf("%s: result_count sums to %d for %d visible results (%d groups differ)", round, sum, visible, diff)
		}
	}
	st := &Store{db: sqlx.NewDb(db, "postgres")}
	// drain indexes up to n pending results (migration 00013) and checks
	// that result_leaf then holds exactly the leaves of the indexed
	// results.
	drain := func(round string, n int) {
		t.Helper()
		for n > 0 {
			got, err := st.DrainLeaves(ctx, min(n, 70))
			if err != nil {
				t.Fatal(err)
			}
			if got == 0 {
				break
			}
			n -= got
		}
		if diff := leafDiff(t, ctx, db); diff != 0 {
			t.Errorf("%s: result_leaf differs from the leaves of the indexed results in %d rows", round, diff)
		}
	}
	pending := func() int {
		n, err := st.PendingLeaves(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Inserted results are pending until indexed: the filters answer the
	// same with none, some and all of them indexed.
	if n := pending(); n != 300 {
		t.Fatalf("%d results pending after inserting 300, want all", n)
	}
	compare("after insert, nothing indexed", 200)
	drain("half indexed", 150)
	if n := pending(); n != 150 {
		t.Fatalf("%d results pending after indexing 150 of 300", n)
	}
	compare("after insert, half indexed", 200)
	drain("indexed", 300)
	if n := pending(); n != 0 {
		t.Fatalf("%d results pending after indexing all", n)
	}
	compare("after insert", 400)
	checkCounts("after insert")

	// Rewrite a third of the documents, delete a tenth: the triggers keep
	// result_leaf in step.
	for i := range 300 {
		name := fmt.Sprintf("d%d", i)
		var q string
		var args []any
		switch {
		case i%7 == 0:
			q, args = `UPDATE result SET deleted = NOT deleted WHERE id = (SELECT id FROM names WHERE name = $1)`, []any{name}
		case i%10 == 0:
			q, args = `DELETE FROM result WHERE id = (SELECT id FROM names WHERE name = $1)`, []any{name}
		case i%3 == 0:
			q, args = `UPDATE result SET json = $2 WHERE id = (SELECT id FROM names WHERE name = $1)`, []any{name, randomDoc(rng)}
		default:
			continue
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	if n := pending(); n == 0 {
		t.Fatal("no result pending after rewriting documents")
	}
	compare("after update and delete, rewritten ones pending", 200)
	drain("after update and delete", 300)
	compare("after update and delete", 400)
	checkCounts("after update and delete")
	if _, err := db.ExecContext(ctx, `UPDATE result SET deleted = true WHERE json ? 'a'`); err != nil {
		t.Fatal(err)
	}
	checkCounts("after hiding many at once")
	var stale int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM result_leaf l WHERE NOT EXISTS (SELECT 1 FROM result r WHERE r.id = l.result_id)`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d rows of deleted results left in result_leaf", stale)
	}
}

func TestCompactJSONBMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	db := filterDB(t, map[string]string{"x": `{}`})
	rng := rand.New(rand.NewSource(3))
	docs := []string{`{"a": "x, y: \"z\" \\", "b": [1, 2, {"c": null}], "d": "\\\\"}`, `{"": ", : "}`, `[]`, `{"k": "\u00e9\n"}`}
	for range 200 {
		docs = append(docs, randomDoc(rng))
	}
	for _, d := range docs {
		var text string
		if err := db.QueryRow(`SELECT $1::jsonb::text`, d).Scan(&text); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if got := compactJSONB([]byte(text)); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("compactJSONB(%s) = %s, want %s", text, got, want.Bytes())
		}
	}
}
