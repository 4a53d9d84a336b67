package api

import (
	"context"
	"net/http"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/perf"
)

// access is the level a route requires (API.md §2.3), and, or-ed into it,
// the scope a personal access token needs for the route (EXTENSIONS.md
// X1). A route without a scope is closed to personal access tokens.
type access int

const (
	public access = iota // no authentication; the Authorization header is never read
	token                // a valid token from a trusted issuer
	user                 // token + registered
	admin                // token + registered + entitled
)

// levelMask keeps the level of an access value; the bits above are scopes.
const levelMask access = 0xff

// The PAT scope bits of the access column.
const (
	resultsWrite access = 1 << (8 + iota) // scope results:write
	catalogWrite                          // scope catalog:write
	readScope                             // scope read
)

// level is the access level without the scope bits.
func (a access) level() access { return a & levelMask }

// scope is the PAT scope the route needs, or "" when PATs cannot use it.
func (a access) scope() perf.Scope {
	switch {
	case a&resultsWrite != 0:
		return perf.ScopeResultsWrite
	case a&catalogWrite != 0:
		return perf.ScopeCatalogWrite
	case a&readScope != 0:
		return perf.ScopeRead
	}
	return ""
}

type callerKey struct{}

// callerOf returns the authenticated caller of a non-public route.
func callerOf(r *http.Request) perf.Caller {
	c, _ := r.Context().Value(callerKey{}).(perf.Caller)
	return c
}

// authorize authenticates r and checks the access level, in the order of
// API.md §2.5 (401 before 403).
func (s *server) authorize(r *http.Request, acc access) (perf.Caller, error) {
	if secret, ok := auth.PATSecret(r.Header.Get("Authorization")); ok {
		return s.authorizePAT(r, acc, secret)
	}
	level := acc.level()
	id, err := s.opt.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		return perf.Caller{}, err
	}
	c := perf.Caller{Identity: id}
	if level == token {
		return c, nil
	}
	c.Registered, err = s.store.UserRegistered(r.Context(), id.Sub, id.Iss)
	if err != nil {
		return perf.Caller{}, err
	}
	c.Admin = c.Registered && id.Entitled(s.opt.AdminEntitlements)
	switch {
	case level == user && !c.Registered:
		return perf.Caller{}, denied(id, "is_registered")
	case level == admin && !c.Admin:
		return perf.Caller{}, denied(id, "is_admin")
	}
	return c, nil
}

// authorizePAT authenticates a personal access token and checks the
// route's level and scope: never an admin route (403 as for a non-admin),
// never a route without a scope, and the route's scope must be granted.
func (s *server) authorizePAT(r *http.Request, acc access, secret string) (perf.Caller, error) {
	if s.opt.PATs == nil {
		return perf.Caller{}, &perf.Error{Kind: perf.Unauthenticated, Msg: auth.MsgInvalidPAT}
	}
	c, err := s.opt.PATs.Verify(r.Context(), secret)
	if err != nil {
		return perf.Caller{}, err
	}
	scope := acc.scope()
	switch {
	case acc.level() == admin:
		return perf.Caller{}, denied(c.Identity, "is_admin")
	case scope == "":
		return perf.Caller{}, perf.Errorf(perf.Forbidden, "Personal access tokens cannot be used for this operation")
	case !c.Token.Allows(scope):
		return perf.Caller{}, perf.Errorf(perf.Forbidden, "Token scope %s required", scope)
	}
	return c, nil
}

func denied(id perf.Identity, rule string) error {
	return &perf.Error{Kind: perf.Denied,
		Msg:    "User " + id.Sub + "@" + id.Iss + " does not meet requirements",
		Detail: perf.Requirement{Rule: rule}}
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// endpoint wraps a handler with the route's access check and error
// writing, and records the route template for logs and metrics.
func (s *server) endpoint(template string, level access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r, template)
		if level.level() != public {
			c, err := s.authorize(r, level)
			if err != nil {
				writeError(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		}
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}
