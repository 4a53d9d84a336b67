package store

// Bulk upload of results (EXTENSIONS.md X4): every line checked as
// CreateResult checks one result, the valid ones stored with one INSERT per
// chunk instead of a round trip per statement per result.

import (
	"context"
	"encoding/json"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// bulkChunk is how many results one INSERT stores.
const bulkChunk = 1000

// BulkLine is one result of a bulk upload. Err is set when the line fails,
// by the caller (malformed line) or by CreateResults (its checks).
type BulkLine struct {
	New perf.NewResult
	Err error
}

// CreateResults stores the lines that have no Err yet, in one transaction,
// after checking each as CreateResult does and in the same order: benchmark
// (404, then 422 unless approved), flavor (likewise), each tag (404), a tag
// twice (409), then check (the schema validation). A line that fails gets
// its Err. With atomic, one failing line stores nothing; otherwise the
// others are stored. It returns how many results were stored; an error
// only when the whole request failed (nothing stored).
func (s *Store) CreateResults(ctx context.Context, lines []BulkLine, atomic bool,
	check func(b perf.Benchmark, doc json.RawMessage) error) (int, error) {
	created := 0
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		benchmarks, flavors, tags, err := bulkReferences(ctx, tx, lines)
		if err != nil {
			return err
		}
		failed := false
		var ok []int
		for i := range lines {
			l := &lines[i]
			if l.Err == nil {
				l.Err = checkBulkLine(l.New, benchmarks, flavors, tags, check)
			}
			if l.Err != nil {
				failed = true
				continue
			}
			ok = append(ok, i)
		}
		if atomic && failed {
			return nil // nothing inserted; the transaction ends empty
		}
		for start := 0; start < len(ok); start += bulkChunk {
			chunk := ok[start:min(start+bulkChunk, len(ok))]
			n, err := insertChunk(ctx, tx, lines, chunk, flavors, atomic)
			if err != nil {
				return err
			}
			created += n
		}
		if atomic && created != len(ok) {
			created = 0
			return errAtomicRollback
		}
		return nil
	})
	if err == errAtomicRollback {
		return 0, nil
	}
	if err == nil && created > 0 {
		s.kickLeaves()
	}
	return created, err
}

// errAtomicRollback rolls back an atomic upload a line of which failed at
// insert time.
var errAtomicRollback = &perf.Error{Kind: perf.Invalid, Msg: "atomic upload rolled back"}

// bulkReferences reads and locks, once each, the benchmarks, flavors and
// tags the lines name (as CreateResult locks them for one result).
func bulkReferences(ctx context.Context, tx *sqlx.Tx, lines []BulkLine) (map[uuid.UUID]perf.Benchmark,
	map[uuid.UUID]perf.Flavor, map[uuid.UUID]bool, error) {
	bset, fset, tset := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	for _, l := range lines {
		if l.Err != nil {
			continue
		}
		bset[l.New.BenchmarkID], fset[l.New.FlavorID] = true, true
		for _, t := range l.New.TagIDs {
			tset[t] = true
		}
	}
	ids := func(m map[uuid.UUID]bool) pq.StringArray {
		out := make(pq.StringArray, 0, len(m))
		for id := range m {
			out = append(out, id.String())
		}
		return out
	}
	var bs []perf.Benchmark
	if err := tx.SelectContext(ctx, &bs, `SELECT `+benchmarkColumns+` FROM benchmark WHERE id = ANY($1::uuid[]) FOR SHARE`, ids(bset)); err != nil {
		return nil, nil, nil, mapError(err, "get benchmarks")
	}
	var fs []perf.Flavor
	if err := tx.SelectContext(ctx, &fs, `SELECT `+flavorColumns+` FROM flavor WHERE id = ANY($1::uuid[]) FOR SHARE`, ids(fset)); err != nil {
		return nil, nil, nil, mapError(err, "get flavors")
	}
	var ts []uuid.UUID
	if err := tx.SelectContext(ctx, &ts, `SELECT id FROM tag WHERE id = ANY($1::uuid[]) FOR KEY SHARE`, ids(tset)); err != nil {
		return nil, nil, nil, mapError(err, "check tags")
	}
	benchmarks := make(map[uuid.UUID]perf.Benchmark, len(bs))
	for _, b := range bs {
		benchmarks[b.ID] = b
	}
	flavors := make(map[uuid.UUID]perf.Flavor, len(fs))
	for _, f := range fs {
		flavors[f.ID] = f
	}
	tags := make(map[uuid.UUID]bool, len(ts))
	for _, t := range ts {
		tags[t] = true
	}
	return benchmarks, flavors, tags, nil
}

// checkBulkLine checks one line with CreateResult's rules and texts.
func checkBulkLine(n perf.NewResult, benchmarks map[uuid.UUID]perf.Benchmark, flavors map[uuid.UUID]perf.Flavor,
	tags map[uuid.UUID]bool, check func(b perf.Benchmark, doc json.RawMessage) error) error {
	b, ok := benchmarks[n.BenchmarkID]
	if !ok {
		return benchmarkNotFound(n.BenchmarkID)
	}
	if b.Status != perf.Approved {
		return perf.Errorf(perf.Invalid, "Benchmark %s not approved", n.BenchmarkID)
	}
	f, ok := flavors[n.FlavorID]
	if !ok {
		return perf.Errorf(perf.NotFound, "Flavor %s not found in the database", n.FlavorID)
	}
	if f.Status != perf.Approved {
		return perf.Errorf(perf.Invalid, "Flavor %s not approved", n.FlavorID)
	}
	for _, t := range n.TagIDs {
		if !tags[t] {
			return perf.Errorf(perf.NotFound, "Tag %s not found in the database", t)
		}
	}
	seen := make(map[uuid.UUID]bool, len(n.TagIDs))
	for _, t := range n.TagIDs {
		if seen[t] {
			return perf.Errorf(perf.Conflict, "Integrity error")
		}
		seen[t] = true
	}
	return check(b, n.JSON)
}

// insertChunk stores the lines idx with one INSERT for the results and one
// for their tags. Should the chunk fail (a document PostgreSQL refuses,
// such as one holding \u0000), it is rolled back to a savepoint and, unless
// atomic, stored line by line so that only the bad lines fail.
func insertChunk(ctx context.Context, tx *sqlx.Tx, lines []BulkLine, idx []int, flavors map[uuid.UUID]perf.Flavor, atomic bool) (int, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT bulk_chunk`); err != nil {
		return 0, mapError(err, "savepoint")
	}
	err := insertResults(ctx, tx, lines, idx, flavors)
	if err == nil {
		_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT bulk_chunk`)
		return len(idx), mapError(err, "release savepoint")
	}
	if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT bulk_chunk`); rerr != nil {
		return 0, mapError(rerr, "rollback to savepoint")
	}
	if len(idx) == 1 || atomic {
		e := mapError(err, "create results")
		if k := perf.KindOf(e); k == perf.Internal || k == perf.Unavailable {
			return 0, e
		}
		if len(idx) == 1 {
			lines[idx[0]].Err = e
			return 0, nil
		}
	}
	n := 0
	for _, i := range idx {
		m, err := insertChunk(ctx, tx, lines, []int{i}, flavors, atomic)
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// insertResults inserts the results of lines idx and their tag links.
// The documents travel as one JSON array, split by jsonb_array_elements:
// as elements of a text[] parameter each would be quoted and escaped by
// lib/pq and unescaped by PostgreSQL's array input first (9 % of the
// server's CPU in a bulk upload, and as much again in the backend), while
// the array's text is the documents themselves, already valid JSON, joined
// by commas.
func insertResults(ctx context.Context, tx *sqlx.Tx, lines []BulkLine, idx []int, flavors map[uuid.UUID]perf.Flavor) error {
	const ts = "2006-01-02 15:04:05.999999"
	var id, sub, iss, upload, exec, bench, flavor, site, tagResult, tagID pq.StringArray
	size := 2
	for _, i := range idx {
		size += len(lines[i].New.JSON) + 1
	}
	docs := make([]byte, 0, size)
	docs = append(docs, '[')
	for k, i := range idx {
		n := lines[i].New
		id = append(id, n.ID.String())
		sub, iss = append(sub, n.UploaderSub), append(iss, n.UploaderIss)
		upload, exec = append(upload, n.UploadDatetime.UTC().Format(ts)), append(exec, n.ExecutionDatetime.UTC().Format(ts))
		if k > 0 {
			docs = append(docs, ',')
		}
		docs = append(docs, n.JSON...)
		bench, flavor = append(bench, n.BenchmarkID.String()), append(flavor, n.FlavorID.String())
		site = append(site, flavors[n.FlavorID].SiteID.String())
		for _, t := range n.TagIDs {
			tagResult, tagID = append(tagResult, n.ID.String()), append(tagID, t.String())
		}
	}
	docs = append(docs, ']')
	_, err := tx.ExecContext(ctx, `INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json,
		execution_datetime, benchmark_id, flavor_id, site_id, deleted)
		SELECT x.id, x.sub, x.iss, x.up, d.doc, x.ex, x.b, x.f, x.s, false
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamp[], $5::timestamp[], $6::uuid[], $7::uuid[], $8::uuid[])
			WITH ORDINALITY AS x(id, sub, iss, up, ex, b, f, s, o)
		JOIN jsonb_array_elements($9::jsonb) WITH ORDINALITY AS d(doc, o) ON d.o = x.o`,
		id, sub, iss, upload, exec, bench, flavor, site, string(docs))
	if err != nil {
		return err
	}
	if len(tagResult) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO result_tags (result_id, tag_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
		tagResult, tagID)
	return err
}
