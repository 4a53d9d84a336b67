package store

import (
	"context"
	"fmt"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
)

// selectPage reads the rows of a page of results one by one, adding up the
// size of their documents: a page whose documents pass maxPageBytes is
// refused as soon as it does (422 on per_page), so that one request cannot
// hold per_page documents of up to MAX_BODY_BYTES each in memory.
func (s *Store) selectPage(ctx context.Context, db sqlx.QueryerContext, q string, args []any) ([]resultPageRow, error) {
	rs, err := db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, mapError(err, "list results")
	}
	defer rs.Close()
	var rows []resultPageRow
	var size int64
	for rs.Next() {
		var r resultPageRow
		if err := rs.StructScan(&r); err != nil {
			return nil, mapError(err, "list results")
		}
		size += int64(len(r.JSON))
		if s.maxPageBytes > 0 && size > s.maxPageBytes {
			return nil, perf.FieldErrors("query", map[string]any{"per_page": []string{
				fmt.Sprintf("The results of this page exceed %d bytes: ask for fewer per page.", s.maxPageBytes)}})
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, mapError(err, "list results")
	}
	return rows, nil
}
