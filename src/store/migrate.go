package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path"
	"text/tabwriter"
	"time"

	"github.com/eosc-perf/api/migrations"
	"github.com/pressly/goose/v3"
)

// versionTable is goose's bookkeeping table (its default name). Upstream's
// Alembic keeps alembic_version; the two never collide.
const versionTable = goose.DefaultTablename

// Migration directions accepted by Migrate.
const (
	MigrateUp     = "up"     // apply every pending migration
	MigrateDown   = "down"   // roll back the most recent migration
	MigrateStatus = "status" // list the migrations and when each was applied
)

// newProvider builds a goose provider over the embedded migrations. Up and
// down hold a PostgreSQL session advisory lock, so replicas that start
// together migrate one after another: the first applies, the others find
// nothing pending. goose's own logging is off; Migrate reports to its
// writer instead.
func newProvider(db *sql.DB) (*goose.Provider, error) {
	locker, err := newLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithLogger(goose.NopLogger()),
		goose.WithVerbose(false),
		// Only the SQL files count, never Go migrations some other package
		// might register globally.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate runs the schema migrations in direction: MigrateUp applies every
// pending one, MigrateDown rolls back the most recent one, MigrateStatus
// lists each migration with its state and the time it was applied. Progress
// and the status table go to out (nil discards them). Errors are plain
// errors for the command line and the start-up log, not perf errors.
func Migrate(ctx context.Context, db *sql.DB, direction string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	p, err := newProvider(db)
	if err != nil {
		return err
	}
	switch direction {
	case MigrateUp:
		if err := prepareUp(ctx, db, p, out); err != nil {
			return err
		}
		return migrateUp(ctx, p, out)
	case MigrateDown:
		return migrateDown(ctx, db, p, out)
	case MigrateStatus:
		return migrateStatus(ctx, db, p, out)
	default:
		return fmt.Errorf("store: unknown migration direction %q (want %s, %s or %s)",
			direction, MigrateUp, MigrateDown, MigrateStatus)
	}
}

func migrateUp(ctx context.Context, p *goose.Provider, out io.Writer) error {
	results, err := p.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		printResults(out, partial.Applied)
		return fmt.Errorf("store: migrate up: %s: %w", path.Base(partial.Failed.Source.Path), partial.Err)
	}
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	printResults(out, results)
	current, _, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	if len(results) == 0 {
		fmt.Fprintf(out, "no migration pending; schema version %d\n", current)
	} else {
		fmt.Fprintf(out, "schema version %d\n", current)
	}
	return nil
}

func migrateDown(ctx context.Context, db *sql.DB, p *goose.Provider, out io.Writer) error {
	// goose would create its table to find nothing to roll back: on a
	// database of 1.2.3 (or an empty one) down must change nothing.
	exists, err := versionTableExists(ctx, db)
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	if !exists {
		return errors.New("store: migrate down: no migration is applied")
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	if current == baselineVersion {
		// Below the baseline lies an empty database: refuse to drop data.
		var data bool
		err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM "user") OR EXISTS (SELECT 1 FROM tag)
			OR EXISTS (SELECT 1 FROM submit)`).Scan(&data)
		if err != nil {
			return fmt.Errorf("store: migrate down: %w", err)
		}
		if data {
			return errors.New("store: migrate down: the schema is at the baseline, 00001_initial.sql, the schema of " +
				"EOSC Performance API 1.2.3, which EOSC Performance API 1.2.3 can run on; rolling it back would drop its tables " +
				"with their data, so it is rolled back only on a database without data (drop the database instead)")
		}
	}
	result, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return errors.New("store: migrate down: no migration is applied")
	}
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		return fmt.Errorf("store: migrate down: %s: %w", path.Base(partial.Failed.Source.Path), partial.Err)
	}
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	printResults(out, []*goose.MigrationResult{result})
	return nil
}

// migrateStatus prints one line per migration. On a database never migrated
// it reports everything pending without creating goose's table, so that a
// status check changes nothing.
func migrateStatus(ctx context.Context, db *sql.DB, p *goose.Provider, out io.Writer) error {
	var statuses []*goose.MigrationStatus
	exists, err := versionTableExists(ctx, db)
	if err != nil {
		return fmt.Errorf("store: migrate status: %w", err)
	}
	if exists {
		if statuses, err = p.Status(ctx); err != nil {
			return fmt.Errorf("store: migrate status: %w", err)
		}
	} else {
		for _, s := range p.ListSources() {
			statuses = append(statuses, &goose.MigrationStatus{Source: s, State: goose.StatePending})
		}
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT\tMIGRATION")
	for _, s := range statuses {
		applied := "-"
		if s.State == goose.StateApplied {
			// goose stores now() as a timestamp without time zone, in the
			// session's time zone: print it as stored, without a zone label.
			applied = s.AppliedAt.Format(time.DateTime)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, applied, path.Base(s.Source.Path))
	}
	return w.Flush()
}

// printResults writes goose's one-line summary of each migration run.
func printResults(out io.Writer, results []*goose.MigrationResult) {
	for _, r := range results {
		fmt.Fprintln(out, r.String())
	}
}

// SchemaCurrent reports whether every migration is applied, for the
// readiness probe: a replica whose schema is behind must not serve. It
// takes no lock (a probe must not wait behind a running migration, which
// simply reads as "not current yet") and creates nothing: on a database
// never migrated it answers false.
func SchemaCurrent(ctx context.Context, db *sql.DB) (bool, error) {
	exists, err := versionTableExists(ctx, db)
	if err != nil || !exists {
		return false, err
	}
	p, err := newProvider(db)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("store: schema check: %w", err)
	}
	return !pending, nil
}

// versionTableExists looks for goose's table where goose looks: in the
// current schema.
func versionTableExists(ctx context.Context, db *sql.DB) (bool, error) {
	var exists bool
	err := db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1)`,
		versionTable).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("store: look for %s: %w", versionTable, err)
	}
	return exists, nil
}
