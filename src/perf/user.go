package perf

import "time"

// User is a registered user, identified by (Sub, Iss).
type User struct {
	Sub                  string    `db:"sub"`
	Iss                  string    `db:"iss"`
	Email                string    `db:"email"`
	RegistrationDatetime time.Time `db:"registration_datetime"`
}

// UserFilter selects users by exact match on the fields that are set, and
// by e-mail substrings (all must match) for :search.
type UserFilter struct {
	Sub, Iss, Email *string
	Terms           []string
}

// Empty reports whether no exact-match field is set (users:remove refuses
// to run without one, API.md §5.7).
func (f UserFilter) Empty() bool { return f.Sub == nil && f.Iss == nil && f.Email == nil }
