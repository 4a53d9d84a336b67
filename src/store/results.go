package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// resultColumns read a result with its benchmark, site, flavor and tags
// on the aliases r, b, s and f (see resultJoins). The document and the tags
// come as JSON text, passed through untouched. Tags are rendered by
// PostgreSQL in the Tag representation (null description omitted), ordered
// by name.
const resultColumns = `SELECT r.id, r.upload_datetime, r.execution_datetime, r.json::text AS json, r.deleted,
	r.uploader_sub, r.uploader_iss,
	b.id AS b_id, b.upload_datetime AS b_upload, b.docker_image, b.docker_tag, b.url, b.json_schema::text AS json_schema, b.description AS b_description,
	s.id AS s_id, s.upload_datetime AS s_upload, s.name AS s_name, s.address, s.description AS s_description,
	f.id AS f_id, f.upload_datetime AS f_upload, f.name AS f_name, f.description AS f_description,
	COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', t.id, 'name', t.name, 'description', t.description)) ORDER BY t.name, t.id)
		FROM result_tags rt JOIN tag t ON t.id = rt.tag_id WHERE rt.result_id = r.id), '[]')::text AS tags`

// resultJoins joins a result r to its benchmark b, site s and flavor f.
const resultJoins = `
	JOIN benchmark b ON b.id = r.benchmark_id
	JOIN site s ON s.id = r.site_id
	JOIN flavor f ON f.id = r.flavor_id`

// resultSelect reads results with resultColumns.
const resultSelect = resultColumns + `
	FROM result r` + resultJoins

// resultRow is one row of resultSelect.
type resultRow struct {
	ID           uuid.UUID `db:"id"`
	Upload       time.Time `db:"upload_datetime"`
	Execution    time.Time `db:"execution_datetime"`
	JSON         []byte    `db:"json"`
	Deleted      bool      `db:"deleted"`
	UploaderSub  string    `db:"uploader_sub"`
	UploaderIss  string    `db:"uploader_iss"`
	BID          uuid.UUID `db:"b_id"`
	BUpload      time.Time `db:"b_upload"`
	DockerImage  string    `db:"docker_image"`
	DockerTag    string    `db:"docker_tag"`
	URL          string    `db:"url"`
	JSONSchema   []byte    `db:"json_schema"`
	BDescription *string   `db:"b_description"`
	SID          uuid.UUID `db:"s_id"`
	SUpload      time.Time `db:"s_upload"`
	SName        string    `db:"s_name"`
	Address      string    `db:"address"`
	SDescription *string   `db:"s_description"`
	FID          uuid.UUID `db:"f_id"`
	FUpload      time.Time `db:"f_upload"`
	FName        string    `db:"f_name"`
	FDescription *string   `db:"f_description"`
	Tags         []byte    `db:"tags"`
}

func (r resultRow) result() perf.Result {
	return perf.Result{
		ID: r.ID, UploadDatetime: r.Upload, ExecutionDatetime: r.Execution, JSON: r.JSON, Deleted: r.Deleted,
		Uploader: perf.Uploader{UploaderSub: r.UploaderSub, UploaderIss: r.UploaderIss},
		Benchmark: perf.Benchmark{ID: r.BID, UploadDatetime: r.BUpload, DockerImage: r.DockerImage, DockerTag: r.DockerTag,
			URL: r.URL, JSONSchema: r.JSONSchema, Description: r.BDescription},
		Site:     perf.Site{ID: r.SID, UploadDatetime: r.SUpload, Name: r.SName, Address: r.Address, Description: r.SDescription},
		Flavor:   perf.Flavor{ID: r.FID, UploadDatetime: r.FUpload, Name: r.FName, Description: r.FDescription, SiteID: r.SID},
		TagsJSON: r.Tags,
	}
}

// resultWhere renders a result filter on the alias r only (joined tables
// are reached through EXISTS), so the count query needs no joins.
func resultWhere(f perf.ResultFilter) *where {
	var w where
	if !f.IncludeDeleted {
		w.conds = append(w.conds, "NOT r.deleted")
	}
	if f.Uploader != nil {
		w.add("r.uploader_sub = %s AND r.uploader_iss = %s", f.Uploader.UploaderSub, f.Uploader.UploaderIss)
	}
	w.dates("r.upload_datetime", f.Uploaded)
	w.dates("r.execution_datetime", f.Executed)
	eq(&w, "r.benchmark_id", f.BenchmarkID)
	eq(&w, "r.site_id", f.SiteID)
	eq(&w, "r.flavor_id", f.FlavorID)
	for _, id := range f.TagIDs {
		w.add("EXISTS (SELECT 1 FROM result_tags rt WHERE rt.result_id = r.id AND rt.tag_id = %s)", id)
	}
	jsonFiltersSQL(&w, f.Filters)
	// :search (API.md §3.9): each term is a substring of the benchmark name
	// (image:tag), the site name or address or the flavor name, or exactly
	// the name of one of the result's tags.
	for _, term := range f.Terms {
		like := w.arg("%" + likeEscape(term) + "%")
		exact := w.arg(term)
		w.conds = append(w.conds, `(EXISTS (SELECT 1 FROM benchmark b WHERE b.id = r.benchmark_id AND (b.docker_image || ':' || b.docker_tag) LIKE `+like+`)
			OR EXISTS (SELECT 1 FROM site s WHERE s.id = r.site_id AND (s.name LIKE `+like+` OR s.address LIKE `+like+`))
			OR EXISTS (SELECT 1 FROM flavor f WHERE f.id = r.flavor_id AND f.name LIKE `+like+`)
			OR EXISTS (SELECT 1 FROM result_tags rt JOIN tag t ON t.id = rt.tag_id WHERE rt.result_id = r.id AND t.name = `+exact+`))`)
	}
	return &w
}

// ListResults returns one page of the results that match f, sorted by
// sort then id, with the exact number of matches. See resultPage for the
// queries and what they cost.
func (s *Store) ListResults(ctx context.Context, f perf.ResultFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Result], error) {
	l := perf.List[perf.Result]{Page: p}
	w := resultWhere(f)
	nFilter := len(w.args) // the count takes the filter's parameters only
	count := func() error {
		err := s.db.GetContext(ctx, &l.Total, `SELECT count(*) FROM result r`+w.sql(), w.args[:nFilter]...)
		return mapError(err, "count results")
	}
	onePass := len(f.Filters) > 0 || len(f.Terms) > 0
	if !onePass {
		if err := count(); err != nil {
			return l, err
		}
		if l.Total <= p.Offset() {
			return l, nil
		}
	}
	q, err := resultPage(w, sort, p, onePass)
	if err != nil {
		return l, err
	}
	var rows []resultPageRow
	if err := s.db.SelectContext(ctx, &rows, q, w.args...); err != nil {
		return l, mapError(err, "list results")
	}
	if onePass {
		switch {
		case len(rows) > 0:
			l.Total = rows[0].Total
		case p.Offset() == 0 && p.PerPage > 0:
			l.Total = 0 // an empty first page: nothing matches
		default:
			// Past the end: the total came with no row.
			return l, count()
		}
	}
	l.Items = make([]perf.Result, len(rows))
	for i, r := range rows {
		l.Items[i] = r.result()
	}
	return l, nil
}

// resultPageRow is a row of resultPage: a result and, in one pass, the
// number of matches.
type resultPageRow struct {
	resultRow
	Total int `db:"total"`
}

// resultPage renders the query of a page of results matching w, sorted by
// keys then id. Measured with EXPLAIN ANALYZE and \timing on 100,000 results
// built from shared/data/sample-results (tests/load; PostgreSQL 15, one
// backend, no parallel workers, warm cache):
//
// The page's ids are selected first, carrying only the sort keys, and the
// full rows are read for those ids alone. Reading the full rows directly
// made PostgreSQL evaluate r.json::text and the joins for every match
// before the top-N sort: two number filters (42,000 matches) sorted by
// -json.result.score took 660 ms, ids first 360 ms. Without a filter the
// inner query is an index-only scan of result_visible_execution_datetime_idx
// (page 2.6 ms, planning 0.8 ms).
//
// onePass returns the total (column total) from the same scan: the matches'
// ids and sort keys are materialised once, then counted and sorted. It is
// for the filters only a scan of every visible result can evaluate (JSON
// filters, :search terms), where the count scans once and the page query
// may scan again. One pass against count + page:
//
//   - two number filters, -json.result.score: 160 ms against 138 + 150 ms;
//   - machine.cpu.count >= 8 (32,000 matches), default sort: 130 ms against
//     108 + 4 ms: dense matches let the page query walk the execution-time
//     index and stop after 100, so one pass costs ~15 % more here;
//   - result.score > 2610 (12 matches), default sort: 95 ms against
//     105 + 270 ms: the page query walked the whole execution-time index
//     (the planner guesses 0.5 % selectivity for a JSON filter);
//   - :search IFCA-LCG2 (21,600 matches): 25-37 ms against 23 + 9 ms.
//
// So one pass bounds every such page by one scan. The total comes with the
// rows; an empty first page means no match, and only a page past the end
// costs a second scan (the count).
func resultPage(w *where, keys []perf.SortKey, p perf.Page, onePass bool) (string, error) {
	var cols, joins string
	var inner, byName, outer []string
	joined := map[string]bool{}
	for i, k := range keys {
		var expr string
		if k.Field == "json" && len(k.JSONPath) > 0 {
			expr = w.jsonKey(k.JSONPath)
		} else {
			var ok bool
			if expr, ok = resultSort[k.Field]; !ok {
				return "", fmt.Errorf("store: no sort column for %q", k.Field)
			}
			if a := resultSortTable[k.Field]; a != "" && !joined[a] {
				joined[a] = true
				joins += resultJoin[a]
			}
		}
		name := "k" + strconv.Itoa(i)
		dir := ""
		if k.Desc {
			dir = " DESC"
		}
		cols += ", " + expr + " AS " + name
		inner = append(inner, expr+dir)
		byName = append(byName, name+dir)
		outer = append(outer, "p."+name+dir)
	}
	inner, byName, outer = append(inner, "r.id"), append(byName, "id"), append(outer, "p.id")
	matches := `SELECT r.id` + cols + ` FROM result r` + joins + w.sql()
	rows := ` p JOIN result r ON r.id = p.id` + resultJoins + ` ORDER BY ` + strings.Join(outer, ", ")
	if onePass {
		return `WITH m AS MATERIALIZED (` + matches + `) ` + resultColumns + `, (SELECT count(*) FROM m) AS total
	FROM (SELECT * FROM m ORDER BY ` + strings.Join(byName, ", ") + w.limit(p) + `)` + rows, nil
	}
	return resultColumns + `
	FROM (` + matches + ` ORDER BY ` + strings.Join(inner, ", ") + w.limit(p) + `)` + rows, nil
}

// resultSortTable names the joined table a sort key of resultSort needs,
// and resultJoin joins it to r.
var (
	resultSortTable = map[string]string{"benchmark_name": "b", "flavor_name": "f", "site_name": "s", "site_address": "s"}
	resultJoin      = map[string]string{
		"b": " JOIN benchmark b ON b.id = r.benchmark_id",
		"s": " JOIN site s ON s.id = r.site_id",
		"f": " JOIN flavor f ON f.id = r.flavor_id",
	}
)

// GetResult returns a result by id, also when it is hidden.
func (s *Store) GetResult(ctx context.Context, id uuid.UUID) (perf.Result, error) {
	return getResult(ctx, s.db, id)
}

func getResult(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (perf.Result, error) {
	var row resultRow
	err := sqlx.GetContext(ctx, q, &row, resultSelect+` WHERE r.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return perf.Result{}, resultNotFound(id)
	}
	if err != nil {
		return perf.Result{}, mapError(err, "get result")
	}
	return row.result(), nil
}

// resultNotFound is upstream's 404 text for results.
func resultNotFound(id uuid.UUID) error {
	return perf.Errorf(perf.NotFound, "Result %s not found in the database", id)
}

// CreateResult checks what a new result points to and stores it, in the
// order of API.md §5.5: benchmark (404, then 422 unless approved), flavor
// (likewise), each tag (404); check (the schema validation, given the
// benchmark) runs after those; the site comes from the flavor. It returns
// the stored result.
func (s *Store) CreateResult(ctx context.Context, n perf.NewResult, check func(b perf.Benchmark) error) (perf.Result, error) {
	var out perf.Result
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
		out, err = getResult(ctx, tx, n.ID)
		return err
	})
	return out, err
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
