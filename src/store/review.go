package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// reviewed describes one table of resources that go through review
// (benchmark, site, flavor): how to name it in messages and how to delete
// a row with its cascades.
type reviewed struct {
	table    string // also the submit's resource_type
	kind     string // capitalised, for messages ("Benchmark")
	notFound func(id uuid.UUID) error
	cascade  func(c *cascade, ctx context.Context, cond string, args ...any)
}

var (
	benchmarkTable = reviewed{"benchmark", "Benchmark", benchmarkNotFound, (*cascade).benchmarks}
	siteTable      = reviewed{"site", "Site", recordNotFound, (*cascade).sites}
	flavorTable    = reviewed{"flavor", "Flavor", recordNotFound, (*cascade).flavors}
)

// benchmarkNotFound is upstream's 404 text for benchmarks.
func benchmarkNotFound(id uuid.UUID) error {
	return perf.Errorf(perf.NotFound, "Benchmark %s not found in the database", id)
}

// insertSubmit creates the review request for a new resource.
func insertSubmit(ctx context.Context, tx *sqlx.Tx, resourceType string, at any) (uuid.UUID, error) {
	id := uuid.New()
	_, err := tx.ExecContext(ctx, `INSERT INTO submit (id, resource_type, upload_datetime) VALUES ($1, $2, $3)`, id, resourceType, at)
	return id, mapError(err, "insert submit")
}

// uploaderEmail returns the e-mail of a row's uploader ("" if unknown).
const uploaderEmailSQL = `COALESCE((SELECT u.email FROM "user" u WHERE u.sub = t.uploader_sub AND u.iss = t.uploader_iss), '')`

// pending is a locked row awaiting review.
type pending struct {
	Status perf.Status `db:"status"`
	Email  string      `db:"email"`
	Submit *uuid.UUID  `db:"submit"`
}

// lockForReview locks a pending row; an approved one cannot be reviewed
// again (422).
func lockForReview(ctx context.Context, tx *sqlx.Tx, t reviewed, id uuid.UUID) (pending, error) {
	var row pending
	q := fmt.Sprintf(`SELECT COALESCE(t.status, 'on_review') AS status, %s AS email, t._submit_report_id AS submit
		FROM %s t WHERE t.id = $1 FOR UPDATE`, uploaderEmailSQL, pqIdent(t.table))
	err := tx.GetContext(ctx, &row, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		return row, t.notFound(id)
	}
	if err != nil {
		return row, mapError(err, "lock "+t.table)
	}
	if row.Status == perf.Approved {
		return row, perf.Errorf(perf.Invalid, "%s %s was already approved", t.kind, id)
	}
	return row, nil
}

// approve sets a pending resource to approved and deletes its submit.
func (s *Store) approve(ctx context.Context, t reviewed, id uuid.UUID) (perf.Reviewed, error) {
	var out perf.Reviewed
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, err := lockForReview(ctx, tx, t, id)
		if err != nil {
			return err
		}
		out.UploaderEmail = row.Email
		q := fmt.Sprintf(`UPDATE %s SET status = 'approved', _submit_report_id = NULL WHERE id = $1`, pqIdent(t.table))
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return mapError(err, "approve "+t.table)
		}
		if row.Submit != nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM submit WHERE id = $1`, *row.Submit)
		}
		return mapError(err, "delete submit")
	})
	return out, err
}

// reject hard-deletes a pending resource with its cascades.
func (s *Store) reject(ctx context.Context, t reviewed, id uuid.UUID) (perf.Reviewed, error) {
	var out perf.Reviewed
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, err := lockForReview(ctx, tx, t, id)
		if err != nil {
			return err
		}
		out.UploaderEmail = row.Email
		c := cascade{tx: tx}
		t.cascade(&c, ctx, "id = $1", id)
		return c.err
	})
	return out, err
}

// remove hard-deletes a resource in any state with its cascades.
func (s *Store) remove(ctx context.Context, t reviewed, id uuid.UUID) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var one int
		err := tx.GetContext(ctx, &one, fmt.Sprintf(`SELECT 1 FROM %s WHERE id = $1 FOR UPDATE`, pqIdent(t.table)), id)
		if errors.Is(err, sql.ErrNoRows) {
			return t.notFound(id)
		}
		if err != nil {
			return mapError(err, "lock "+t.table)
		}
		c := cascade{tx: tx}
		t.cascade(&c, ctx, "id = $1", id)
		return c.err
	})
}

// pqIdent quotes a table name written in this package.
func pqIdent(name string) string { return `"` + name + `"` }

// createReviewed inserts a new resource awaiting review together with its
// submit, in one transaction, and returns the uploader's e-mail. insert is
// an INSERT ... AS t ... RETURNING uploaderEmailSQL whose last parameter is
// the submit id; a unique violation becomes conflict. before, if set, runs
// first in the transaction (a check of what the resource belongs to).
func (s *Store) createReviewed(ctx context.Context, resourceType string, at time.Time, before func(tx *sqlx.Tx) error,
	conflict error, insert string, args ...any) (perf.Reviewed, error) {
	var out perf.Reviewed
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		submit, err := insertSubmit(ctx, tx, resourceType, at)
		if err != nil {
			return err
		}
		err = tx.GetContext(ctx, &out.UploaderEmail, insert+` RETURNING `+uploaderEmailSQL, append(args, submit)...)
		if uniqueViolation(err) {
			return conflict
		}
		return mapError(err, "create "+resourceType)
	})
	return out, err
}

// update runs an UPDATE of one row by id ($1): no row is notFound, a
// unique violation is conflict.
func (s *Store) update(ctx context.Context, conflict, notFound error, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if uniqueViolation(err) {
		return conflict
	}
	if err != nil {
		return mapError(err, "update")
	}
	return mustAffect(res, notFound)
}
