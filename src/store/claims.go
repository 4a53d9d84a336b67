package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// claimSort maps the sortable names of claims to SQL.
var claimSort = map[string]string{
	"id": "c.id", "message": "c.message", "status": "c.status", "resource_type": "c.resource_type",
	"upload_datetime": "c.upload_datetime", "uploader_sub": "c.uploader_sub", "uploader_iss": "c.uploader_iss",
}

// claimSelect reads claims with their claimant. Claims point to their
// result through claim.result_id (one result, many claims: API.md §13.1
// item 2), which a hard delete of the result clears.
const (
	claimColumns = `c.id, c.upload_datetime, c.message, c.resource_type, c.result_id,
	COALESCE(c.status, 'on_review') AS status, u.sub, u.iss, u.email, u.registration_datetime`
	claimFrom   = ` FROM claim c JOIN "user" u ON u.sub = c.uploader_sub AND u.iss = c.uploader_iss`
	claimSelect = `SELECT ` + claimColumns + claimFrom
)

type claimRow struct {
	ID           uuid.UUID   `db:"id"`
	Upload       time.Time   `db:"upload_datetime"`
	Message      string      `db:"message"`
	ResourceType string      `db:"resource_type"`
	ResultID     *uuid.UUID  `db:"result_id"`
	Status       perf.Status `db:"status"`
	perf.User
}

func (r claimRow) claim() perf.Claim {
	return perf.Claim{ID: r.ID, UploadDatetime: r.Upload, Message: r.Message, ResourceType: r.ResourceType,
		ResultID: r.ResultID, Status: r.Status, Claimant: r.User}
}

// claimNotFound is upstream's 404 text for claims.
func claimNotFound(id uuid.UUID) error {
	return perf.Errorf(perf.NotFound, "Claim %s not found in the database", id)
}

// ListClaims returns one page of the claims that match f.
func (s *Store) ListClaims(ctx context.Context, f perf.ClaimFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Claim], error) {
	var w where
	w.add("COALESCE(c.status, 'on_review') = %s", string(f.Status))
	w.dates("c.upload_datetime", f.Dates)
	eq(&w, "c.result_id", f.ResultID)
	if f.Claimant != nil {
		w.add("c.uploader_sub = %s AND c.uploader_iss = %s", f.Claimant.UploaderSub, f.Claimant.UploaderIss)
	}
	return list(ctx, s.db, claimList, &w, sort, p, claimRow.claim)
}

var claimList = listQuery{count: `SELECT count(*) FROM claim c`, page: claimSelect, sort: claimSort, tiebreak: []string{"c.id"}}

// GetClaim returns a claim by id.
func (s *Store) GetClaim(ctx context.Context, id uuid.UUID) (perf.Claim, error) {
	var row claimRow
	err := s.db.GetContext(ctx, &row, claimSelect+` WHERE c.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return perf.Claim{}, claimNotFound(id)
	}
	return row.claim(), mapError(err, "get claim")
}

// ClaimResult files a claim on a result (hidden or not): the result is
// hidden, the claim waits for review with its submit. It returns the claim
// and the e-mail of the result's uploader.
func (s *Store) ClaimResult(ctx context.Context, resultID uuid.UUID, c perf.Claim) (perf.Claim, string, error) {
	var owner string
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &owner, `SELECT COALESCE(u.email, '') FROM result r
			LEFT JOIN "user" u ON u.sub = r.uploader_sub AND u.iss = r.uploader_iss WHERE r.id = $1 FOR UPDATE OF r`, resultID)
		if errors.Is(err, sql.ErrNoRows) {
			return resultNotFound(resultID)
		}
		if err != nil {
			return mapError(err, "lock result")
		}
		submit, err := insertSubmit(ctx, tx, "claim", c.UploadDatetime)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO claim (id, uploader_sub, uploader_iss, status, message, resource_type,
			upload_datetime, _submit_report_id, result_id) VALUES ($1, $2, $3, 'on_review', $4, 'result', $5, $6, $7)`,
			c.ID, c.Claimant.Sub, c.Claimant.Iss, c.Message, c.UploadDatetime, submit, resultID)
		if err != nil {
			return mapError(err, "create claim")
		}
		_, err = tx.ExecContext(ctx, `UPDATE result SET deleted = true, _claim_report_id = $2 WHERE id = $1`, resultID, c.ID)
		if err != nil {
			return mapError(err, "hide result")
		}
		var row claimRow
		if err := tx.GetContext(ctx, &row, claimSelect+` WHERE c.id = $1`, c.ID); err != nil {
			return mapError(err, "read claim")
		}
		c = row.claim()
		return nil
	})
	return c, owner, err
}

// lockClaim locks a pending claim; an approved one cannot be reviewed again.
// Every transaction that changes claims of a result locks that result
// first, then the claim (ClaimResult, RejectClaim), so that reviews of
// several claims of one result queue up on the result instead of
// deadlocking: re-linking the result to another claim takes a key-share
// lock on that claim, which a concurrent review of it would hold.
func lockClaim(ctx context.Context, tx *sqlx.Tx, id uuid.UUID) (claimRow, *uuid.UUID, error) {
	var row struct {
		claimRow
		Submit *uuid.UUID `db:"submit"`
	}
	for range 3 {
		var resultID *uuid.UUID
		err := tx.GetContext(ctx, &resultID, `SELECT result_id FROM claim WHERE id = $1`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return row.claimRow, nil, claimNotFound(id)
		}
		if err != nil {
			return row.claimRow, nil, mapError(err, "find claim")
		}
		if resultID != nil {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM result WHERE id = $1 FOR UPDATE`, *resultID); err != nil {
				return row.claimRow, nil, mapError(err, "lock result")
			}
		}
		err = tx.GetContext(ctx, &row, `SELECT `+claimColumns+`, c._submit_report_id AS submit`+claimFrom+
			` WHERE c.id = $1 FOR UPDATE OF c`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return row.claimRow, nil, claimNotFound(id)
		}
		if err != nil {
			return row.claimRow, nil, mapError(err, "lock claim")
		}
		if !sameID(resultID, row.ResultID) {
			continue // relinked meanwhile: lock its result now
		}
		if row.Status == perf.Approved {
			return row.claimRow, nil, perf.Errorf(perf.Invalid, "Resource %s was already approved", id)
		}
		return row.claimRow, row.Submit, nil
	}
	return row.claimRow, nil, perf.Errorf(perf.Unavailable, "Claim %s keeps changing, try again", id)
}

func sameID(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// ApproveClaim accepts a claim: its result stays hidden.
func (s *Store) ApproveClaim(ctx context.Context, id uuid.UUID) (perf.ClaimReviewed, error) {
	var out perf.ClaimReviewed
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, submit, err := lockClaim(ctx, tx, id)
		if err != nil {
			return err
		}
		out.ClaimantEmail, out.ResultID = row.Email, row.ResultID
		if _, err := tx.ExecContext(ctx, `UPDATE claim SET status = 'approved', _submit_report_id = NULL WHERE id = $1`, id); err != nil {
			return mapError(err, "approve claim")
		}
		if submit != nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM submit WHERE id = $1`, *submit)
		}
		return mapError(err, "delete submit")
	})
	return out, err
}

// RejectClaim deletes a pending claim and its submit. When its result has
// no other claim left (pending or approved), the result is visible again
// (API.md §13.1 item 1: upstream meant to, but never did) — unless an
// administrator deleted it.
func (s *Store) RejectClaim(ctx context.Context, id uuid.UUID) (perf.ClaimReviewed, error) {
	var out perf.ClaimReviewed
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, _, err := lockClaim(ctx, tx, id)
		if err != nil {
			return err
		}
		out.ClaimantEmail, out.ResultID = row.Email, row.ResultID
		c := cascade{tx: tx}
		c.claims(ctx, "id = $1", id)
		if c.err != nil || row.ResultID == nil {
			return c.err
		}
		// Re-link the newest remaining claim, or restore the result.
		var restored struct {
			Restored bool   `db:"restored"`
			Email    string `db:"email"`
		}
		err = tx.GetContext(ctx, &restored, `WITH other AS (
				SELECT id FROM claim WHERE result_id = $1 ORDER BY upload_datetime DESC, id DESC LIMIT 1)
			UPDATE result r SET _claim_report_id = (SELECT id FROM other),
				deleted = CASE WHEN EXISTS (SELECT 1 FROM other) THEN r.deleted ELSE r.deleted_by_admin END
			WHERE r.id = $1
			RETURNING NOT EXISTS (SELECT 1 FROM other) AND NOT r.deleted_by_admin AS restored,
				COALESCE((SELECT u.email FROM "user" u WHERE u.sub = r.uploader_sub AND u.iss = r.uploader_iss), '') AS email`, *row.ResultID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the result is gone
		}
		if err != nil {
			return mapError(err, "restore result")
		}
		out.Restored, out.ResultUploaderEmail = restored.Restored, restored.Email
		return nil
	})
	return out, err
}
