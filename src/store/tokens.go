package store

// Personal access tokens (EXTENSIONS.md X1): only a SHA-256 of each secret
// is stored; the service finds candidates by prefix and compares hashes in
// constant time (package auth).

import (
	"context"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
	"github.com/lib/pq"
)

// tokenRow is a row of personal_access_token with its owner's e-mail.
type tokenRow struct {
	ID         uuid.UUID      `db:"id"`
	UserSub    string         `db:"user_sub"`
	UserIss    string         `db:"user_iss"`
	Name       string         `db:"name"`
	Scopes     pq.StringArray `db:"scopes"`
	Prefix     string         `db:"prefix"`
	Hash       []byte         `db:"hash"`
	CreatedAt  time.Time      `db:"created_at"`
	ExpiresAt  time.Time      `db:"expires_at"`
	LastUsedAt *time.Time     `db:"last_used_at"`
	Email      string         `db:"email"`
}

func (r tokenRow) token() perf.Token {
	t := perf.Token{ID: r.ID, Name: r.Name, Prefix: r.Prefix, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		LastUsedAt: r.LastUsedAt, Owner: perf.Uploader{UploaderSub: r.UserSub, UploaderIss: r.UserIss}}
	for _, s := range r.Scopes {
		t.Scopes = append(t.Scopes, perf.Scope(s))
	}
	return t
}

const tokenColumns = `t.id, t.user_sub, t.user_iss, t.name, t.scopes, t.prefix, t.hash, t.created_at, t.expires_at, t.last_used_at`

func scopeStrings(ss []perf.Scope) pq.StringArray {
	out := make(pq.StringArray, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// CreateToken stores a new token of a registered user.
func (s *Store) CreateToken(ctx context.Context, n perf.NewToken) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO personal_access_token
		(id, user_sub, user_iss, name, scopes, prefix, hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		n.ID, n.Owner.UploaderSub, n.Owner.UploaderIss, n.Name, scopeStrings(n.Scopes), n.Prefix, n.Hash[:],
		n.CreatedAt, n.ExpiresAt)
	return mapError(err, "create token")
}

// ListTokens returns a page of the user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, owner perf.Uploader, p perf.Page) (perf.List[perf.Token], error) {
	l := perf.List[perf.Token]{Page: p}
	err := s.db.GetContext(ctx, &l.Total, `SELECT count(*) FROM personal_access_token WHERE user_sub = $1 AND user_iss = $2`,
		owner.UploaderSub, owner.UploaderIss)
	if err != nil {
		return l, mapError(err, "count tokens")
	}
	var rows []tokenRow
	err = s.db.SelectContext(ctx, &rows, `SELECT `+tokenColumns+`, '' AS email FROM personal_access_token t
		WHERE t.user_sub = $1 AND t.user_iss = $2 ORDER BY t.created_at DESC, t.id LIMIT $3 OFFSET $4`,
		owner.UploaderSub, owner.UploaderIss, p.PerPage, p.Offset())
	if err != nil {
		return l, mapError(err, "list tokens")
	}
	for _, r := range rows {
		l.Items = append(l.Items, r.token())
	}
	return l, nil
}

// DeleteToken removes one of owner's tokens; another user's token is not
// found, as if it did not exist.
func (s *Store) DeleteToken(ctx context.Context, owner perf.Uploader, id uuid.UUID) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM personal_access_token WHERE id = $1 AND user_sub = $2 AND user_iss = $3`,
		id, owner.UploaderSub, owner.UploaderIss)
	if err != nil {
		return mapError(err, "delete token")
	}
	return mustAffect(res, perf.Errorf(perf.NotFound, "Token %s not found in the database", id))
}

// TokenCandidate is a stored token that shares a secret's prefix, with its
// hash to compare and its owner's registration.
type TokenCandidate struct {
	perf.Token
	Hash  []byte
	Email string
}

// TokensByPrefix returns the tokens whose prefix is prefix (almost always
// zero or one), with their owners' e-mail addresses.
func (s *Store) TokensByPrefix(ctx context.Context, prefix string) ([]TokenCandidate, error) {
	var rows []tokenRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+tokenColumns+`, u.email FROM personal_access_token t
		JOIN "user" u ON u.sub = t.user_sub AND u.iss = t.user_iss WHERE t.prefix = $1`, prefix)
	if err != nil {
		return nil, mapError(err, "find token")
	}
	out := make([]TokenCandidate, len(rows))
	for i, r := range rows {
		out[i] = TokenCandidate{Token: r.token(), Hash: r.Hash, Email: r.Email}
	}
	return out, nil
}

// TouchToken records a use of a token, at most once a minute: a busy
// runner does not write a row per request.
func (s *Store) TouchToken(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE personal_access_token SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamp - interval '1 minute')`, id, now)
	return mapError(err, "touch token")
}
