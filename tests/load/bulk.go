package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// dataset is what bulkLoad stored.
type dataset struct {
	IDs      []uuid.UUID // every loaded result, hidden ones too
	Visible  int
	TagLinks int
	Phases   string // how long the load's phases took
}

// Shape of the generated data.
const (
	executionSpan = 3 * 365 * 24 * time.Hour // execution times spread over three years
	uploadLag     = 30 * 24 * time.Hour      // uploaded up to a month after running
	tagChance     = 0.2                      // each tag, independently
	deletedChance = 0.01                     // soft-deleted results
)

// bulkLoad inserts n results in one transaction with COPY (results, then
// their tags, then their leaves), then runs VACUUM ANALYZE so that the planner has statistics
// and the visibility map is set, as autovacuum would leave a table that
// has settled.
func bulkLoad(ctx context.Context, db *sql.DB, rng *rand.Rand, cat catalog, samples []sample, n int) (dataset, error) {
	ds := dataset{IDs: make([]uuid.UUID, 0, n)}
	now := time.Now().UTC().Truncate(time.Second)
	type link struct{ result, tag uuid.UUID }
	var links []link

	tCopy := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return ds, err
	}
	defer tx.Rollback()
	// The leaves of the new results (migration 00011) are built in one
	// statement after the COPY rather than left pending for the server's
	// background indexer (migration 00013): the same function
	// (result_leaves), so that the measured runs start fully indexed. The
	// secondary indexes of result and result_leaf are dropped for the load
	// and built again at the end (a sort per index instead of an insertion
	// per row): the same indexes, read from pg_indexes.
	if _, err := tx.ExecContext(ctx, `ALTER TABLE result DISABLE TRIGGER result_leaf_defer_insert`); err != nil {
		return ds, err
	}
	rebuild, err := dropIndexes(ctx, tx, "result", "result_leaf")
	if err != nil {
		return ds, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMPORARY TABLE new_ids (id uuid) ON COMMIT DROP`); err != nil {
		return ds, err
	}
	stmt, err := tx.PrepareContext(ctx, `COPY result (id, uploader_sub, uploader_iss, upload_datetime,
		json, execution_datetime, benchmark_id, flavor_id, site_id, deleted) FROM STDIN`)
	if err != nil {
		return ds, err
	}
	for range n {
		id, err := uuid.NewRandomFromReader(rng)
		if err != nil {
			return ds, err
		}
		f := cat.Flavors[rng.Intn(len(cat.Flavors))]
		doc := vary(rng, pick(rng, samples, f.Site.Key, f.Flavor.Cores), f.Flavor.Cores)
		exec := now.Add(-time.Duration(rng.Int63n(int64(executionSpan))))
		upload := exec.Add(time.Duration(rng.Int63n(int64(uploadLag))))
		if upload.After(now) {
			upload = now
		}
		deleted := rng.Float64() < deletedChance
		if _, err := stmt.ExecContext(ctx, id.String(), cat.UserSub, cat.UserIss, upload, string(doc), exec,
			cat.BenchmarkID.String(), f.ID.String(), f.SiteID.String(), deleted); err != nil {
			return ds, fmt.Errorf("copy results: %w", err)
		}
		ds.IDs = append(ds.IDs, id)
		if !deleted {
			ds.Visible++
		}
		for _, t := range cat.Tags {
			if rng.Float64() < tagChance {
				links = append(links, link{id, t})
			}
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return ds, fmt.Errorf("copy results: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return ds, err
	}

	stmt, err = tx.PrepareContext(ctx, `COPY result_tags (result_id, tag_id) FROM STDIN`)
	if err != nil {
		return ds, err
	}
	for _, l := range links {
		if _, err := stmt.ExecContext(ctx, l.result.String(), l.tag.String()); err != nil {
			return ds, fmt.Errorf("copy tags: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return ds, fmt.Errorf("copy tags: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return ds, err
	}
	stmt, err = tx.PrepareContext(ctx, `COPY new_ids (id) FROM STDIN`)
	if err != nil {
		return ds, err
	}
	for _, id := range ds.IDs {
		if _, err := stmt.ExecContext(ctx, id.String()); err != nil {
			return ds, fmt.Errorf("copy ids: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return ds, fmt.Errorf("copy ids: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return ds, err
	}
	tLeaves := time.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO result_leaf (result_id, path, kind, num, txt)
		SELECT r.id, l.path, l.kind, l.num, l.txt FROM new_ids n JOIN result r ON r.id = n.id CROSS JOIN LATERAL result_leaves(r.json) l`); err != nil {
		return ds, fmt.Errorf("result leaves: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE result ENABLE TRIGGER result_leaf_defer_insert`); err != nil {
		return ds, err
	}
	tIndexes := time.Now()
	for _, def := range rebuild {
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return ds, fmt.Errorf("%s: %w", def, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return ds, err
	}
	ds.Phases = fmt.Sprintf("COPY %s, leaves %s, indexes %s", tLeaves.Sub(tCopy).Round(time.Second),
		tIndexes.Sub(tLeaves).Round(time.Second), time.Since(tIndexes).Round(time.Second))
	ds.TagLinks = len(links)
	// VACUUM cannot run inside a transaction; the pool's connection runs
	// it on its own.
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return ds, fmt.Errorf("vacuum analyze: %w", err)
	}
	// A VACUUM that ran while an older snapshot was still open (autovacuum's
	// analyze of a table during the load, say) cannot mark the new rows
	// all-visible, and without the visibility map every count reads the
	// whole heap instead of an index: vacuum again until it is set, as a
	// long-running database's autovacuum would have.
	for try := 0; try < 20; try++ {
		var visible float64
		if err := db.QueryRowContext(ctx, `SELECT relallvisible::float8 / greatest(relpages, 1) FROM pg_class
			WHERE oid = 'result'::regclass`).Scan(&visible); err != nil {
			return ds, fmt.Errorf("visibility map: %w", err)
		}
		if visible >= 0.95 {
			break
		}
		time.Sleep(500 * time.Millisecond)
		if _, err := db.ExecContext(ctx, "VACUUM result, result_tags, result_leaf"); err != nil {
			return ds, fmt.Errorf("vacuum: %w", err)
		}
	}
	return ds, nil
}

// dropIndexes drops the indexes of tables that back no constraint and
// returns the statements that create them again.
func dropIndexes(ctx context.Context, tx *sql.Tx, tables ...string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(quote_ident(i.indexname)))`, pq.Array(tables))
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+pq.QuoteIdentifier(name)); err != nil {
			return nil, err
		}
	}
	return defs, nil
}
