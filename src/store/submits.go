package store

import (
	"context"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// submitSort maps the sortable names of submits to SQL.
var submitSort = map[string]string{"id": "s.id", "resource_type": "s.resource_type", "upload_datetime": "s.upload_datetime"}

// submitsFrom joins each submit to the resource that points to it (the
// link is stored on the resource side) and that resource's uploader.
const submitsFrom = ` FROM submit s
	LEFT JOIN benchmark b ON b._submit_report_id = s.id
	LEFT JOIN site si ON si._submit_report_id = s.id
	LEFT JOIN flavor f ON f._submit_report_id = s.id
	LEFT JOIN claim c ON c._submit_report_id = s.id
	LEFT JOIN "user" u ON u.sub = COALESCE(b.uploader_sub, si.uploader_sub, f.uploader_sub, c.uploader_sub)
	                  AND u.iss = COALESCE(b.uploader_iss, si.uploader_iss, f.uploader_iss, c.uploader_iss)`

type submitRow struct {
	ID             uuid.UUID  `db:"id"`
	ResourceType   string     `db:"resource_type"`
	UploadDatetime time.Time  `db:"upload_datetime"`
	ResourceID     *uuid.UUID `db:"resource_id"`
	Sub            *string    `db:"sub"`
	Iss            *string    `db:"iss"`
	Email          *string    `db:"email"`
	Registered     *time.Time `db:"registration_datetime"`
}

// ListSubmits returns one page of the pending review requests.
func (s *Store) ListSubmits(ctx context.Context, f perf.SubmitFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Submit], error) {
	var w where
	eq(&w, "s.resource_type", f.ResourceType)
	w.dates("s.upload_datetime", f.Dates)
	return list(ctx, s.db, submitList, &w, sort, p, submitRow.submit)
}

var submitList = listQuery{count: `SELECT count(*) FROM submit s`,
	page: `SELECT s.id, s.resource_type, s.upload_datetime, COALESCE(b.id, si.id, f.id, c.id) AS resource_id,
		u.sub, u.iss, u.email, u.registration_datetime` + submitsFrom,
	sort: submitSort, tiebreak: []string{"s.id"}}

func (r submitRow) submit() perf.Submit {
	it := perf.Submit{ID: r.ID, ResourceType: r.ResourceType, UploadDatetime: r.UploadDatetime, ResourceID: r.ResourceID}
	if r.Sub != nil {
		it.Uploader = &perf.User{Sub: *r.Sub, Iss: *r.Iss, Email: *r.Email, RegistrationDatetime: *r.Registered}
	}
	return it
}
