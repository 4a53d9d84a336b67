package api

import (
	"context"
	"net/http"

	"github.com/eosc-perf/api/src/perf"
)

// access is the level a route requires (API.md §2.3).
type access int

const (
	public access = iota // no authentication; the Authorization header is never read
	token                // a valid token from a trusted issuer
	user                 // token + registered
	admin                // token + registered + entitled
)

type callerKey struct{}

// callerOf returns the authenticated caller of a non-public route.
func callerOf(r *http.Request) perf.Caller {
	c, _ := r.Context().Value(callerKey{}).(perf.Caller)
	return c
}

// authorize authenticates r and checks the access level, in the order of
// API.md §2.5 (401 before 403).
func (s *server) authorize(r *http.Request, level access) (perf.Caller, error) {
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
		if level != public {
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
