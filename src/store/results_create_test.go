package store

import (
	"context"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// CreateResult validates before taking locks; when the benchmark's schema
// changes between the validation and the insert, the upload is validated
// again, under the locks, against the new schema.
func TestCreateResultRevalidatesWhenTheSchemaChanged(t *testing.T) {
	t.Parallel()
	db := filterDB(t, nil)
	st := &Store{db: sqlx.NewDb(db, "postgres")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bench := uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	n := perf.NewResult{ID: uuid.New(), UploadDatetime: perf.Now(), ExecutionDatetime: perf.Now().Add(-time.Hour), JSON: []byte(`{"a": 1}`),
		BenchmarkID: bench, FlavorID: uuid.MustParse("00000000-0000-0000-0000-00000000000f"),
		Uploader: perf.Uploader{UploaderSub: "s", UploaderIss: "i"}}
	var seen []string
	res, err := st.CreateResult(ctx, n, func(b perf.Benchmark) error {
		seen = append(seen, string(b.JSONSchema))
		if len(seen) == 1 {
			_, err := db.ExecContext(ctx, `UPDATE benchmark SET json_schema = '{"type": "object"}' WHERE id = $1`, bench)
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
