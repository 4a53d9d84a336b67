package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// cascade performs the application-level delete cascades of API.md §6.3
// inside one transaction. Upstream's foreign keys are plain (only
// result_tags.tag_id cascades in the database), so rows that reference
// others are removed, or their references cleared, before what they
// reference. Each step takes a condition on the table it deletes from (SQL
// text written in this package) and its parameter values.
type cascade struct {
	tx  *sqlx.Tx
	err error
}

// exec runs one statement unless an earlier one failed.
func (c *cascade) exec(ctx context.Context, q string, args ...any) {
	if c.err != nil {
		return
	}
	if _, err := c.tx.ExecContext(ctx, q, args...); err != nil {
		c.err = mapError(err, fmt.Sprintf("cascade %.60q", q))
	}
}

// results hard-deletes the results matching cond with their tag links.
// Claims on them stay, unlinked (they lose their resource_id).
func (c *cascade) results(ctx context.Context, cond string, args ...any) {
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS doomed_result (id uuid PRIMARY KEY) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO doomed_result SELECT id FROM result WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	c.exec(ctx, `UPDATE claim SET result_id = NULL WHERE result_id IN (SELECT id FROM doomed_result)`)
	c.exec(ctx, `DELETE FROM result_tags WHERE result_id IN (SELECT id FROM doomed_result)`)
	c.exec(ctx, `DELETE FROM result WHERE id IN (SELECT id FROM doomed_result)`)
}

// claims hard-deletes the claims matching cond with their submits. A
// result hidden by such a claim stays hidden (its link is cleared).
func (c *cascade) claims(ctx context.Context, cond string, args ...any) {
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS doomed_claim (id uuid PRIMARY KEY, submit uuid) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO doomed_claim SELECT id, _submit_report_id FROM claim WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	c.exec(ctx, `UPDATE result SET _claim_report_id = NULL WHERE _claim_report_id IN (SELECT id FROM doomed_claim)`)
	c.exec(ctx, `DELETE FROM claim WHERE id IN (SELECT id FROM doomed_claim)`)
	c.exec(ctx, `DELETE FROM submit WHERE id IN (SELECT submit FROM doomed_claim)`)
}

// flavors hard-deletes the flavors matching cond, their results and their
// submits.
func (c *cascade) flavors(ctx context.Context, cond string, args ...any) {
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS doomed_flavor (id uuid PRIMARY KEY, submit uuid) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO doomed_flavor SELECT id, _submit_report_id FROM flavor WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	c.results(ctx, `flavor_id IN (SELECT id FROM doomed_flavor)`)
	c.exec(ctx, `DELETE FROM flavor WHERE id IN (SELECT id FROM doomed_flavor)`)
	c.exec(ctx, `DELETE FROM submit WHERE id IN (SELECT submit FROM doomed_flavor)`)
}

// sites hard-deletes the sites matching cond with all their flavors (of any
// uploader), all results measured there, and their submits.
func (c *cascade) sites(ctx context.Context, cond string, args ...any) {
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS doomed_site (id uuid PRIMARY KEY, submit uuid) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO doomed_site SELECT id, _submit_report_id FROM site WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	c.results(ctx, `site_id IN (SELECT id FROM doomed_site)`)
	c.flavors(ctx, `site_id IN (SELECT id FROM doomed_site)`)
	c.exec(ctx, `DELETE FROM site WHERE id IN (SELECT id FROM doomed_site)`)
	c.exec(ctx, `DELETE FROM submit WHERE id IN (SELECT submit FROM doomed_site)`)
}

// benchmarks hard-deletes the benchmarks matching cond, all their results
// (of any uploader) and their submits.
func (c *cascade) benchmarks(ctx context.Context, cond string, args ...any) {
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS doomed_benchmark (id uuid PRIMARY KEY, submit uuid) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO doomed_benchmark SELECT id, _submit_report_id FROM benchmark WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	c.results(ctx, `benchmark_id IN (SELECT id FROM doomed_benchmark)`)
	c.exec(ctx, `DELETE FROM benchmark WHERE id IN (SELECT id FROM doomed_benchmark)`)
	c.exec(ctx, `DELETE FROM submit WHERE id IN (SELECT submit FROM doomed_benchmark)`)
}
