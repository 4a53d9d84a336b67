package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
)

// selectPage reads the rows of a page of results one by one, adding up the
// size of their documents and tag lists: a page that passes maxPageBytes is
// refused as soon as it does (422 on per_page), so that one request cannot
// hold per_page documents of up to MAX_BODY_BYTES each in memory, nor
// per_page times the descriptions of many tags.
//
// The documents and tag lists are read as the driver's bytes and compacted
// (compactJSONB) straight into one buffer for the whole page, instead of
// being copied into a slice per row and compacted there: one allocation
// and one pass over the ~350 kB of a page of 100 instead of 200 of each.
// The rows come back with Compact set.
func (s *Store) selectPage(ctx context.Context, db sqlx.QueryerContext, q string, args []any, perPage int) ([]resultPageRow, error) {
	rs, err := db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, mapError(err, "list results")
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, mapError(err, "list results")
	}
	var rows []resultPageRow
	var text []byte   // every row's document, then tags
	var ends [][2]int // where each row's document and tags end in text
	var size int64
	for rs.Next() {
		var r resultPageRow
		var doc, tags sql.RawBytes
		dest := []any{&r.ID, &r.Upload, &r.Execution, &doc, &r.Deleted, &r.UploaderSub, &r.UploaderIss,
			&r.BenchmarkID, &r.SiteID, &r.FlavorID, &tags, &r.Version, &r.Total}
		if len(cols) != len(dest) {
			dest = dest[:len(dest)-1] // no total column
		}
		if len(cols) != len(dest) {
			return nil, fmt.Errorf("store: a page query has %d columns", len(cols))
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, mapError(err, "list results")
		}
		size += int64(len(doc) + len(tags))
		if s.maxPageBytes > 0 && size > s.maxPageBytes {
			return nil, perf.FieldErrors("query", map[string]any{"per_page": []string{
				fmt.Sprintf("The results of this page exceed %d bytes: ask for fewer per page.", s.maxPageBytes)}})
		}
		if text == nil {
			// Room for the whole page, guessed from its first row (at most
			// 1 MiB: beyond, append grows it).
			text = make([]byte, 0, min((len(doc)+len(tags))*max(perPage, 1)+512, 1<<20))
			rows = make([]resultPageRow, 0, min(max(perPage, 1), 1000))
		}
		text = appendCompactJSONB(text, doc)
		d := len(text)
		text = appendCompactJSONB(text, tags)
		ends = append(ends, [2]int{d, len(text)})
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, mapError(err, "list results")
	}
	start := 0
	for i := range rows {
		d, t := ends[i][0], ends[i][1]
		rows[i].JSON, rows[i].Tags, rows[i].Compact = text[start:d:d], text[d:t:t], true
		start = t
	}
	return rows, nil
}
