package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/eosc-perf/api/src/perf"
	"github.com/lib/pq"
)

// exportRow is a result with the texts of the requested columns.
type exportRow struct {
	resultRow
	Cells pq.StringArray `db:"cells"`
}

// exportBatch is how many rows one FETCH of the export cursor reads: the
// service holds at most this many results at a time.
const exportBatch = 500

// ErrExportTooLarge is returned (wrapped in a perf.Invalid error) when more
// results match than an export may hold.
var ErrExportTooLarge = errors.New("export too large")

// ExportResults streams the results f selects, sorted by sort then id, to
// emit, from one snapshot: a read-only REPEATABLE READ transaction counts
// them (more than maxRows is a 422 naming the total, before emit is ever
// called), then reads them through a cursor in batches of exportBatch, so
// memory does not grow with the number of rows. start is called once with
// the total before the first row. When ctx ends (the client went away) or
// emit fails, the cursor and transaction are dropped and the error is
// returned.
//
// columns are JSON paths whose values' texts (as #>> gives them: strings
// unquoted, objects and arrays as JSON, "" when absent or null) come with
// each result, for the CSV columns.
func (s *Store) ExportResults(ctx context.Context, f perf.ResultFilter, sort []perf.SortKey, columns [][]string, maxRows int,
	start func(total int) error, emit func(r perf.Result, cells []string) error) error {
	// The results' catalog comes from the cache (catalog.go); reading it
	// now makes it unlikely that a batch must reload it on a second pooled
	// connection while the export's transaction holds one.
	if _, err := s.catalogAt(ctx, 0, nil); err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return mapError(err, "begin export")
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	w := resultWhere(f, nil, nil)
	nFilter := len(w.args)
	var total int
	if err := tx.GetContext(ctx, &total, `SELECT count(*) FROM result r`+w.sql(), w.args[:nFilter]...); err != nil {
		return mapError(err, "count export")
	}
	if total > maxRows {
		return &perf.Error{Kind: perf.Invalid, Err: ErrExportTooLarge,
			Msg:    fmt.Sprintf("The export holds %d results, more than EXPORT_MAX_ROWS (%d): narrow the filters", total, maxRows),
			Detail: perf.Figures{"total": total, "max_rows": maxRows}}
	}
	order, err := orderBy(w, sort, resultSort, "r.id")
	if err != nil {
		return err
	}
	cells := `, NULL::text[] AS cells`
	if len(columns) > 0 {
		exprs := make([]string, len(columns))
		for i, c := range columns {
			exprs[i] = `''`
			if representable(c...) {
				exprs[i] = `COALESCE(r.json #>> ` + w.arg(pq.Array(c)) + `::text[], '')`
			}
		}
		cells = `, ARRAY[` + strings.Join(exprs, ", ") + `] AS cells`
	}
	q := resultColumns + cells + ` FROM result r` + sortJoins(sort) + w.sql() + order
	if _, err := tx.ExecContext(ctx, `DECLARE export NO SCROLL CURSOR FOR `+q, w.args...); err != nil {
		return mapError(err, "declare export")
	}
	if err := start(total); err != nil {
		return err
	}
	fetch := `FETCH FORWARD ` + strconv.Itoa(exportBatch) + ` FROM export`
	for {
		rows, err := tx.QueryxContext(ctx, fetch)
		if err != nil {
			return mapError(err, "fetch export")
		}
		var batch []resultRow
		var cells [][]string
		for rows.Next() {
			var row exportRow
			if err := rows.StructScan(&row); err != nil {
				rows.Close()
				return mapError(err, "scan export")
			}
			batch, cells = append(batch, row.resultRow), append(cells, row.Cells)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return mapError(err, "fetch export")
		}
		results, err := s.results(ctx, batch)
		if err != nil {
			return err
		}
		for i, r := range results {
			if err := emit(r, cells[i]); err != nil {
				return err
			}
		}
		n := len(batch)
		if n < exportBatch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return mapError(err, "export")
		}
	}
}
