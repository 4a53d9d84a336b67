package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/eosc-perf/api/src/perf"
)

// userinfo asks the issuer's userinfo endpoint who the token belongs to.
// Any failure is 401 "User identity could not be determined" (API.md §2.2
// item 4).
func (a *Authenticator) userinfo(ctx context.Context, vt verifiedToken, token string) (perf.Identity, error) {
	body, err := a.fetch(ctx, vt.meta.userinfoURL, token)
	if err != nil {
		ev := a.log.Warn()
		if isStatus(err, http.StatusUnauthorized, http.StatusForbidden) {
			// The provider refused this token (revoked, say): the caller's
			// problem, not an outage.
			ev = a.log.Debug()
		}
		ev.Err(err).Str("issuer", vt.issuer.id).Msg("userinfo request failed")
		return perf.Identity{}, unauthenticated(MsgNoUserIdentity, err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(body, &claims); err != nil {
		return perf.Identity{}, unauthenticated(MsgNoUserIdentity, fmt.Errorf("userinfo of %s is not a JSON object: %w", vt.issuer.id, err))
	}
	id, err := identityFromUserinfo(claims, vt.issuer.id)
	if err != nil {
		return perf.Identity{}, unauthenticated(MsgNoUserIdentity, fmt.Errorf("userinfo of %s: %w", vt.issuer.id, err))
	}
	return id, nil
}

// identityFromUserinfo maps userinfo claims to an identity (API.md §2.2 item
// 5): sub is required; iss is taken verbatim from userinfo when present
// (identities stored by upstream keep matching), else the issuer we trust;
// claims of an unexpected JSON type count as absent.
func identityFromUserinfo(claims map[string]json.RawMessage, issuer string) (perf.Identity, error) {
	var id perf.Identity
	if !stringClaim(claims, "sub", &id.Sub) || id.Sub == "" {
		return perf.Identity{}, errors.New("no sub claim")
	}
	if !stringClaim(claims, "iss", &id.Iss) || id.Iss == "" {
		id.Iss = issuer
	}
	id.HasEmail = stringClaim(claims, "email", &id.Email)
	id.EmailVerified = boolClaim(claims["email_verified"])
	id.Entitlements = listClaim(claims["eduperson_entitlement"])
	return id, nil
}

// stringClaim stores a string claim in dst and reports whether there was
// one (null and other types are not).
func stringClaim(claims map[string]json.RawMessage, name string, dst *string) bool {
	raw, ok := claims[name]
	if !ok {
		return false
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return false
	}
	*dst = *s
	return true
}

// boolClaim reads a boolean, also in the string form "true"/"false" that
// some providers send; anything else is nil (claim absent).
func boolClaim(raw json.RawMessage) *bool {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return &b
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "true":
			b = true
			return &b
		case "false":
			return &b
		}
	}
	return nil
}

// listClaim reads a list of strings; a single string is a one-element list
// (API.md §13 item 31: upstream split it into characters). Non-string list
// elements and empty strings are dropped.
func listClaim(raw json.RawMessage) []string {
	if raw == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil
	}
	var out []string
	for _, item := range items {
		var e string
		if err := json.Unmarshal(item, &e); err == nil && e != "" {
			out = append(out, e)
		}
	}
	return out
}
