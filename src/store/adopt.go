package store

import (
	"bufio"
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/eosc-perf/api/migrations"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Adoption of a database made by EOSC Performance API 1.2.3 (DESIGN.md §7).
// Migration 1 (00001_initial.sql) is exactly 1.2.3's schema at its last
// Alembic revision, alembic_version row included. Before goose runs, Migrate
// looks at the database under goose's advisory lock and sorts it into one
// of: empty, ours (goose's table records the baseline), 1.2.3's (adopted
// here) or anything else (refused before any change).

// upstreamRevision is the Alembic head of 1.2.3 ("Add benchmark URL"), and
// upstreamInitialRevision its parent, the only other revision 1.2.3 knows.
const (
	upstreamRevision        = "112055db4eff"
	upstreamInitialRevision = "7fc773c5907d"
	baselineVersion         = 1
)

// upstreamFingerprint is the schema fingerprint (see schemaFingerprint) of
// a database at 1.2.3's head: the same for one 1.2.3 made and one our
// migration 1 made (both checked by the tests).
//
//go:embed upstream-1.2.3.fingerprint
var upstreamFingerprint string

// schemaKind is what inspect found.
type schemaKind int

const (
	schemaEmpty    schemaKind = iota // nothing in the schema: goose creates everything
	schemaOurs                       // goose's table records the baseline
	schemaUpstream                   // 1.2.3's schema at its head, unchanged: adopt
)

// refusal is the error for a database Migrate will not touch. Its text
// names what was found and what to do.
type refusal struct{ found, todo string }

func (r *refusal) Error() string {
	return "store: migrate: refusing to change this database: " + r.found + ". " + r.todo
}

// inspect sorts the database of conn (its current schema) into a kind, or
// returns a *refusal. It changes nothing.
func inspect(ctx context.Context, conn *sql.Conn) (schemaKind, error) {
	tables, err := queryStrings(ctx, conn, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
		AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		ORDER BY c.relname`)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: inspect the schema: %w", err)
	}

	hasGoose := slices.Contains(tables, versionTable)
	others := slices.DeleteFunc(slices.Clone(tables), func(t string) bool { return t == versionTable })
	if hasGoose {
		var current int64
		err := conn.QueryRowContext(ctx, `SELECT COALESCE(max(version_id), 0) FROM `+versionTable).Scan(&current)
		if err != nil {
			return 0, fmt.Errorf("store: migrate: read %s: %w", versionTable, err)
		}
		if current >= baselineVersion {
			return schemaOurs, nil
		}
		if len(others) == 0 {
			return schemaEmpty, nil
		}
		// goose's table without the baseline next to other tables: left
		// behind by a run that failed, or made by hand. Adopt only when
		// the rest is 1.2.3's schema unchanged.
	} else if len(others) == 0 {
		return schemaEmpty, nil
	}

	if !slices.Contains(others, "alembic_version") {
		return 0, &refusal{
			found: fmt.Sprintf("its schema holds %s, which neither eosc-perf-api nor EOSC Performance API 1.2.3 made (no alembic_version, no %s)",
				listNames(others), versionTable),
			todo: "Point DB_NAME (or DB_HOST/DB_USER) at the database of 1.2.3 or at an empty database.",
		}
	}
	revisions, err := queryStrings(ctx, conn, `SELECT version_num FROM alembic_version ORDER BY 1`)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: read alembic_version: %w", err)
	}
	switch {
	case len(revisions) == 1 && revisions[0] == upstreamRevision:
	case len(revisions) == 1 && revisions[0] == upstreamInitialRevision:
		return 0, &refusal{
			found: fmt.Sprintf("alembic_version is %s, the initial revision of EOSC Performance API 1.2.3, one before its head %s (\"Add benchmark URL\")",
				upstreamInitialRevision, upstreamRevision),
			todo: "Start EOSC Performance API 1.2.3 once on this database (it upgrades its schema to " + upstreamRevision +
				" at start), stop it, then run eosc-perf-api migrate up again.",
		}
	default:
		return 0, &refusal{
			found: fmt.Sprintf("alembic_version holds %s; eosc-perf-api adopts only the schema of EOSC Performance API 1.2.3, alembic revision %s",
				listNames(revisions), upstreamRevision),
			todo: "Bring the database to 1.2.3's schema with the eosc-perf-backend release that made it (or restore a backup taken under 1.2.3), then run eosc-perf-api migrate up again.",
		}
	}

	got, err := schemaFingerprint(ctx, conn)
	if err != nil {
		return 0, err
	}
	if diff := fingerprintDiff(upstreamFingerprint, got); diff != "" {
		found := "alembic_version is " + upstreamRevision + " (EOSC Performance API 1.2.3) but the schema is not 1.2.3's: " + diff
		if hasGoose {
			found += fmt.Sprintf("; %s exists without the baseline", versionTable)
		}
		return 0, &refusal{
			found: found,
			todo: "It looks half-adopted or changed by hand. Restore the backup taken before eosc-perf-api first ran on it " +
				"(or undo the listed changes), then run eosc-perf-api migrate up again.",
		}
	}
	return schemaUpstream, nil
}

// listNames quotes names for a message, at most eight of them.
func listNames(names []string) string {
	const most = 8
	quoted := make([]string, 0, min(len(names), most)+1)
	for i, n := range names {
		if i == most {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(names)-most))
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	if len(quoted) == 0 {
		return "nothing"
	}
	return strings.Join(quoted, ", ")
}

// schemaFingerprint describes the current schema, one sorted line per
// object: every column of every table (position, type, nullability,
// default), constraint, index, trigger, function and enum type, and the
// extensions installed in it. Two databases with the same fingerprint have
// the same layout as far as 1.2.3's ORM and our migrations are concerned.
// goose's own table is left out.
func schemaFingerprint(ctx context.Context, conn *sql.Conn) (string, error) {
	lines, err := queryStrings(ctx, conn, `
		WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema()),
		rel AS (SELECT c.oid, c.relname FROM pg_class c, ns
			WHERE c.relnamespace = ns.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> $1)
		SELECT 'column ' || r.relname || ' ' || row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum) || ' ' ||
			a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
			CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
			COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
		FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
		UNION ALL
		SELECT 'constraint ' || r.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
		FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
		UNION ALL
		SELECT 'index ' || r.relname || ' ' || i.relname
		FROM rel r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid
		UNION ALL
		SELECT 'trigger ' || r.relname || ' ' || t.tgname
		FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
		UNION ALL
		SELECT 'function ' || p.proname FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
		UNION ALL
		SELECT 'type ' || t.typname || ' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
			FROM pg_enum e WHERE e.enumtypid = t.oid)
		FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typtype = 'e'
		UNION ALL
		SELECT 'sequence ' || c.relname FROM pg_class c, ns
		WHERE c.relnamespace = ns.oid AND c.relkind = 'S' AND c.relname <> $1 || '_id_seq'
		UNION ALL
		SELECT 'table ' || r.relname FROM rel r
		ORDER BY 1`, versionTable)
	if err != nil {
		return "", fmt.Errorf("store: migrate: inspect the schema: %w", err)
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// queryStrings returns the one text column of every row of q.
func queryStrings(ctx context.Context, conn *sql.Conn, q string, args ...any) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// fingerprintDiff lists what got has that want lacks and the reverse, for
// a message (at most a few lines of each), or "" when they are equal.
func fingerprintDiff(want, got string) string {
	lines := func(s string) []string {
		var out []string
		sc := bufio.NewScanner(strings.NewReader(s))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	w, g := lines(want), lines(got)
	var extra, missing []string
	for _, l := range g {
		if !slices.Contains(w, l) {
			extra = append(extra, l)
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			missing = append(missing, l)
		}
	}
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, "not in 1.2.3: "+listNames(extra))
	}
	if len(missing) > 0 {
		parts = append(parts, "missing: "+listNames(missing))
	}
	return strings.Join(parts, "; ")
}

// newLocker is goose's session locker: the advisory lock that serialises
// migration runs of every replica (default lock id).
func newLocker() (lock.SessionLocker, error) {
	// Wait for the lock up to 10 min (a long migration of another replica),
	// polling every second; the caller's context may end the wait sooner.
	l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600), lock.WithUnlockTimeout(1, 60))
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return l, nil
}

// prepareUp runs before goose's Up, under the advisory lock: it refuses a
// database it must not touch and adopts a 1.2.3 database. Goose then
// applies whatever is still pending (nothing, after an adoption, unless a
// migration must run outside a transaction).
func prepareUp(ctx context.Context, db *sql.DB, p *goose.Provider, out io.Writer) (err error) {
	locker, err := newLocker()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	defer conn.Close()
	if err := locker.SessionLock(ctx, conn); err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	defer func() {
		if uerr := locker.SessionUnlock(context.WithoutCancel(ctx), conn); uerr != nil && err == nil {
			err = fmt.Errorf("store: migrate up: %w", uerr)
		}
	}()
	kind, err := inspect(ctx, conn)
	if err != nil || kind != schemaUpstream {
		return err
	}
	return adopt(ctx, conn, p, out)
}

// adopt takes over a 1.2.3 database in one transaction: it records the
// baseline (migration 1, whose schema the database has) in goose's table
// and runs the Up section of every later migration, in order, up to the
// first that must run outside a transaction (goose runs that one and the
// rest). A failure rolls everything back: the database stays as it was.
func adopt(ctx context.Context, conn *sql.Conn, p *goose.Provider, out io.Writer) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: adopt: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + versionTable + ` (
			id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
			version_id bigint NOT NULL,
			is_applied boolean NOT NULL,
			tstamp timestamp NOT NULL DEFAULT now())`,
		// goose's own marker of an initialised table, then the baseline.
		`INSERT INTO ` + versionTable + ` (version_id, is_applied)
			SELECT 0, true WHERE NOT EXISTS (SELECT 1 FROM ` + versionTable + ` WHERE version_id = 0)`,
		fmt.Sprintf(`INSERT INTO %s (version_id, is_applied) VALUES (%d, true)`, versionTable, baselineVersion),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: adopt: record the baseline: %w", err)
		}
	}
	fmt.Fprintf(out, "adopting the database of EOSC Performance API 1.2.3 (alembic revision %s): baseline %s recorded\n",
		upstreamRevision, "00001_initial.sql")
	var applied []string
	for _, src := range p.ListSources() {
		if src.Version <= baselineVersion {
			continue
		}
		name := path.Base(src.Path)
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return fmt.Errorf("store: adopt: %s: %w", name, err)
		}
		up, inTx, err := upSection(string(body))
		if err != nil {
			return fmt.Errorf("store: adopt: %s: %w", name, err)
		}
		if !inTx {
			break
		}
		// Without arguments lib/pq sends the text as one simple query, which
		// may hold several statements and dollar-quoted bodies.
		if _, err := tx.ExecContext(ctx, up); err != nil {
			return fmt.Errorf("store: adopt: %s: %w (nothing was changed)", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES ($1, true)`, src.Version); err != nil {
			return fmt.Errorf("store: adopt: record %s: %w", name, err)
		}
		applied = append(applied, name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: adopt: commit: %w (nothing was changed)", err)
	}
	for _, name := range applied {
		fmt.Fprintf(out, "OK   %s (adoption)\n", name)
	}
	fmt.Fprintf(out, "adopted in one transaction: %d migrations applied after the baseline\n", len(applied))
	return nil
}

// upSection returns the SQL between "-- +goose Up" and "-- +goose Down",
// and whether the migration runs in a transaction (no "-- +goose NO
// TRANSACTION"). The goose annotations left in it are SQL comments.
func upSection(text string) (string, bool, error) {
	var b strings.Builder
	inUp, seenUp, inTx := false, false, true
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch ann := strings.TrimSpace(line); {
		case strings.HasPrefix(ann, "-- +goose NO TRANSACTION"):
			inTx = false
		case strings.HasPrefix(ann, "-- +goose Up"):
			inUp, seenUp = true, true
			continue
		case strings.HasPrefix(ann, "-- +goose Down"):
			inUp = false
		}
		if inUp {
			b.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, err
	}
	if !seenUp {
		return "", false, errors.New("no -- +goose Up section")
	}
	return b.String(), inTx, nil
}
