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

// reviewed hard-deletes the rows of table (benchmark, site, flavor, claim:
// tables written in this package) matching cond, and their submits.
// dependents removes, or unlinks, what references those rows first; it is
// given the sub-select of the doomed ids.
func (c *cascade) reviewed(ctx context.Context, table string, dependents func(ids string), cond string, args ...any) {
	doomed := "doomed_" + table
	c.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+doomed+` (id uuid PRIMARY KEY, submit uuid) ON COMMIT DROP`)
	c.exec(ctx, `INSERT INTO `+doomed+` SELECT id, _submit_report_id FROM `+table+` WHERE `+cond+` ON CONFLICT DO NOTHING`, args...)
	ids := `(SELECT id FROM ` + doomed + `)`
	dependents(ids)
	c.exec(ctx, `DELETE FROM `+table+` WHERE id IN `+ids)
	c.exec(ctx, `DELETE FROM submit WHERE id IN (SELECT submit FROM `+doomed+`)`)
}

// claims hard-deletes the claims matching cond with their submits. A
// result hidden by such a claim stays hidden; 1.2.3's link moves to the
// newest claim of the result that remains, or is cleared.
func (c *cascade) claims(ctx context.Context, cond string, args ...any) {
	c.reviewed(ctx, "claim", func(ids string) {
		c.exec(ctx, `UPDATE result r SET _claim_report_id = (SELECT o.id FROM claim o
			WHERE o.result_id = r.id AND o.id NOT IN `+ids+` ORDER BY o.upload_datetime DESC, o.id DESC LIMIT 1)
			WHERE r._claim_report_id IN `+ids)
	}, cond, args...)
}

// flavors hard-deletes the flavors matching cond, their results and their
// submits.
func (c *cascade) flavors(ctx context.Context, cond string, args ...any) {
	c.reviewed(ctx, "flavor", func(ids string) { c.results(ctx, `flavor_id IN `+ids) }, cond, args...)
}

// sites hard-deletes the sites matching cond with all their flavors (of any
// uploader), all results measured there, and their submits.
func (c *cascade) sites(ctx context.Context, cond string, args ...any) {
	c.reviewed(ctx, "site", func(ids string) {
		c.results(ctx, `site_id IN `+ids)
		c.flavors(ctx, `site_id IN `+ids)
	}, cond, args...)
}

// benchmarks hard-deletes the benchmarks matching cond, all their results
// (of any uploader) and their submits.
func (c *cascade) benchmarks(ctx context.Context, cond string, args ...any) {
	c.reviewed(ctx, "benchmark", func(ids string) { c.results(ctx, `benchmark_id IN `+ids) }, cond, args...)
}
