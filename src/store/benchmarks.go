package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// benchmarkSort maps the sortable names of benchmarks to SQL. json_schema
// is a json (not jsonb) column without ordering: sort by its text rather
// than fail as upstream did.
var benchmarkSort = map[string]string{
	"id": "id", "docker_image": "docker_image", "docker_tag": "docker_tag", "url": "url",
	"json_schema": "json_schema::text", "description": "description", "upload_datetime": "upload_datetime",
	"status": "status", "uploader_sub": "uploader_sub", "uploader_iss": "uploader_iss",
	"name": "(docker_image || ':' || docker_tag)",
}

const benchmarkColumns = `id, upload_datetime, docker_image, docker_tag, url, json_schema, description,
	COALESCE(status, 'on_review') AS status, uploader_sub, uploader_iss`

// catalogWhere renders the filter shared by benchmarks, sites and flavors.
// Exact-match columns come from the handlers' fixed lists.
func catalogWhere(w *where, f perf.CatalogFilter, searched ...string) {
	w.add("COALESCE(status, 'on_review') = %s", string(f.Status))
	w.dates("upload_datetime", f.Dates)
	for col, v := range f.Exact {
		w.add(pqIdent(col)+" = %s", v)
	}
	w.terms(f.Terms, searched...)
}

// ListBenchmarks returns one page of the benchmarks that match f.
func (s *Store) ListBenchmarks(ctx context.Context, f perf.CatalogFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Benchmark], error) {
	var w where
	catalogWhere(&w, f, "docker_image", "docker_tag", "description")
	return list(ctx, s.db, benchmarkList, &w, sort, p, same[perf.Benchmark])
}

var benchmarkList = listQuery{count: `SELECT count(*) FROM benchmark`, page: `SELECT ` + benchmarkColumns + ` FROM benchmark`,
	sort: benchmarkSort, tiebreak: []string{"id"}}

// GetBenchmark returns a benchmark by id, whatever its status.
func (s *Store) GetBenchmark(ctx context.Context, id uuid.UUID) (perf.Benchmark, error) {
	var b perf.Benchmark
	err := s.db.GetContext(ctx, &b, `SELECT `+benchmarkColumns+` FROM benchmark WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return b, benchmarkNotFound(id)
	}
	return b, mapError(err, "get benchmark")
}

// CreateBenchmark stores a new benchmark on review with its submit and
// returns the uploader's e-mail. Image and tag must be unique, whatever
// the status of the existing one.
func (s *Store) CreateBenchmark(ctx context.Context, b perf.Benchmark) (perf.Reviewed, error) {
	return s.createReviewed(ctx, "benchmark", b.UploadDatetime, nil,
		perf.Errorf(perf.Conflict, "Benchmark %s already submitted/exists", b.Name()), `INSERT INTO benchmark AS t
		(id, uploader_sub, uploader_iss, upload_datetime, status, docker_image, docker_tag, json_schema, description, url, _submit_report_id)
		VALUES ($1, $2, $3, $4, 'on_review', $5, $6, $7, $8, $9, $10)`,
		b.ID, b.UploaderSub, b.UploaderIss, b.UploadDatetime, b.DockerImage, b.DockerTag, string(b.JSONSchema), b.Description, b.URL)
}

// UpdateBenchmark overwrites the given fields of a benchmark; an omitted
// description is kept. Status, uploader and upload time do not change.
func (s *Store) UpdateBenchmark(ctx context.Context, id uuid.UUID, image, tag, url string, schema json.RawMessage, description *string) error {
	return s.update(ctx, perf.Errorf(perf.Conflict, "Changes conflict submitted/existing benchmark"), benchmarkNotFound(id),
		`UPDATE benchmark SET docker_image = $2, docker_tag = $3, url = $4, json_schema = $5, description = COALESCE($6, description)
		WHERE id = $1`, id, image, tag, url, string(schema), description)
}

// DeleteBenchmark hard-deletes a benchmark with its submit and every
// result of it.
func (s *Store) DeleteBenchmark(ctx context.Context, id uuid.UUID) error {
	return s.remove(ctx, benchmarkTable, id)
}

// ApproveBenchmark approves a pending benchmark.
func (s *Store) ApproveBenchmark(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.approve(ctx, benchmarkTable, id)
}

// RejectBenchmark deletes a pending benchmark.
func (s *Store) RejectBenchmark(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.reject(ctx, benchmarkTable, id)
}
