package store

import (
	"context"
	"database/sql"
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
