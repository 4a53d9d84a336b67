package auth

// Personal access tokens (EXTENSIONS.md X1). A PAT is recognised by its
// prefix before any OpenID Connect work, so it never causes a network
// call; the database holds only the SHA-256 of each secret, found by the
// secret's first PATPrefixLen characters and compared in constant time.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/store"
)

const (
	// PATMarker starts every personal access token.
	PATMarker = "eoscperf_"
	// PATPrefixLen is how many leading characters of a secret are stored
	// in clear (the prefix shown to the owner and used to find the row).
	PATPrefixLen = 16
	// patRandomBytes is the entropy of a secret (base64url: 43 characters).
	patRandomBytes = 32
	// MsgInvalidPAT is the 401 text for an unknown, revoked or expired PAT.
	MsgInvalidPAT = "Invalid personal access token"
)

// PATSecret returns the token of an Authorization header when it is a
// personal access token ("Bearer eoscperf_…").
func PATSecret(authorizationHeader string) (string, bool) {
	token, ok := strings.CutPrefix(authorizationHeader, "Bearer ")
	if !ok {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, strings.HasPrefix(token, PATMarker)
}

// NewPAT makes a fresh secret and returns it with its prefix and hash.
func NewPAT() (secret, prefix string, hash [32]byte, err error) {
	b := make([]byte, patRandomBytes)
	if _, err = rand.Read(b); err != nil {
		return "", "", hash, fmt.Errorf("auth: random token: %w", err)
	}
	secret = PATMarker + base64.RawURLEncoding.EncodeToString(b)
	return secret, secret[:PATPrefixLen], sha256.Sum256([]byte(secret)), nil
}

// PATStore is what verifying a PAT needs from the database.
type PATStore interface {
	TokensByPrefix(ctx context.Context, prefix string) ([]store.TokenCandidate, error)
	TouchToken(ctx context.Context, id uuid.UUID, now time.Time) error
}

// PATVerifier turns a personal access token into its caller.
type PATVerifier struct {
	Store PATStore
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verify returns the caller a PAT stands for: its owner, registered (a
// token's row goes with its user), never admin, with the token's scopes.
// An unknown, revoked or expired token is a 401 with MsgInvalidPAT.
func (v *PATVerifier) Verify(ctx context.Context, secret string) (perf.Caller, error) {
	invalid := &perf.Error{Kind: perf.Unauthenticated, Msg: MsgInvalidPAT}
	if len(secret) < PATPrefixLen {
		return perf.Caller{}, invalid
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	cands, err := v.Store.TokensByPrefix(ctx, secret[:PATPrefixLen])
	if err != nil {
		return perf.Caller{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	var found *store.TokenCandidate
	for i := range cands {
		// Every candidate is compared, in constant time, whatever matched.
		if subtle.ConstantTimeCompare(cands[i].Hash, sum[:]) == 1 {
			found = &cands[i]
		}
	}
	t := now().UTC()
	if found == nil || !t.Before(found.ExpiresAt) {
		return perf.Caller{}, invalid
	}
	if found.LastUsedAt == nil || t.Sub(*found.LastUsedAt) >= time.Minute {
		if err := v.Store.TouchToken(ctx, found.ID, t.Truncate(time.Microsecond)); err != nil {
			return perf.Caller{}, err
		}
	}
	return perf.Caller{
		Identity:   perf.Identity{Sub: found.Owner.UploaderSub, Iss: found.Owner.UploaderIss, Email: found.Email, HasEmail: true},
		Registered: true,
		Token:      &perf.TokenGrant{ID: found.ID, Scopes: found.Scopes},
	}, nil
}
