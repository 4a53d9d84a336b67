package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// flavorSort maps the sortable names of flavors to SQL.
var flavorSort = map[string]string{
	"id": "id", "name": "name", "description": "description", "site_id": "site_id",
	"upload_datetime": "upload_datetime", "status": "status", "uploader_sub": "uploader_sub", "uploader_iss": "uploader_iss",
}

const flavorColumns = `id, upload_datetime, name, description, site_id, COALESCE(status, 'on_review') AS status, uploader_sub, uploader_iss`

// ListFlavors returns one page of a site's flavors that match f; an
// unknown site is 404 (its status does not matter).
func (s *Store) ListFlavors(ctx context.Context, siteID uuid.UUID, f perf.CatalogFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Flavor], error) {
	if _, err := s.GetSite(ctx, siteID); err != nil {
		return perf.List[perf.Flavor]{}, err
	}
	var w where
	w.add("site_id = %s", siteID)
	catalogWhere(&w, f, "name", "description")
	return list(ctx, s.db, flavorList, &w, sort, p, same[perf.Flavor])
}

var flavorList = listQuery{count: `SELECT count(*) FROM flavor`, page: `SELECT ` + flavorColumns + ` FROM flavor`,
	sort: flavorSort, tiebreak: []string{"id"}}

// GetFlavor returns a flavor by id, whatever its status.
func (s *Store) GetFlavor(ctx context.Context, id uuid.UUID) (perf.Flavor, error) {
	var fl perf.Flavor
	err := s.db.GetContext(ctx, &fl, `SELECT `+flavorColumns+` FROM flavor WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fl, recordNotFound(id)
	}
	return fl, mapError(err, "get flavor")
}

// GetFlavorSite returns the site a flavor belongs to.
func (s *Store) GetFlavorSite(ctx context.Context, flavorID uuid.UUID) (perf.Site, error) {
	var site perf.Site
	err := s.db.GetContext(ctx, &site, `SELECT `+siteColumns+` FROM site WHERE id = (SELECT site_id FROM flavor WHERE id = $1)`, flavorID)
	if errors.Is(err, sql.ErrNoRows) {
		return site, recordNotFound(flavorID)
	}
	return site, mapError(err, "get flavor site")
}

// CreateFlavor stores a new flavor on review for an existing site (of any
// status) with its submit. Names are unique within a site.
func (s *Store) CreateFlavor(ctx context.Context, fl perf.Flavor) (perf.Reviewed, error) {
	siteExists := func(tx *sqlx.Tx) error {
		var one int
		err := tx.GetContext(ctx, &one, `SELECT 1 FROM site WHERE id = $1 FOR SHARE`, fl.SiteID)
		if errors.Is(err, sql.ErrNoRows) {
			return recordNotFound(fl.SiteID)
		}
		return mapError(err, "lock site")
	}
	return s.createReviewed(ctx, "flavor", fl.UploadDatetime, siteExists,
		perf.Errorf(perf.Conflict, "Flavor %s already submitted/exists", fl.Name), `INSERT INTO flavor AS t
		(id, uploader_sub, uploader_iss, upload_datetime, status, name, description, site_id, _submit_report_id)
		VALUES ($1, $2, $3, $4, 'on_review', $5, $6, $7, $8)`,
		fl.ID, fl.UploaderSub, fl.UploaderIss, fl.UploadDatetime, fl.Name, fl.Description, fl.SiteID)
}

// UpdateFlavor overwrites a flavor's name and, when given, its description.
func (s *Store) UpdateFlavor(ctx context.Context, id uuid.UUID, name string, description *string) error {
	return s.update(ctx, perf.Errorf(perf.Conflict, "Changes conflict submitted/existing flavor"), recordNotFound(id),
		`UPDATE flavor SET name = $2, description = COALESCE($3, description) WHERE id = $1`, id, name, description)
}

// DeleteFlavor hard-deletes a flavor with its submit and every result that
// used it.
func (s *Store) DeleteFlavor(ctx context.Context, id uuid.UUID) error {
	return s.remove(ctx, flavorTable, id)
}

// ApproveFlavor approves a pending flavor.
func (s *Store) ApproveFlavor(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.approve(ctx, flavorTable, id)
}

// RejectFlavor deletes a pending flavor with the cascades of DeleteFlavor.
func (s *Store) RejectFlavor(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.reject(ctx, flavorTable, id)
}
