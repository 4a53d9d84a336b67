package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosc-perf/api/migrations"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/store"
)

// TestMain gives every test of package store_test the shared throwaway
// cluster of pgtest (one per test binary, stopped at the end).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// freshDB returns a pool on a new empty database owned by a plain role.
func freshDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// migrate runs store.Migrate and fails the test on error; it returns what
// was written to out.
func migrate(t *testing.T, db *sql.DB, direction string) string {
	t.Helper()
	var out bytes.Buffer
	if err := store.Migrate(testContext(t), db, direction, &out); err != nil {
		t.Fatalf("Migrate(%s): %v\n%s", direction, err, out.String())
	}
	return out.String()
}

func schemaCurrent(t *testing.T, db *sql.DB) bool {
	t.Helper()
	ok, err := store.SchemaCurrent(testContext(t), db)
	if err != nil {
		t.Fatalf("SchemaCurrent: %v", err)
	}
	return ok
}

// count runs a count query.
func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(testContext(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// ourObjects counts what the migration creates: tables other than goose's,
// the enum type and the pg_trgm extension.
// wantObjects is what ourObjects counts on a current schema: 15 tables
// (alembic_version among them; result_leaf, result_count and
// catalog_version from 00011; personal_access_token from 00012;
// result_leaf_pending from 00013), the enum and the extension.
const wantObjects = 17

func ourObjects(t *testing.T, db *sql.DB) int {
	return count(t, db, `SELECT
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version')
		+ (SELECT count(*) FROM pg_type WHERE typname = 'resourcestatus')
		+ (SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm')`)
}

// appliedLine is the status line of an applied 00001_initial.sql.
var appliedLine = regexp.MustCompile(`(?m)^1 +applied +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +00001_initial\.sql$`)

func TestMigrateUpDownUpOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	if schemaCurrent(t, db) {
		t.Fatal("SchemaCurrent on an empty database = true, want false")
	}
	status := migrate(t, db, store.MigrateStatus)
	if !strings.Contains(status, "pending") || !strings.Contains(status, "00001_initial.sql") {
		t.Errorf("status before up:\n%s\nwant 00001_initial.sql pending", status)
	}
	if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'goose_db_version'`); n != 0 {
		t.Error("status created goose_db_version, want no change to the database")
	}

	for round := 1; round <= 2; round++ {
		out := migrate(t, db, store.MigrateUp)
		if !strings.Contains(out, "OK") || !strings.Contains(out, "00001_initial.sql") {
			t.Errorf("round %d: up printed %q, want the applied migration", round, out)
		}
		if n := ourObjects(t, db); n != wantObjects {
			t.Errorf("round %d: %d objects after up, want %d", round, n, wantObjects)
		}
		if !schemaCurrent(t, db) {
			t.Errorf("round %d: SchemaCurrent after up = false, want true", round)
		}
		if out := migrate(t, db, store.MigrateUp); !strings.Contains(out, "no migration pending") {
			t.Errorf("round %d: second up printed %q, want nothing to do", round, out)
		}
		status := migrate(t, db, store.MigrateStatus)
		if !appliedLine.MatchString(status) {
			t.Errorf("round %d: status after up:\n%s\nwant applied with its time", round, status)
		}

		out = downAll(t, db)
		if !strings.Contains(out, "down") || !strings.Contains(out, "00001_initial.sql") {
			t.Errorf("round %d: down printed %q, want the rolled back migration", round, out)
		}
		if n := ourObjects(t, db); n != 0 {
			t.Errorf("round %d: %d objects left after down, want 0", round, n)
		}
		if schemaCurrent(t, db) {
			t.Errorf("round %d: SchemaCurrent after down = true, want false", round)
		}
	}
}

func TestMigrateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		direction string
		wantErr   string
	}{
		{"unknown direction is an error", "sideways", "unknown migration direction"},
		{"down with nothing applied is an error", store.MigrateDown, "no migration is applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := freshDB(t)
			err := store.Migrate(testContext(t), db, tt.direction, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Migrate(%q) = %v, want an error with %q", tt.direction, err, tt.wantErr)
			}
		})
	}
}

// Replicas that start together migrate the same database at once.
func TestConcurrentMigrateUpAppliesOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	const replicas = 3
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		db, err := sql.Open("postgres", dsn) // a pool per replica
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.Migrate(testContext(t), db, store.MigrateUp, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	db := freshPool(t, dsn)
	if n := count(t, db, `SELECT count(*) FROM goose_db_version WHERE version_id = 1`); n != 1 {
		t.Errorf("migration 1 recorded %d times, want once", n)
	}
	if n := ourObjects(t, db); n != wantObjects {
		t.Errorf("%d objects after concurrent up, want %d", n, wantObjects)
	}
	if !schemaCurrent(t, db) {
		t.Error("SchemaCurrent after concurrent up = false, want true")
	}
}

func freshPool(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The migration must work for the database owner of a production setup,
// who is not superuser: it creates pg_trgm itself (a trusted extension).
func TestMigrateRunsAsPlainOwner(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	migrate(t, db, store.MigrateUp)
	var super bool
	var extOwner, tableOwner, user string
	err := db.QueryRowContext(testContext(t), `SELECT current_user,
		(SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
		(SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_trgm'),
		(SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'result')`).
		Scan(&user, &super, &extOwner, &tableOwner)
	if err != nil {
		t.Fatal(err)
	}
	if super || extOwner != user || tableOwner != user {
		t.Errorf("role %s superuser=%v, pg_trgm owner %s, result owner %s; want a plain role owning both",
			user, super, extOwner, tableOwner)
	}
}

// An extension the administrator installed beforehand is used, also by an
// owner without CREATE on the database, and left in place by down.
func TestMigrateKeepsExtensionInstalledByAdministrator(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(pgtest.Shared(t).SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	owner, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = owner.Path // the superuser on the test's database
	admin := freshPool(t, u.String())
	role := strings.TrimPrefix(owner.Path, "/") // pgtest names the role after the database
	for _, stmt := range []string{
		"CREATE EXTENSION pg_trgm",
		"REVOKE CREATE ON DATABASE " + role + " FROM " + role,
	} {
		if _, err := admin.ExecContext(testContext(t), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db := freshPool(t, dsn)
	migrate(t, db, store.MigrateUp)
	downAll(t, db)
	if n := count(t, db, `SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'`); n != 1 {
		t.Error("down dropped the administrator's pg_trgm, want it kept")
	}
	if n := ourObjects(t, db); n != 1 {
		t.Errorf("%d objects after down, want only the extension", n)
	}
	migrate(t, db, store.MigrateUp)
}

// The schema must be upstream's, column for column, so that a database of
// the Flask service can be adopted; claim.result_id and
// result.deleted_by_admin are the additions.
func TestSchemaHasUpstreamTablesAndColumns(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	migrate(t, db, store.MigrateUp)

	columns := map[string]string{
		"user":        "sub,iss,email,registration_datetime",
		"submit":      "id,resource_type,upload_datetime",
		"tag":         "id,name,description",
		"benchmark":   "id,uploader_sub,uploader_iss,upload_datetime,status,docker_image,docker_tag,json_schema,description,_submit_report_id,url",
		"claim":       "id,uploader_sub,uploader_iss,status,message,resource_type,upload_datetime,_submit_report_id,result_id",
		"site":        "id,uploader_sub,uploader_iss,upload_datetime,status,name,address,description,_submit_report_id",
		"flavor":      "id,uploader_sub,uploader_iss,upload_datetime,status,name,description,site_id,_submit_report_id",
		"result":      "deleted,id,uploader_sub,uploader_iss,upload_datetime,json,execution_datetime,benchmark_id,flavor_id,site_id,_claim_report_id,deleted_by_admin",
		"result_tags": "result_id,tag_id",
	}
	for table, want := range columns {
		var got string
		err := db.QueryRowContext(testContext(t), `SELECT coalesce(string_agg(column_name, ',' ORDER BY ordinal_position), '')
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, table).Scan(&got)
		if err != nil || got != want {
			t.Errorf("table %s columns %q (%v), want %q", table, got, err, want)
		}
	}

	types := []struct{ table, column, typ, nullable string }{
		{"user", "registration_datetime", "timestamp without time zone", "NO"},
		{"user", "email", "text", "NO"},
		{"submit", "resource_type", "character varying", "NO"},
		{"benchmark", "json_schema", "json", "NO"},
		{"benchmark", "status", "resourcestatus", "YES"},
		{"benchmark", "url", "text", "NO"},
		{"claim", "result_id", "uuid", "YES"},
		{"result", "json", "jsonb", "NO"},
		{"result", "execution_datetime", "timestamp without time zone", "NO"},
		{"result", "deleted", "boolean", "NO"},
		{"result", "_claim_report_id", "uuid", "YES"},
		{"result_tags", "tag_id", "uuid", "NO"},
	}
	for _, c := range types {
		var typ, nullable string
		err := db.QueryRowContext(testContext(t), `
			SELECT CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END, is_nullable
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`,
			c.table, c.column).Scan(&typ, &nullable)
		if err != nil || typ != c.typ || nullable != c.nullable {
			t.Errorf("%s.%s: %s nullable %s (%v), want %s nullable %s", c.table, c.column, typ, nullable, err, c.typ, c.nullable)
		}
	}

	constraints := map[string]string{
		"user_pkey":                                "PRIMARY KEY (sub, iss)",
		"tag_name_key":                             "UNIQUE (name)",
		"site_name_key":                            "UNIQUE (name)",
		"flavor_site_id_name_key":                  "UNIQUE (site_id, name)",
		"benchmark_docker_image_docker_tag_key":    "UNIQUE (docker_image, docker_tag)",
		"benchmark_uploader_iss_uploader_sub_fkey": `FOREIGN KEY (uploader_iss, uploader_sub) REFERENCES "user"(iss, sub)`,
		"result__claim_report_id_fkey":             "FOREIGN KEY (_claim_report_id) REFERENCES claim(id)",
		"claim_result_id_fkey":                     "FOREIGN KEY (result_id) REFERENCES result(id) ON DELETE SET NULL",
		"result_tags_result_id_fkey":               "FOREIGN KEY (result_id) REFERENCES result(id)",
		"result_tags_tag_id_fkey":                  "FOREIGN KEY (tag_id) REFERENCES tag(id) ON DELETE CASCADE",
	}
	for name, want := range constraints {
		var got string
		err := db.QueryRowContext(testContext(t),
			`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1`, name).Scan(&got)
		if err != nil || got != want {
			t.Errorf("constraint %s: %q (%v), want %q", name, got, err, want)
		}
	}

	var labels string
	if err := db.QueryRowContext(testContext(t), `SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)
		FROM pg_enum WHERE enumtypid = 'resourcestatus'::regtype`).Scan(&labels); err != nil || labels != "on_review,approved" {
		t.Errorf("resourcestatus labels %q (%v), want on_review,approved", labels, err)
	}
	// 1.2.3 finds its schema at its head and starts without migrating.
	if n := count(t, db, `SELECT count(*) FROM alembic_version WHERE version_num = '112055db4eff'`); n != 1 {
		t.Error("alembic_version lacks 1.2.3's head revision 112055db4eff")
	}
}

func TestSchemaIndexesServeTheQueries(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	migrate(t, db, store.MigrateUp)
	tests := []struct {
		name, query, wantIndex string
	}{
		{"substring search uses the trigram index", `SELECT id FROM site WHERE name LIKE '%abc%'`, "site_name_trgm_idx"},
		{"user search uses the trigram index", `SELECT sub FROM "user" WHERE email LIKE '%abc%'`, "user_email_trgm_idx"},
		{"visible results by execution time use the partial index",
			`SELECT id FROM result WHERE NOT deleted ORDER BY execution_datetime, id LIMIT 10`, "result_visible_execution_datetime_idx"},
		{"uploader's results use the uploader index",
			`SELECT id FROM result WHERE uploader_iss = 'i' AND uploader_sub = 's'`, "result_uploader_idx"},
		{"claims of a result use the result_id index", `SELECT id FROM claim WHERE result_id = '00000000-0000-4000-8000-000000000000'`, "claim_result_id_idx"},
		{"a number filter's ids come from result_leaf_num_idx",
			`SELECT result_id FROM result_leaf WHERE path = '{a,b}' AND num > 5`, "result_leaf_num_idx"},
		{"a string filter's ids come from result_leaf_txt_idx",
			`SELECT result_id FROM result_leaf WHERE path = '{a,b}' AND txt = 'x'`, "result_leaf_txt_idx"},
		{"recheck rows by path", `SELECT result_id FROM result_leaf WHERE path = '{a}' AND txt IS NULL`, "result_leaf_recheck_idx"},
		{"visibility of matched ids", `SELECT id, execution_datetime FROM result WHERE NOT deleted AND id = '00000000-0000-4000-8000-000000000000'`,
			"result_visible_id_idx"},
	}
	// One connection, so the planner settings apply to every EXPLAIN.
	conn, err := db.Conn(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(testContext(t), "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := conn.QueryContext(testContext(t), "EXPLAIN "+tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan strings.Builder
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(line + "\n")
			}
			if !strings.Contains(plan.String(), tt.wantIndex) {
				t.Errorf("plan does not use %s:\n%s", tt.wantIndex, plan.String())
			}
		})
	}
}

// downAll rolls back every migration, one step at a time, and returns what
// the steps printed.
func downAll(t *testing.T, db *sql.DB) string {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	var out strings.Builder
	for range files {
		out.WriteString(migrate(t, db, store.MigrateDown))
	}
	return out.String()
}
