package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// siteSort maps the sortable names of sites to SQL.
var siteSort = map[string]string{
	"id": "id", "name": "name", "address": "address", "description": "description",
	"upload_datetime": "upload_datetime", "status": "status", "uploader_sub": "uploader_sub", "uploader_iss": "uploader_iss",
}

const siteColumns = `id, upload_datetime, name, address, description, COALESCE(status, 'on_review') AS status, uploader_sub, uploader_iss`

// ListSites returns one page of the sites that match f.
func (s *Store) ListSites(ctx context.Context, f perf.CatalogFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Site], error) {
	var w where
	catalogWhere(&w, f, "name", "address", "description")
	return list(ctx, s.db, siteList, &w, sort, p, same[perf.Site])
}

var siteList = listQuery{count: `SELECT count(*) FROM site`, page: `SELECT ` + siteColumns + ` FROM site`,
	sort: siteSort, tiebreak: []string{"id"}}

// GetSite returns a site by id, whatever its status.
func (s *Store) GetSite(ctx context.Context, id uuid.UUID) (perf.Site, error) {
	var site perf.Site
	err := s.db.GetContext(ctx, &site, `SELECT `+siteColumns+` FROM site WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return site, recordNotFound(id)
	}
	return site, mapError(err, "get site")
}

// CreateSite stores a new site on review with its submit. Site names are
// unique, whatever the status.
func (s *Store) CreateSite(ctx context.Context, site perf.Site) (perf.Reviewed, error) {
	return s.createReviewed(ctx, "site", site.UploadDatetime, nil,
		perf.Errorf(perf.Conflict, "Site %s already submitted/exists", site.Name), `INSERT INTO site AS t
		(id, uploader_sub, uploader_iss, upload_datetime, status, name, address, description, _submit_report_id)
		VALUES ($1, $2, $3, $4, 'on_review', $5, $6, $7, $8)`,
		site.ID, site.UploaderSub, site.UploaderIss, site.UploadDatetime, site.Name, site.Address, site.Description)
}

// UpdateSite overwrites a site's name and address and, when given, its
// description.
func (s *Store) UpdateSite(ctx context.Context, id uuid.UUID, name, address string, description *string) error {
	return s.update(ctx, perf.Errorf(perf.Conflict, "Changes conflict submitted/existing site"), recordNotFound(id),
		`UPDATE site SET name = $2, address = $3, description = COALESCE($4, description) WHERE id = $1`,
		id, name, address, description)
}

// DeleteSite hard-deletes a site with its submit, all its flavors and all
// results measured there.
func (s *Store) DeleteSite(ctx context.Context, id uuid.UUID) error {
	return s.remove(ctx, siteTable, id)
}

// ApproveSite approves a pending site (not its flavors).
func (s *Store) ApproveSite(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.approve(ctx, siteTable, id)
}

// RejectSite deletes a pending site with the cascades of DeleteSite.
func (s *Store) RejectSite(ctx context.Context, id uuid.UUID) (perf.Reviewed, error) {
	return s.reject(ctx, siteTable, id)
}
