package perf

import (
	"time"

	"github.com/google/uuid"
)

// Scope is what a personal access token allows (EXTENSIONS.md X1).
type Scope string

// The scopes of personal access tokens.
const (
	ScopeResultsWrite Scope = "results:write"
	ScopeCatalogWrite Scope = "catalog:write"
	ScopeRead         Scope = "read"
)

// Scopes lists every scope, in the order the documentation gives them.
var Scopes = []Scope{ScopeResultsWrite, ScopeCatalogWrite, ScopeRead}

// Token is a personal access token as stored: never the secret, only what
// identifies and limits it.
type Token struct {
	ID         uuid.UUID
	Name       string
	Scopes     []Scope
	Prefix     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	Owner      Uploader
}

// NewToken is a token to store: Hash is the SHA-256 of the secret.
type NewToken struct {
	Token
	Hash [32]byte
}

// TokenGrant is what a caller authenticated by a personal access token may
// do: the token and its scopes. A caller with a grant is never admin.
type TokenGrant struct {
	ID     uuid.UUID
	Scopes []Scope
}

// Allows reports whether the grant includes scope.
func (g *TokenGrant) Allows(scope Scope) bool {
	for _, s := range g.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}
