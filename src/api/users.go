package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
)

// userJSON is the User representation (API.md §4).
type userJSON struct {
	Sub                  string         `json:"sub"`
	Iss                  string         `json:"iss"`
	Email                string         `json:"email"`
	RegistrationDatetime perf.Timestamp `json:"registration_datetime"`
}

func toUserJSON(u perf.User) userJSON {
	return userJSON{Sub: u.Sub, Iss: u.Iss, Email: u.Email, RegistrationDatetime: perf.Timestamp(u.RegistrationDatetime)}
}

// handleUserList handles GET /users.
func (s *server) handleUserList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "sub", "iss", "email", "sort_by")
	f := perf.UserFilter{Sub: q.str("sub"), Iss: q.str("iss"), Email: q.str("email")}
	return s.listUsers(w, r, q, f, "+iss,+sub")
}

// handleUserSearch handles GET /users:search (terms are e-mail substrings).
func (s *server) handleUserSearch(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "terms", "sort_by")
	return s.listUsers(w, r, q, perf.UserFilter{Terms: q.terms()}, "")
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, q *query, f perf.UserFilter, defSort string) error {
	p := q.page()
	return listed(w, q, "user", defSort, func(sort []perf.SortKey) (perf.List[perf.User], error) {
		return s.store.ListUsers(r.Context(), f, sort, p)
	}, toUserJSON)
}

// handleUserRegister handles POST /users:register: the caller's identity
// and e-mail come from the provider, never from the client.
func (s *server) handleUserRegister(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if !c.HasEmail {
		return perf.Errorf(perf.Invalid, "No scope for email in oidc token")
	}
	u := perf.User{Sub: c.Sub, Iss: c.Iss, Email: c.Email, RegistrationDatetime: perf.Now()}
	if err := s.store.CreateUser(r.Context(), u); err != nil {
		return err
	}
	s.notify(perf.MailWelcome(u.Email))
	writeJSON(w, http.StatusCreated, toUserJSON(u))
	return nil
}

// handleUserRemove handles POST /users:remove: deletes the matching users
// and everything they uploaded.
func (s *server) handleUserRemove(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "sub", "iss", "email")
	f := perf.UserFilter{Sub: q.str("sub"), Iss: q.str("iss"), Email: q.str("email")}
	if err := q.err(); err != nil {
		return err
	}
	if f.Empty() {
		return perf.Errorf(perf.Invalid, "Cancelled, undefined users")
	}
	if err := s.store.RemoveUsers(r.Context(), f); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleUserSelf handles GET /users/self.
func (s *server) handleUserSelf(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	u, err := s.store.GetUser(r.Context(), c.Sub, c.Iss)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

// handleUserUpdate handles POST /users/self:update: the e-mail is read
// again from the provider and must be verified.
func (s *server) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	switch {
	case !c.HasEmail:
		return perf.Errorf(perf.Invalid, "No scope for email in oidc token")
	case c.EmailVerified == nil:
		return perf.Errorf(perf.Invalid, "No email_verified status in user")
	case !*c.EmailVerified:
		return perf.Errorf(perf.Invalid, "Email unverified by OIDC provider")
	}
	if err := s.store.UpdateUserEmail(r.Context(), c.Sub, c.Iss, c.Email); err != nil {
		return err
	}
	s.notify(perf.MailUserUpdated(c.Email))
	noContent(w)
	return nil
}

// handleUserTryAdmin handles GET /users/self:try_admin: reaching the
// handler proves the caller is admin.
func (s *server) handleUserTryAdmin(w http.ResponseWriter, _ *http.Request) error {
	noContent(w)
	return nil
}
