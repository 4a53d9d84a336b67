package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// The benchmark and flavor of filterDB.
var (
	testBenchmark = uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	testFlavor    = uuid.MustParse("00000000-0000-0000-0000-00000000000f")
)

// createResultDB is filterDB without results, a store on it and a
// context for the test.
func createResultDB(t *testing.T) (*sql.DB, *Store, context.Context) {
	db := filterDB(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return db, &Store{db: sqlx.NewDb(db, "postgres")}, ctx
}

// newTestResult is a new result of {"a": 1} for filterDB's benchmark and
// flavor.
func newTestResult() perf.NewResult {
	return perf.NewResult{ID: uuid.New(), UploadDatetime: perf.Now(), ExecutionDatetime: perf.Now().Add(-time.Hour), JSON: []byte(`{"a": 1}`),
		BenchmarkID: testBenchmark, FlavorID: testFlavor, Uploader: perf.Uploader{UploaderSub: "s", UploaderIss: "i"}}
}

// CreateResult validates before taking locks; when the benchmark's schema
// changes between the validation and the insert, the upload is validated
// again, under the locks, against the new schema.
func TestCreateResultRevalidatesWhenTheSchemaChanged(t *testing.T) {
	t.Parallel()
	db, st, ctx := createResultDB(t)
	n := newTestResult()
	var seen []string
	res, err := st.CreateResult(ctx, n, func(b perf.Benchmark) error {
		seen = append(seen, string(b.JSONSchema))
		if len(seen) == 1 {
			_, err := db.ExecContext(ctx, `UPDATE benchmark SET json_schema = '{"type": "object"}' WHERE id = $1`, testBenchmark)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != "{}" || seen[1] != `{"type": "object"}` {
		t.Errorf("validated against %q, want {} then the new schema", seen)
	}
	if res.ID != n.ID || string(res.JSON) != `{"a":1}` || string(res.Benchmark.JSONSchema) != `{"type":"object"}` {
		t.Errorf("result %s %s schema %s", res.ID, res.JSON, res.Benchmark.JSONSchema)
	}

	// A failed validation stores nothing and took no lock.
	n.ID = uuid.New()
	_, err = st.CreateResult(ctx, n, func(perf.Benchmark) error { return perf.Errorf(perf.Invalid, "no") })
	if err == nil {
		t.Fatal("stored a result that failed validation")
	}
	var count int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM result WHERE id = $1`, n.ID).Scan(&count); err != nil || count != 0 {
		t.Errorf("count %d, %v", count, err)
	}
}

// The one-statement path of CreateResult validates against the cached
// catalog; when the cache is older than the benchmark, flavor or tags,
// the insert finds out (schema MD5, status, foreign key) and the upload
// gets the answer the database gives now, not the cache's.
func TestCreateResultFromAStaleCatalogCache(t *testing.T) {
	t.Parallel()
	db, st, ctx := createResultDB(t)
	bench, flavor := testBenchmark, testFlavor
	upload := func(check func(b perf.Benchmark) error, tags ...uuid.UUID) (perf.Result, error) {
		n := newTestResult()
		n.TagIDs = tags
		return st.CreateResult(ctx, n, check)
	}
	var seen []string
	record := func(b perf.Benchmark) error {
		seen = append(seen, string(b.JSONSchema))
		if string(b.JSONSchema) == `{"required": ["b"]}` {
			return perf.Errorf(perf.Invalid, "b is required")
		}
		return nil
	}
	// The first upload loads the cache (when it builds its answer); the
	// second takes the one-statement path: one validation.
	for i := range 2 {
		seen = nil
		if _, err := upload(record); err != nil {
			t.Fatal(err)
		}
		if i == 1 && len(seen) != 1 {
			t.Fatalf("validated %d times with a fresh cache, want once", len(seen))
		}
	}
	if st.cat.cur.Load() == nil {
		t.Fatal("no catalog cached")
	}

	// Behind the cache's back: a new schema the document fails.
	if _, err := db.ExecContext(ctx, `UPDATE benchmark SET json_schema = '{"required": ["b"]}' WHERE id = $1`, bench); err != nil {
		t.Fatal(err)
	}
	seen = nil
	if _, err := upload(record); perf.AsError(err).Kind != perf.Invalid {
		t.Errorf("upload after the schema changed: %v, want 422", err)
	}
	if len(seen) != 2 || seen[0] != "{}" || seen[1] != `{"required": ["b"]}` {
		t.Errorf("validated against %q, want the cached schema, then the stored one", seen)
	}
	if _, err := db.ExecContext(ctx, `UPDATE benchmark SET json_schema = '{}' WHERE id = $1`, bench); err != nil {
		t.Fatal(err)
	}
	// A flavor back on review behind the cache's back.
	if _, err := db.ExecContext(ctx, `UPDATE flavor SET status = 'on_review' WHERE id = $1`, flavor); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(record); perf.AsError(err).Kind != perf.Invalid || perf.AsError(err).Msg != "Flavor "+flavor.String()+" not approved" {
		t.Errorf("upload to a flavor on review: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE flavor SET status = 'approved' WHERE id = $1`, flavor); err != nil {
		t.Fatal(err)
	}
	// A tag that does not exist: 404, nothing stored.
	missing := uuid.New()
	if _, err := upload(record, missing); perf.AsError(err).Kind != perf.NotFound {
		t.Errorf("upload with a missing tag: %v, want 404", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM result`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d results stored (%v), want the first two only", n, err)
	}
}

// The catalog cache leaves out submissions on review that no result
// references (any user can add many), and keeps rows with results whatever
// their status.
func TestCatalogCacheLeavesOutSubmissionsWithoutResults(t *testing.T) {
	t.Parallel()
	db, st, ctx := createResultDB(t)
	for i := range 50 {
		for _, q := range []string{
			`INSERT INTO benchmark (id, uploader_sub, uploader_iss, upload_datetime, status, docker_image, docker_tag, json_schema, url)
			 VALUES (gen_random_uuid(), 's', 'i', now(), 'on_review', 'pending', $1, '{}', 'u')`,
			`INSERT INTO site (id, uploader_sub, uploader_iss, upload_datetime, status, name, address)
			 VALUES (gen_random_uuid(), 's', 'i', now(), NULL, 'pending-' || $1, 'a')`, // NULL is on review (1.2.3's rows)
			`INSERT INTO flavor (id, uploader_sub, uploader_iss, upload_datetime, status, name, site_id)
			 VALUES (gen_random_uuid(), 's', 'i', now(), 'on_review', 'pending-' || $1, '00000000-0000-0000-0000-00000000000c')`,
		} {
			if _, err := db.ExecContext(ctx, q, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.CreateResult(ctx, newTestResult(), func(perf.Benchmark) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The benchmark and flavor of the result go back on review: their
	// result still shows them.
	if _, err := db.ExecContext(ctx, `UPDATE benchmark SET status = 'on_review' WHERE id = $1`, testBenchmark); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE flavor SET status = 'on_review' WHERE id = $1`, testFlavor); err != nil {
		t.Fatal(err)
	}
	c, err := st.loadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.benchmarks) != 1 || len(c.sites) != 1 || len(c.flavors) != 1 || len(c.schemas) != 1 {
		t.Fatalf("cached %d benchmarks, %d sites, %d flavors, want the result's one of each",
			len(c.benchmarks), len(c.sites), len(c.flavors))
	}
	if b := c.benchmarks[testBenchmark]; b.Status != perf.OnReview {
		t.Errorf("the result's benchmark: %+v", b)
	}
	page, err := st.ListResults(ctx, perf.ResultFilter{}, nil, perf.Page{Number: 1, PerPage: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].Flavor.ID != testFlavor || page.Items[0].Flavor.Status != perf.OnReview {
		t.Fatalf("page: %+v, %v", page, err)
	}
}
