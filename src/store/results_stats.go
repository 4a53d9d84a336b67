package store

// Statistics and export of results (EXTENSIONS.md X2, X3). Both reuse the
// filter of GET /results (resultWhere) as it is.

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// statsNumericLimit bounds the magnitude of the values statistics take:
// beyond it (and for ±Infinity, which a numeric string such as "inf"
// holds) sums and squares could leave float8's range, so such values count
// in count but not in numeric.
const statsNumericLimit = "1e300"

// numericValue renders the value at path as numeric, NULL when it is not a
// number in the sense of a number filter (API.md §3.8): a JSON number, or
// a string numeric input accepts under the same guards as numberSQL.
func numericValue(w *where, path []string) string {
	if !representable(path...) {
		return "(NULL::numeric)"
	}
	p := w.arg(pq.Array(path)) + "::text[]"
	return "(CASE jsonb_typeof(r.json #> " + p + ")" +
		" WHEN 'number' THEN (r.json #> " + p + ")::numeric" +
		" WHEN 'string' THEN CASE WHEN (r.json #>> " + p + ") ~ " + w.arg(numericText) +
		" THEN CASE WHEN octet_length(r.json #>> " + p + ") <= " + strconv.Itoa(numericTextMax) +
		" THEN (r.json #>> " + p + ")::numeric END END END)"
}

// statsGroupSQL maps a grouping to its key columns and joins.
var statsGroupSQL = map[perf.StatsGroupBy]struct{ id, name, join string }{
	perf.GroupNone:      {"NULL::uuid", "NULL::text", ""},
	perf.GroupBenchmark: {"b.id", "(b.docker_image || ':' || b.docker_tag)", " JOIN benchmark b ON b.id = r.benchmark_id"},
	perf.GroupSite:      {"s.id", "s.name", " JOIN site s ON s.id = r.site_id"},
	perf.GroupFlavor:    {"f.id", "f.name", " JOIN flavor f ON f.id = r.flavor_id"},
	perf.GroupTag: {"t.id", "t.name",
		" LEFT JOIN result_tags rt ON rt.result_id = r.id LEFT JOIN tag t ON t.id = rt.tag_id"},
}

type statsRow struct {
	ID      *uuid.UUID      `db:"key_id"`
	Name    *string         `db:"key_name"`
	Count   int             `db:"n"`
	Numeric int             `db:"numeric"`
	Min     sql.NullFloat64 `db:"min"`
	Max     sql.NullFloat64 `db:"max"`
	Mean    sql.NullFloat64 `db:"mean"`
	StdDev  sql.NullFloat64 `db:"stddev"`
	P50     sql.NullFloat64 `db:"p50"`
	P90     sql.NullFloat64 `db:"p90"`
	P99     sql.NullFloat64 `db:"p99"`
}

func nullable(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

// ResultStats computes the statistics of the metric at path over the
// results f selects, per group, entirely in PostgreSQL: one scan, the
// aggregates (exact numeric for min, max, mean and stddev; float8 for the
// continuous percentiles) per group, groups ordered by name, null last.
func (s *Store) ResultStats(ctx context.Context, f perf.ResultFilter, path []string, by perf.StatsGroupBy) ([]perf.StatsGroup, error) {
	g, ok := statsGroupSQL[by]
	if !ok {
		return nil, perf.Errorf(perf.Invalid, "Unknown grouping %q", by)
	}
	w := resultWhere(f, nil, nil)
	v := numericValue(w, path)
	x := "m.x"
	q := `WITH m AS (SELECT ` + g.id + ` AS key_id, ` + g.name + ` AS key_name,
			CASE WHEN abs(v.v) < ` + statsNumericLimit + ` THEN v.v END AS x
		FROM result r` + g.join + ` CROSS JOIN LATERAL (SELECT ` + v + ` AS v) v` + w.sql() + `)
	SELECT key_id, key_name, count(*) AS n, count(` + x + `) AS numeric,
		min(` + x + `)::float8 AS min, max(` + x + `)::float8 AS max, avg(` + x + `)::float8 AS mean,
		stddev_samp(` + x + `)::float8 AS stddev,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY ` + x + `::float8) AS p50,
		percentile_cont(0.9) WITHIN GROUP (ORDER BY ` + x + `::float8) AS p90,
		percentile_cont(0.99) WITHIN GROUP (ORDER BY ` + x + `::float8) AS p99
	FROM m`
	if by != perf.GroupNone {
		q += ` GROUP BY key_id, key_name ORDER BY key_name NULLS LAST, key_id`
	} else {
		q += ` GROUP BY key_id, key_name`
	}
	var rows []statsRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, w.args...); err != nil {
		return nil, mapError(err, "result stats")
	}
	if by == perf.GroupNone && len(rows) == 0 {
		rows = append(rows, statsRow{}) // nothing matches: one empty group
	}
	out := make([]perf.StatsGroup, len(rows))
	for i, r := range rows {
		gr := perf.StatsGroup{Count: r.Count, Numeric: r.Numeric, Min: nullable(r.Min), Max: nullable(r.Max),
			Mean: nullable(r.Mean), StdDev: nullable(r.StdDev), P50: nullable(r.P50), P90: nullable(r.P90), P99: nullable(r.P99)}
		if r.ID != nil && r.Name != nil {
			gr.Key = &perf.StatsKey{ID: *r.ID, Name: *r.Name}
		}
		out[i] = gr
	}
	return out, nil
}
