package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// User is what the userinfo endpoint answers for the tokens minted for it.
// Claims left at their zero value are omitted from the answer, so a test can
// describe a provider that sends no e-mail, no email_verified or no
// entitlements.
type User struct {
	Sub   string
	Email string
	// EmailVerified is sent as a JSON boolean when not nil (see Bool).
	EmailVerified *bool
	// Entitlements is sent as eduperson_entitlement, a JSON list, when not nil.
	Entitlements []string
	// EntitlementAsString sends the first entitlement as a plain JSON string
	// instead of a list, as some providers do for a single value.
	EntitlementAsString bool
	// IncludeIssuer adds "iss" (the provider's issuer) to the answer.
	IncludeIssuer bool
	// Claims are further claims, applied last: they override the fields
	// above, and a nil value removes a claim.
	Claims map[string]any
}

// Bool returns a pointer to b, for User.EmailVerified.
func Bool(b bool) *bool { return &b }

// userinfo is the JSON object of u's userinfo answer.
func (u User) userinfo(issuer string) map[string]any {
	m := map[string]any{"sub": u.Sub}
	if u.Email != "" {
		m["email"] = u.Email
	}
	if u.EmailVerified != nil {
		m["email_verified"] = *u.EmailVerified
	}
	switch {
	case u.EntitlementAsString && len(u.Entitlements) > 0:
		m["eduperson_entitlement"] = u.Entitlements[0]
	case u.Entitlements != nil:
		m["eduperson_entitlement"] = u.Entitlements
	}
	if u.IncludeIssuer {
		m["iss"] = issuer
	}
	for k, v := range u.Claims {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// TokenOptions shape one minted access token. The zero value is a token valid
// for an hour from now, signed by the current key with its kid.
type TokenOptions struct {
	// Lifetime is exp minus iat; default one hour.
	Lifetime time.Duration
	// Expired mints a token that expired an hour ago (iat two hours ago).
	Expired bool
	// IssuedAt replaces iat (default: the provider's now).
	IssuedAt time.Time
	// NotBefore adds an nbf claim.
	NotBefore time.Time
	// OmitExpiry leaves out exp.
	OmitExpiry bool
	// Issuer replaces the iss claim (default: the provider's issuer), e.g.
	// with a trailing slash, or the URL of another provider.
	Issuer string
	// KeyID replaces the kid header.
	KeyID string
	// OmitKeyID leaves kid out of the header.
	OmitKeyID bool
	// UnknownKey signs with a key the provider never publishes.
	UnknownKey bool
	// Claims are further claims (aud, scope, ...), applied last; a nil value
	// removes a claim.
	Claims map[string]any
}

// minted remembers a token for the userinfo endpoint.
type minted struct {
	sub     string
	exp     time.Time // zero: no expiry
	revoked bool
}

// SetUser adds or replaces the user with u.Sub; tokens already minted for
// that subject answer the new userinfo from now on.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Sub] = cloneUser(u)
}

// Mint records u (as SetUser does) and returns a signed JWT access token for
// it. The token carries iss, sub, iat, exp and jti, plus nbf when asked.
func (p *Provider) Mint(u User, o TokenOptions) (string, error) {
	if u.Sub == "" {
		return "", errors.New("oidctest: user without sub")
	}
	now := p.now()
	iat := now
	if !o.IssuedAt.IsZero() {
		iat = o.IssuedAt
	}
	lifetime := o.Lifetime
	if lifetime == 0 {
		lifetime = time.Hour
	}
	exp := iat.Add(lifetime)
	if o.Expired {
		iat, exp = now.Add(-2*time.Hour), now.Add(-time.Hour)
	}
	iss := p.issuer
	if o.Issuer != "" {
		iss = o.Issuer
	}
	claims := map[string]any{
		"iss": iss,
		"sub": u.Sub,
		"iat": jwt.NewNumericDate(iat),
		"exp": jwt.NewNumericDate(exp),
		"jti": randomID(),
	}
	if o.OmitExpiry {
		delete(claims, "exp")
		exp = time.Time{}
	}
	if !o.NotBefore.IsZero() {
		claims["nbf"] = jwt.NewNumericDate(o.NotBefore)
	}
	for k, v := range o.Claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}

	p.mu.Lock()
	key := p.keys[len(p.keys)-1]
	if o.UnknownKey {
		if p.rogue == nil {
			p.mu.Unlock()
			rogue, err := newSigningKey(key.alg)
			if err != nil {
				return "", err
			}
			p.mu.Lock()
			if p.rogue == nil {
				p.rogue = rogue
			}
		}
		key = p.rogue
	}
	p.mu.Unlock()

	signer, err := key.signer(o.KeyID, o.OmitKeyID)
	if err != nil {
		return "", err
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("oidctest: sign token: %w", err)
	}
	p.mu.Lock()
	p.users[u.Sub] = cloneUser(u)
	p.tokens[sha256.Sum256([]byte(token))] = minted{sub: u.Sub, exp: exp}
	p.mu.Unlock()
	return token, nil
}

// Revoke makes the userinfo endpoint reject token from now on.
func (p *Provider) Revoke(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	if m, ok := p.tokens[h]; ok {
		m.revoked = true
		p.tokens[h] = m
	}
}

// Rotate generates a new signing key and returns its kid. Earlier keys stay
// published until RetireKeys.
func (p *Provider) Rotate() (string, error) {
	p.mu.Lock()
	alg := p.alg
	p.mu.Unlock()
	key, err := newSigningKey(alg)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, key)
	return key.kid, nil
}

// RetireKeys stops publishing every key but the current signing key.
func (p *Provider) RetireKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = p.keys[len(p.keys)-1:]
}

// KeyIDs returns the kids the JWKS publishes; the last one signs new tokens.
func (p *Provider) KeyIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, len(p.keys))
	for i, k := range p.keys {
		ids[i] = k.kid
	}
	return ids
}

// serveUserinfo answers for tokens this provider minted, as a real provider
// does: unknown, revoked or expired tokens get 401.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		invalidToken(w, "missing bearer token")
		return
	}
	p.mu.Lock()
	m, known := p.tokens[sha256.Sum256([]byte(token))]
	u, hasUser := p.users[m.sub]
	p.mu.Unlock()
	switch {
	case !known || !hasUser:
		invalidToken(w, "unknown token")
	case m.revoked:
		invalidToken(w, "token revoked")
	case !m.exp.IsZero() && !p.now().Before(m.exp):
		invalidToken(w, "token expired")
	default:
		writeJSON(w, http.StatusOK, u.userinfo(p.issuer))
	}
}

func invalidToken(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func cloneUser(u User) User {
	u.Entitlements = slices.Clone(u.Entitlements) // keeps nil and empty apart
	if u.EmailVerified != nil {
		u.EmailVerified = Bool(*u.EmailVerified)
	}
	u.Claims = maps.Clone(u.Claims)
	return u
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
