package perf

import "slices"

// Identity is who a bearer token belongs to, as the OpenID provider's
// userinfo describes it (API.md §2.2). Users are identified by (Sub, Iss).
type Identity struct {
	Sub string
	Iss string
	// Email is the userinfo "email" claim; HasEmail tells whether it was
	// present at all (registration requires it, API.md §8.7).
	Email    string
	HasEmail bool
	// EmailVerified is nil when userinfo has no "email_verified" claim.
	EmailVerified *bool
	// Entitlements is eduperson_entitlement; a string claim is one entitlement.
	Entitlements []string
}

// Entitled reports whether the identity satisfies the entitlement half of
// the admin rule (API.md §2.4): an empty admin list entitles everyone,
// otherwise one entitlement must match exactly.
func (id Identity) Entitled(admin []string) bool {
	if len(admin) == 0 {
		return true
	}
	for _, e := range id.Entitlements {
		if slices.Contains(admin, e) {
			return true
		}
	}
	return false
}

// Caller is an authenticated identity together with what the database says
// about it: whether (sub, iss) is registered and whether it is admin
// (registered and entitled).
type Caller struct {
	Identity
	Registered bool
	Admin      bool
	// Token is set when the caller authenticated with a personal access
	// token (EXTENSIONS.md X1) rather than an OpenID Connect token.
	Token *TokenGrant
}

// Owns reports whether the caller uploaded something whose uploader is
// (sub, iss).
func (c Caller) Owns(sub, iss string) bool { return c.Sub == sub && c.Iss == iss }
