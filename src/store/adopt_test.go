package store_test

import (
	"context"
	"database/sql"
	"flag"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/pgtest/upstream123"
	"github.com/eosc-perf/api/src/store"
)

var updateFingerprint = flag.Bool("update-fingerprint", false, "rewrite upstream-1.2.3.fingerprint from the fixture")

// upstreamDSN returns a new database holding the 1.2.3 fixture, restored
// from one of its forms the way an operator would: the INSERT-only dump
// through a SQL driver, the plain pg_dump through psql, both as the
// database's owner.
func upstreamDSN(t *testing.T, form string) string {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	switch form {
	case upstream123.InsertsFile:
		pgtest.ExecScript(t, dsn, upstream123.Read(form))
	case upstream123.DumpFile:
		pgtest.Psql(t, dsn, upstream123.Read(form))
	default:
		t.Fatalf("unknown fixture form %s", form)
	}
	return dsn
}

// withoutGoose is a full dump without goose's table, to compare a database
// with what it was before eosc-perf-api touched it: its lines sorted, since
// an UPDATE moves a row and pg_dump writes rows in their physical order.
func withoutGoose(t *testing.T, dsn string) string {
	t.Helper()
	dump := pgtest.Client(t, "pg_dump", dsn, "--no-owner", "--no-privileges", "--inserts",
		"--rows-per-insert=1", "--exclude-table=goose_db_version", "--exclude-table=goose_db_version_id_seq")
	lines := strings.Split(dump, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "\\restrict") || strings.HasPrefix(l, "\\unrestrict") })
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// The fingerprint that recognises 1.2.3's schema is the fixture's, and our
// migration 1 produces exactly that schema.
func TestUpstreamFingerprint(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	db := freshPool(t, upstreamDSN(t, upstream123.InsertsFile))
	got, err := store.Fingerprint(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if *updateFingerprint {
		if err := os.WriteFile("upstream-1.2.3.fingerprint", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got != store.UpstreamFingerprint() {
		t.Errorf("fixture fingerprint differs from the embedded one:\n%s", got)
	}
	if !strings.Contains(got, "table alembic_version") || strings.Count(got, "\nindex ") != 14 {
		t.Errorf("fingerprint misses alembic_version or has not 14 indexes:\n%s", got)
	}
}

// A database we create carries 1.2.3's alembic_version row, and migrating
// it down to the baseline leaves exactly 1.2.3's schema (pg_dump, ignoring
// ordering).
func TestBaselineIsUpstreamSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	db := freshPool(t, dsn)
	migrate(t, db, store.MigrateUp)
	var rev string
	if err := db.QueryRowContext(testContext(t), `SELECT version_num FROM alembic_version`).Scan(&rev); err != nil || rev != "112055db4eff" {
		t.Fatalf("alembic_version = %q (%v), want 112055db4eff", rev, err)
	}
	downToBaseline(t, db)
	compareSchema(t, dsn)
	fp, err := store.Fingerprint(testContext(t), db)
	if err != nil || fp != store.UpstreamFingerprint() {
		t.Errorf("fingerprint at the baseline (%v):\n%s\nwant\n%s", err, fp, store.UpstreamFingerprint())
	}
}

// downToBaseline runs migrate down until only migration 1 is applied.
func downToBaseline(t *testing.T, db *sql.DB) {
	t.Helper()
	for range 50 {
		if count(t, db, `SELECT COALESCE(max(version_id), 0) FROM goose_db_version`) <= 1 {
			return
		}
		migrate(t, db, store.MigrateDown)
	}
	t.Fatal("down did not reach the baseline")
}

// compareSchema compares pg_dump --schema-only of dsn (without goose's
// table) with the fixture's schema dump, as sets of statements.
func compareSchema(t *testing.T, dsn string) {
	t.Helper()
	got := upstream123.NormalizeSchemaDump(pgtest.Client(t, "pg_dump", dsn, "--schema-only", "--no-owner",
		"--no-privileges", "--exclude-table=goose_db_version", "--exclude-table=goose_db_version_id_seq"))
	want := upstream123.NormalizeSchemaDump(upstream123.Read(upstream123.SchemaFile))
	if len(want) != 41 { // the enum, 10 tables, 14 primary keys and unique constraints, 16 foreign keys
		t.Fatalf("the fixture's schema has %d statements, want 41", len(want))
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("schema differs from 1.2.3's\n--- got\n%s\n--- want\n%s", strings.Join(got, ""), strings.Join(want, ""))
	}
}

// Adoption of each form of the fixture: baseline recorded, the rest applied
// in one go, claims linked from 1.2.3's result._claim_report_id, hidden
// results without a claim kept hidden for good, nothing of 1.2.3's changed;
// down to the baseline gives back 1.2.3's schema and data exactly, and down
// refuses to go below it.
func TestAdoptUpstream(t *testing.T) {
	t.Parallel()
	for _, form := range []string{upstream123.InsertsFile, upstream123.DumpFile} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			dsn := upstreamDSN(t, form)
			before := withoutGoose(t, dsn)
			db := freshPool(t, dsn)
			out := migrate(t, db, store.MigrateUp)
			if !strings.Contains(out, "adopting the database of EOSC Performance API 1.2.3") || !strings.Contains(out, "no migration pending") {
				t.Errorf("up printed:\n%s\nwant the adoption and nothing left pending", out)
			}
			if !schemaCurrent(t, db) {
				t.Error("SchemaCurrent after adoption = false")
			}
			if n := count(t, db, `SELECT count(*) FROM goose_db_version WHERE version_id = 1`); n != 1 {
				t.Errorf("baseline recorded %d times", n)
			}
			if n := count(t, db, `SELECT count(*) FROM alembic_version WHERE version_num = '112055db4eff'`); n != 1 {
				t.Error("alembic_version lost its row")
			}
			links := map[string]string{ // claim -> result, from result._claim_report_id
				"87b9cfb8-d795-4100-bb1e-151b8d8c96ba": "7f7fc9ae-171d-4ba3-b0e3-c6877fe9d515",
				"429b4ab5-43ee-4276-8ad5-593c64626b26": "5d8a7625-a917-49b2-a75d-e3ec2b55d522",
			}
			for claim, result := range links {
				if n := count(t, db, `SELECT count(*) FROM claim WHERE id = $1 AND result_id = $2`, claim, result); n != 1 {
					t.Errorf("claim %s not linked to result %s", claim, result)
				}
			}
			if got := count(t, db, `SELECT count(*) FROM result WHERE deleted_by_admin`); got != 2 {
				t.Errorf("%d results deleted for good, want 2 (admin-deleted, claim rejected by 1.2.3)", got)
			}
			for _, id := range []string{"8e153cd5", "fef7fad0"} {
				if n := count(t, db, `SELECT count(*) FROM result WHERE deleted_by_admin AND id::text LIKE $1 || '%'`, id); n != 1 {
					t.Errorf("result %s… not kept hidden for good", id)
				}
			}
			if out := migrate(t, db, store.MigrateUp); !strings.Contains(out, "no migration pending") {
				t.Errorf("second up printed %q", out)
			}
			// The adopted schema is the one we create on an empty database.
			fresh := freshDB(t)
			migrate(t, fresh, store.MigrateUp)
			want, err := store.Fingerprint(testContext(t), fresh)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := store.Fingerprint(testContext(t), db); err != nil || got != want {
				t.Errorf("adopted schema (%v):\n%s\ndiffers from a fresh one:\n%s", err, got, want)
			}

			downToBaseline(t, db)
			compareSchema(t, dsn)
			if after := withoutGoose(t, dsn); after != before {
				t.Error("down to the baseline did not give back 1.2.3's database exactly (schema and rows)")
			}
			err = store.Migrate(testContext(t), db, store.MigrateDown, nil)
			if err == nil || !strings.Contains(err.Error(), "drop its tables with their data") {
				t.Errorf("down below the baseline with data = %v, want a refusal", err)
			}
			// Up again adopts nothing new: goose's table records the baseline.
			if out := migrate(t, db, store.MigrateUp); strings.Contains(out, "adopting") {
				t.Errorf("up after down adopted again:\n%s", out)
			}
		})
	}
}

// Databases that are neither empty, ours nor 1.2.3's unchanged are refused
// before any change: the message names what was found, and a dump after
// the attempt equals the one before.
func TestAdoptRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		upstr   bool // start from the fixture
		change  string
		wantErr []string
	}{
		{"initial alembic revision", true,
			`ALTER TABLE benchmark DROP COLUMN url; UPDATE alembic_version SET version_num = '7fc773c5907d'`,
			[]string{"alembic_version is 7fc773c5907d", "Start EOSC Performance API 1.2.3 once"}},
		{"unknown alembic revision", true, `UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'`,
			[]string{`alembic_version holds "a1b2c3d4e5f6"`, "112055db4eff"}},
		{"no alembic revision", true, `DELETE FROM alembic_version`,
			[]string{"alembic_version holds nothing"}},
		{"half-adopted: our column and index without goose's table", true,
			`ALTER TABLE claim ADD COLUMN result_id uuid; CREATE INDEX claim_result_id_idx ON claim (result_id)`,
			[]string{"not 1.2.3's", "claim_result_id_idx", "half-adopted"}},
		{"half-adopted: goose's table without the baseline next to a changed schema", true,
			`CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
				version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now());
			 INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true);
			 CREATE INDEX result_json_idx ON result USING gin (json jsonb_path_ops)`,
			[]string{"result_json_idx", "goose_db_version exists without the baseline"}},
		{"foreign tables", false, `CREATE TABLE accounts (id int PRIMARY KEY); CREATE TABLE orders (id int)`,
			[]string{`"accounts", "orders"`, "neither eosc-perf-api nor EOSC Performance API 1.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dsn string
			if tt.upstr {
				dsn = upstreamDSN(t, upstream123.InsertsFile)
			} else {
				dsn = pgtest.NewDatabase(t)
			}
			pgtest.ExecScript(t, dsn, tt.change)
			before := pgtest.Dump(t, dsn)
			err := store.Migrate(testContext(t), freshPool(t, dsn), store.MigrateUp, nil)
			if err == nil {
				t.Fatal("migrate up succeeded, want a refusal")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if after := pgtest.Dump(t, dsn); after != before {
				t.Error("the refused database changed")
			}
		})
	}
}

// A failure during adoption (here: the role may not create pg_trgm) rolls
// the whole adoption back: the database is as it was, without goose's table.
func TestAdoptionIsOneTransaction(t *testing.T) {
	t.Parallel()
	dsn := upstreamDSN(t, upstream123.InsertsFile)
	role := dbRole(t, dsn)
	super := superOn(t, dsn)
	if _, err := super.ExecContext(testContext(t), "REVOKE CREATE ON DATABASE "+role+" FROM "+role); err != nil {
		t.Fatal(err)
	}
	before := pgtest.Dump(t, dsn)
	err := store.Migrate(testContext(t), freshPool(t, dsn), store.MigrateUp, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("migrate up = %v, want the failed adoption", err)
	}
	if after := pgtest.Dump(t, dsn); after != before {
		t.Error("a failed adoption changed the database")
	}
}

// Replicas that start together on a 1.2.3 database adopt it once.
func TestConcurrentAdoptionAdoptsOnce(t *testing.T) {
	t.Parallel()
	dsn := upstreamDSN(t, upstream123.InsertsFile)
	const replicas = 3
	outs := make([]strings.Builder, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		db := freshPool(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.Migrate(context.Background(), db, store.MigrateUp, &outs[i])
		}()
	}
	wg.Wait()
	adopted := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		if strings.Contains(outs[i].String(), "adopting") {
			adopted++
		}
	}
	if adopted != 1 {
		t.Errorf("%d replicas adopted, want 1", adopted)
	}
	db := freshPool(t, dsn)
	if n := count(t, db, `SELECT count(*) FROM goose_db_version WHERE version_id = 1`); n != 1 {
		t.Errorf("baseline recorded %d times, want once", n)
	}
}

// dbRole is the owner role of a pgtest database (named after it).
func dbRole(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// superOn connects as the cluster's superuser to the database of dsn.
func superOn(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	u, err := url.Parse(pgtest.Shared(t).SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbRole(t, dsn)
	return freshPool(t, u.String())
}

// goose's table left empty next to 1.2.3's unchanged schema (an earlier
// eosc-perf-api failed on its first migration there) does not stop the
// adoption.
func TestAdoptWithLeftoverGooseTable(t *testing.T) {
	t.Parallel()
	dsn := upstreamDSN(t, upstream123.InsertsFile)
	pgtest.ExecScript(t, dsn, `CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now());
		INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)`)
	db := freshPool(t, dsn)
	if out := migrate(t, db, store.MigrateUp); !strings.Contains(out, "adopting") {
		t.Errorf("up printed:\n%s\nwant the adoption", out)
	}
	if n := count(t, db, `SELECT count(*) FROM goose_db_version WHERE version_id IN (0, 1)`); n != 2 || !schemaCurrent(t, db) {
		t.Errorf("versions 0 and 1 recorded %d times in all, want once each, and the schema current", n)
	}
}
