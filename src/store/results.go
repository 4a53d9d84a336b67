package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// resultSort maps the sortable names of results to SQL on the page query's
// aliases (r result, b benchmark, s site, f flavor); json.<path> keys go
// through jsonOrder.
var resultSort = map[string]string{
	"id": "r.id", "json": "r.json", "execution_datetime": "r.execution_datetime", "upload_datetime": "r.upload_datetime",
	"benchmark_id": "r.benchmark_id", "benchmark_name": "(b.docker_image || ':' || b.docker_tag)",
	"flavor_id": "r.flavor_id", "flavor_name": "f.name", "site_id": "r.site_id", "site_name": "s.name",
	"site_address": "s.address", "deleted": "r.deleted", "uploader_sub": "r.uploader_sub", "uploader_iss": "r.uploader_iss",
}

// resultColumns read a result's own columns on the alias r, its tags and
// the catalog's version; its benchmark, site and flavor come from the
// catalog cache (catalog.go). The document and the tags come as JSON text;
// tags are rendered by PostgreSQL in the Tag representation (null
// description omitted), ordered by name.
const resultColumns = `SELECT r.id, r.upload_datetime, r.execution_datetime, r.json::text AS json, r.deleted,
	r.uploader_sub, r.uploader_iss, r.benchmark_id, r.site_id, r.flavor_id,
	COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', t.id, 'name', t.name, 'description', t.description)) ORDER BY t.name, t.id)
		FROM result_tags rt JOIN tag t ON t.id = rt.tag_id WHERE rt.result_id = r.id), '[]')::text AS tags,
	(SELECT v FROM catalog_version) AS cv`

// resultSelect reads results with resultColumns.
const resultSelect = resultColumns + `
	FROM result r`

// resultRow is one row of resultSelect.
type resultRow struct {
	ID          uuid.UUID `db:"id"`
	Upload      time.Time `db:"upload_datetime"`
	Execution   time.Time `db:"execution_datetime"`
	JSON        []byte    `db:"json"`
	Deleted     bool      `db:"deleted"`
	UploaderSub string    `db:"uploader_sub"`
	UploaderIss string    `db:"uploader_iss"`
	BenchmarkID uuid.UUID `db:"benchmark_id"`
	SiteID      uuid.UUID `db:"site_id"`
	FlavorID    uuid.UUID `db:"flavor_id"`
	Tags        []byte    `db:"tags"`
	Version     int64     `db:"cv"`
	// Compact: JSON and Tags are compacted already (selectPage).
	Compact bool `db:"-"`
}

// results converts rows with a catalog snapshot at least as new as every
// row's version.
func (s *Store) results(ctx context.Context, rows []resultRow) ([]perf.Result, error) {
	if len(rows) == 0 {
		return []perf.Result{}, nil
	}
	var version int64
	refs := make([][3]uuid.UUID, len(rows))
	for i, r := range rows {
		version = max(version, r.Version)
		refs[i] = [3]uuid.UUID{r.BenchmarkID, r.SiteID, r.FlavorID}
	}
	c, err := s.catalogAt(ctx, version, refs)
	if err != nil {
		return nil, err
	}
	out := make([]perf.Result, len(rows))
	for i, r := range rows {
		out[i] = perf.Result{
			ID: r.ID, UploadDatetime: r.Upload, ExecutionDatetime: r.Execution, JSON: r.JSON, Deleted: r.Deleted,
			Uploader:  perf.Uploader{UploaderSub: r.UploaderSub, UploaderIss: r.UploaderIss},
			Benchmark: c.benchmarks[r.BenchmarkID], Site: c.sites[r.SiteID], Flavor: c.flavors[r.FlavorID],
			TagsJSON: r.Tags,
		}
		if !r.Compact {
			out[i].JSON, out[i].TagsJSON = compactJSONB(r.JSON), compactJSONB(r.Tags)
		}
	}
	return out, nil
}

// compactJSONB removes, in place, the blank that PostgreSQL's jsonb output
// puts after every ',' and ':' between tokens (it writes no other
// whitespace outside strings), so documents are emitted compactly.
func compactJSONB(b []byte) []byte {
	// The output never overtakes the input: appending to b[:0] only
	// moves bytes towards the start (append copies with memmove).
	return appendCompactJSONB(b[:0], b)
}

// appendCompactJSONB appends src, jsonb output text, to dst without the
// blanks compactJSONB removes. Strings are copied whole (their end found
// with bytes.IndexByte), and so is the text between strings up to its
// first ", " or ": ".
func appendCompactJSONB(dst, src []byte) []byte {
	r, n := 0, len(src)
	for r < n {
		// Outside a string: up to the next quote.
		q := bytes.IndexByte(src[r:], '"')
		if q < 0 {
			q = n
		} else {
			q += r
		}
		for r < q {
			i := r
			for i < q && !((src[i] == ',' || src[i] == ':') && i+1 < n && src[i+1] == ' ') {
				i++
			}
			if i == q {
				dst = append(dst, src[r:q]...)
				r = q
				break
			}
			dst = append(dst, src[r:i+1]...)
			r = i + 2 // past the blank
		}
		if r >= n {
			break
		}
		// A string, from its opening quote at r.
		end := r + 1 // just after the closing quote, once found
		for {
			i := bytes.IndexByte(src[end:], '"')
			if i < 0 {
				end = n
				break
			}
			end += i
			k := end - 1
			for k > r && src[k] == '\\' {
				k--
			}
			end++
			if (end-2-k)%2 == 0 { // an even number of backslashes: not escaped
				break
			}
		}
		dst = append(dst, src[r:end]...)
		r = end
	}
	return dst
}

// GetResult returns a result by id, also when it is hidden.
func (s *Store) GetResult(ctx context.Context, id uuid.UUID) (perf.Result, error) {
	return s.getResult(ctx, nil, id)
}

func (s *Store) getResult(ctx context.Context, tx *sqlx.Tx, id uuid.UUID) (perf.Result, error) {
	var row resultRow
	stmt, err := s.prepared(ctx, resultSelect+` WHERE r.id = $1`)
	if err != nil {
		return perf.Result{}, err
	}
	if tx != nil {
		stmt = tx.StmtxContext(ctx, stmt)
	}
	err = stmt.GetContext(ctx, &row, id)
	if errors.Is(err, sql.ErrNoRows) {
		return perf.Result{}, resultNotFound(id)
	}
	if err != nil {
		return perf.Result{}, mapError(err, "get result")
	}
	rs, err := s.results(ctx, []resultRow{row})
	if err != nil {
		return perf.Result{}, err
	}
	return rs[0], nil
}

// resultNotFound is upstream's 404 text for results.
func resultNotFound(id uuid.UUID) error {
	return perf.Errorf(perf.NotFound, "Result %s not found in the database", id)
}

// uploadCheck reads what the checks of an upload need: the benchmark's
// status and schema, the flavor's status, which of the tags exist.
const uploadCheck = `SELECT b.status::text AS b_status, b.json_schema::text AS json_schema, f.status::text AS f_status,
	ARRAY(SELECT t.id::text FROM tag t WHERE t.id = ANY($3::uuid[])) AS tags
	FROM (SELECT) x LEFT JOIN benchmark b ON b.id = $1 LEFT JOIN flavor f ON f.id = $2`

// uploadInsert stores a result and its tags if the benchmark (with the
// schema validated against, whose MD5 is $10) and the flavor are still
// approved, and returns it as resultSelect does.
const uploadInsert = `WITH b AS (
			SELECT id FROM benchmark WHERE id = $7 AND status = 'approved' AND md5(json_schema::text) = $10 FOR SHARE
		), f AS (
			SELECT id, site_id FROM flavor WHERE id = $8 AND status = 'approved' FOR SHARE
		), r AS (
			INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
			SELECT $1, $2, $3, $4, $5::jsonb, $6, b.id, f.id, f.site_id, false FROM b, f
			RETURNING *
		), t AS (
			INSERT INTO result_tags (result_id, tag_id) SELECT r.id, unnest($9::uuid[]) FROM r
		)
		SELECT r.id, r.upload_datetime, r.execution_datetime, r.json::text AS json, r.deleted, r.uploader_sub, r.uploader_iss,
			r.benchmark_id, r.site_id, r.flavor_id,
			COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', t.id, 'name', t.name, 'description', t.description)) ORDER BY t.name, t.id)
				FROM tag t WHERE t.id = ANY($9::uuid[])), '[]')::text AS tags,
			(SELECT v FROM catalog_version) AS cv
		FROM r`

// CreateResult checks what a new result points to and stores it, in the
// order of API.md §5.5: benchmark (404, then 422 unless approved), flavor
// (likewise), each tag (404); check (the schema validation, given the
// benchmark) runs after those; the site comes from the flavor. It returns
// the stored result.
//
// The document is validated before any row lock is taken and without
// holding a connection (issue 11): one statement reads what the checks
// need, check runs, and one statement inserts the result and its tags,
// locking the benchmark and flavor only if they are still approved and the
// schema is the one validated against. Two round trips in all. Should
// anything have changed in between (a new schema, a deleted tag), the
// upload is redone by createResultLocked, which checks and validates under
// the locks.
func (s *Store) CreateResult(ctx context.Context, n perf.NewResult, check func(b perf.Benchmark) error) (perf.Result, error) {
	var pre struct {
		BStatus *string        `db:"b_status"`
		Schema  []byte         `db:"json_schema"`
		FStatus *string        `db:"f_status"`
		Tags    pq.StringArray `db:"tags"`
	}
	tagIDs := pq.Array(uuidStrings(n.TagIDs))
	// The common case in one statement: the cached catalog knows the
	// benchmark and flavor as approved, the document is valid against the
	// cached schema, and uploadInsert finds all that still true (under
	// its locks, comparing the schema's MD5). Anything else (a catalog
	// change, a missing tag, an invalid document) takes the checks below,
	// which give the answer in the order of API.md §5.5.
	if sch, ok := s.cachedUploadSchema(n); ok &&
		check(perf.Benchmark{ID: n.BenchmarkID, JSONSchema: sch.text, Status: perf.Approved}) == nil {
		if res, done, err := s.insertResult(ctx, n, tagIDs, sch.md5); done {
			return res, err
		}
	}
	stmt, err := s.prepared(ctx, uploadCheck)
	if err != nil {
		return perf.Result{}, err
	}
	err = stmt.GetContext(ctx, &pre, n.BenchmarkID, n.FlavorID, tagIDs)
	if err != nil {
		return perf.Result{}, mapError(err, "check result references")
	}
	switch {
	case pre.Schema == nil:
		return perf.Result{}, benchmarkNotFound(n.BenchmarkID)
	case pre.BStatus == nil || perf.Status(*pre.BStatus) != perf.Approved:
		return perf.Result{}, perf.Errorf(perf.Invalid, "Benchmark %s not approved", n.BenchmarkID)
	case pre.FStatus == nil:
		// A flavor's status is never NULL for this service; a row whose
		// status is NULL (upstream's default) counts as on review.
		var exists bool
		if err := s.db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM flavor WHERE id = $1)`, n.FlavorID); err != nil {
			return perf.Result{}, mapError(err, "get flavor")
		}
		if !exists {
			return perf.Result{}, perf.Errorf(perf.NotFound, "Flavor %s not found in the database", n.FlavorID)
		}
		return perf.Result{}, perf.Errorf(perf.Invalid, "Flavor %s not approved", n.FlavorID)
	case perf.Status(*pre.FStatus) != perf.Approved:
		return perf.Result{}, perf.Errorf(perf.Invalid, "Flavor %s not approved", n.FlavorID)
	}
	have := make(map[string]bool, len(pre.Tags))
	for _, id := range pre.Tags {
		have[id] = true
	}
	for _, id := range n.TagIDs {
		if !have[id.String()] {
			return perf.Result{}, perf.Errorf(perf.NotFound, "Tag %s not found in the database", id)
		}
	}
	if err := check(perf.Benchmark{ID: n.BenchmarkID, JSONSchema: pre.Schema, Status: perf.Approved}); err != nil {
		return perf.Result{}, err
	}
	sum := md5.Sum(pre.Schema)
	if res, done, err := s.insertResult(ctx, n, tagIDs, hex.EncodeToString(sum[:])); done {
		return res, err
	}
	// Something changed since the checks: do it all again under locks.
	return s.createResultLocked(ctx, n, check)
}

// cachedUploadSchema returns the stored schema of n's benchmark when the
// cached catalog has the benchmark and the flavor as approved.
func (s *Store) cachedUploadSchema(n perf.NewResult) (storedSchema, bool) {
	c := s.cat.cur.Load()
	if c == nil {
		return storedSchema{}, false
	}
	b, okB := c.benchmarks[n.BenchmarkID]
	f, okF := c.flavors[n.FlavorID]
	sch, okS := c.schemas[n.BenchmarkID]
	return sch, okB && okF && okS && b.Status == perf.Approved && f.Status == perf.Approved
}

// insertResult runs uploadInsert with the MD5 of the schema n was
// validated against. done is false when it stored nothing because the
// benchmark, flavor or schema is not (or no longer) as checked, or a tag
// does not exist.
func (s *Store) insertResult(ctx context.Context, n perf.NewResult, tagIDs any, schemaMD5 string) (_ perf.Result, done bool, _ error) {
	var row resultRow
	stmt, err := s.prepared(ctx, uploadInsert)
	if err != nil {
		return perf.Result{}, true, err
	}
	err = stmt.GetContext(ctx, &row,
		n.ID, n.UploaderSub, n.UploaderIss, n.UploadDatetime, string(n.JSON), n.ExecutionDatetime, n.BenchmarkID, n.FlavorID,
		tagIDs, schemaMD5)
	switch {
	case uniqueViolation(err):
		return perf.Result{}, true, perf.Errorf(perf.Conflict, "Integrity error")
	case errors.Is(err, sql.ErrNoRows) || foreignKeyViolation(err):
		return perf.Result{}, false, nil
	case err != nil:
		return perf.Result{}, true, mapError(err, "create result")
	}
	s.kickLeaves()
	rs, err := s.results(ctx, []resultRow{row})
	if err != nil {
		return perf.Result{}, true, err
	}
	return rs[0], true, nil
}

// foreignKeyViolation reports whether err is a foreign-key violation.
func foreignKeyViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == codeForeignKeyViolation
}

// createResultLocked is CreateResult with every check and the validation
// inside one transaction, under row locks: the path taken when the catalog
// changed between CreateResult's checks and its insert.
func (s *Store) createResultLocked(ctx context.Context, n perf.NewResult, check func(b perf.Benchmark) error) (perf.Result, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var b perf.Benchmark
		err := tx.GetContext(ctx, &b, `SELECT `+benchmarkColumns+` FROM benchmark WHERE id = $1 FOR SHARE`, n.BenchmarkID)
		if errors.Is(err, sql.ErrNoRows) {
			return benchmarkNotFound(n.BenchmarkID)
		}
		if err != nil {
			return mapError(err, "get benchmark")
		}
		if b.Status != perf.Approved {
			return perf.Errorf(perf.Invalid, "Benchmark %s not approved", n.BenchmarkID)
		}
		var fl perf.Flavor
		err = tx.GetContext(ctx, &fl, `SELECT `+flavorColumns+` FROM flavor WHERE id = $1 FOR SHARE`, n.FlavorID)
		if errors.Is(err, sql.ErrNoRows) {
			return perf.Errorf(perf.NotFound, "Flavor %s not found in the database", n.FlavorID)
		}
		if err != nil {
			return mapError(err, "get flavor")
		}
		if fl.Status != perf.Approved {
			return perf.Errorf(perf.Invalid, "Flavor %s not approved", n.FlavorID)
		}
		if err := checkTags(ctx, tx, n.TagIDs); err != nil {
			return err
		}
		if err := check(b); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime,
			benchmark_id, flavor_id, site_id, deleted) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, false)`,
			n.ID, n.UploaderSub, n.UploaderIss, n.UploadDatetime, string(n.JSON), n.ExecutionDatetime, n.BenchmarkID, n.FlavorID, fl.SiteID)
		if err != nil {
			return mapError(err, "create result")
		}
		if err := insertTags(ctx, tx, n.ID, n.TagIDs, "Integrity error"); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return perf.Result{}, err
	}
	s.kickLeaves()
	// Read after the commit: building the result may read the catalog on
	// another pooled connection, which must not wait while this
	// transaction holds one.
	return s.getResult(ctx, nil, n.ID)
}

// checkTags answers 404 for the first tag id that does not exist, and
// locks the others against deletion until the transaction ends (a tag
// deleted meanwhile would otherwise break the insert of the links).
func checkTags(ctx context.Context, tx *sqlx.Tx, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	var found []uuid.UUID
	err := tx.SelectContext(ctx, &found, `SELECT id FROM tag WHERE id = ANY($1::uuid[]) FOR KEY SHARE`, pq.Array(uuidStrings(ids)))
	if err != nil {
		return mapError(err, "check tags")
	}
	have := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		have[id] = true
	}
	for _, id := range ids {
		if !have[id] {
			return perf.Errorf(perf.NotFound, "Tag %s not found in the database", id)
		}
	}
	return nil
}

// insertTags links tags to a result; the same tag twice is a conflict
// with the given text.
func insertTags(ctx context.Context, tx *sqlx.Tx, resultID uuid.UUID, ids []uuid.UUID, conflict string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO result_tags (result_id, tag_id) SELECT $1, unnest($2::uuid[])`,
		resultID, pq.Array(uuidStrings(ids)))
	if uniqueViolation(err) {
		return perf.Errorf(perf.Conflict, "%s", conflict)
	}
	return mapError(err, "link tags")
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// ResultOwner returns who uploaded a result (also a hidden one).
func (s *Store) ResultOwner(ctx context.Context, id uuid.UUID) (perf.Uploader, error) {
	var u perf.Uploader
	err := s.db.GetContext(ctx, &u, `SELECT uploader_sub, uploader_iss FROM result WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return u, resultNotFound(id)
	}
	return u, mapError(err, "get result owner")
}

// ResultUploader returns the user who uploaded a result.
func (s *Store) ResultUploader(ctx context.Context, id uuid.UUID) (perf.User, error) {
	var u perf.User
	err := s.db.GetContext(ctx, &u, `SELECT u.sub, u.iss, u.email, u.registration_datetime FROM result r
		JOIN "user" u ON u.sub = r.uploader_sub AND u.iss = r.uploader_iss WHERE r.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return u, resultNotFound(id)
	}
	return u, mapError(err, "get result uploader")
}

// DeleteResult hides a result (soft delete) for good: rejecting a claim
// does not bring it back. Deleting a hidden one again is fine.
func (s *Store) DeleteResult(ctx context.Context, id uuid.UUID) error {
	res, err := s.db.ExecContext(ctx, `UPDATE result SET deleted = true, deleted_by_admin = true WHERE id = $1`, id)
	if err != nil {
		return mapError(err, "delete result")
	}
	return mustAffect(res, resultNotFound(id))
}

// SetResultTags replaces a result's tags by exactly ids. The caller has
// checked the result exists and who may change it.
func (s *Store) SetResultTags(ctx context.Context, id uuid.UUID, ids []uuid.UUID) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := checkTags(ctx, tx, ids); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM result_tags WHERE result_id = $1`, id); err != nil {
			return mapError(err, "unlink tags")
		}
		return insertTags(ctx, tx, id, ids, "Conflict updating "+id.String())
	})
}
