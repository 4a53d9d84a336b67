package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
)

// userSort maps the sortable names of users to SQL.
var userSort = map[string]string{
	"sub": "sub", "iss": "iss", "email": "email", "registration_datetime": "registration_datetime",
}

// UserRegistered reports whether (sub, iss) is a registered user. It runs
// on every authenticated request (one primary-key lookup).
func (s *Store) UserRegistered(ctx context.Context, sub, iss string) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM "user" WHERE sub = $1 AND iss = $2)`, sub, iss)
	return ok, mapError(err, "user registered")
}

// GetUser returns the user (sub, iss).
func (s *Store) GetUser(ctx context.Context, sub, iss string) (perf.User, error) {
	var u perf.User
	err := s.db.GetContext(ctx, &u,
		`SELECT sub, iss, email, registration_datetime FROM "user" WHERE sub = $1 AND iss = $2`, sub, iss)
	if errors.Is(err, sql.ErrNoRows) {
		return u, perf.Errorf(perf.NotFound, "User not registered")
	}
	return u, mapError(err, "get user")
}

// CreateUser registers a user; registering twice is a conflict.
func (s *Store) CreateUser(ctx context.Context, u perf.User) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO "user" (sub, iss, email, registration_datetime) VALUES ($1, $2, $3, $4)`,
		u.Sub, u.Iss, u.Email, u.RegistrationDatetime)
	if uniqueViolation(err) {
		return perf.Errorf(perf.Conflict, "User already submitted/exists")
	}
	return mapError(err, "create user")
}

// UpdateUserEmail stores a new e-mail for (sub, iss).
func (s *Store) UpdateUserEmail(ctx context.Context, sub, iss, email string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE "user" SET email = $3 WHERE sub = $1 AND iss = $2`, sub, iss, email)
	if err != nil {
		return mapError(err, "update user")
	}
	return mustAffect(res, perf.Errorf(perf.NotFound, "User not registered"))
}

// userWhere renders a user filter.
func userWhere(f perf.UserFilter) *where {
	var w where
	eq(&w, "sub", f.Sub)
	eq(&w, "iss", f.Iss)
	eq(&w, "email", f.Email)
	w.terms(f.Terms, "email")
	return &w
}

// ListUsers returns one page of the users that match f.
func (s *Store) ListUsers(ctx context.Context, f perf.UserFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.User], error) {
	return list(ctx, s.db, userList, userWhere(f), sort, p, same[perf.User])
}

var userList = listQuery{count: `SELECT count(*) FROM "user"`,
	page: `SELECT sub, iss, email, registration_datetime FROM "user"`, sort: userSort, tiebreak: []string{"iss", "sub"}}

// RemoveUsers deletes every user matching f and everything they uploaded,
// with the cascades of API.md §6.3, in one transaction. The caller makes
// sure f is not empty.
func (s *Store) RemoveUsers(ctx context.Context, f perf.UserFilter) error {
	w := userWhere(f)
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		c := cascade{tx: tx}
		c.exec(ctx, `CREATE TEMP TABLE doomed_user ON COMMIT DROP AS SELECT sub, iss FROM "user"`+w.sql(), w.args...)
		c.exec(ctx, `CREATE TEMP TABLE doomed_claim_by ON COMMIT DROP AS
			SELECT id FROM claim WHERE (uploader_sub, uploader_iss) IN (SELECT sub, iss FROM doomed_user)`)
		c.benchmarks(ctx, `(uploader_sub, uploader_iss) IN (SELECT sub, iss FROM doomed_user)`)
		c.sites(ctx, `(uploader_sub, uploader_iss) IN (SELECT sub, iss FROM doomed_user)`)
		c.flavors(ctx, `(uploader_sub, uploader_iss) IN (SELECT sub, iss FROM doomed_user)`)
		c.results(ctx, `(uploader_sub, uploader_iss) IN (SELECT sub, iss FROM doomed_user)`)
		c.claims(ctx, `id IN (SELECT id FROM doomed_claim_by)`)
		c.exec(ctx, `DELETE FROM "user" WHERE (sub, iss) IN (SELECT sub, iss FROM doomed_user)`)
		return c.err
	})
}
