package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// acceptedAlgs are the asymmetric JWS algorithms we verify. Upstream also
// accepted HS*, but a shared secret cannot come from a public key set, and
// accepting it invites algorithm-confusion attacks.
var acceptedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// verifiedToken is what verification established about a token.
type verifiedToken struct {
	issuer *issuer
	meta   *metadata
	expiry time.Time // zero: the token has no exp
}

// tokenClaims are the claims verification looks at. Everything else in an
// access token is ignored: the identity comes from userinfo (API.md §2.2).
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
}

// verifyJWT checks, in this order: the token is a JWT, its issuer is trusted
// (before any network call), the signature verifies against the issuer's
// keys, and the time claims are current.
func (a *Authenticator) verifyJWT(ctx context.Context, token string) (verifiedToken, error) {
	alg, iss, err := peekJWT(token)
	if err != nil {
		// An opaque token: upstream could only resolve those through issuers
		// off its JWT list, which no default issuer is (API.md §2.2 item 3).
		return verifiedToken{}, unauthenticated(MsgNoUserIdentity, err)
	}
	if iss == "" {
		return verifiedToken{}, notVerified("token has no issuer", nil)
	}
	is := a.issuers[normalizeIssuer(iss)]
	if is == nil {
		return verifiedToken{}, unauthenticated(MsgUntrusted+normalizeIssuer(iss), nil)
	}
	if !slices.Contains(acceptedAlgs, jose.SignatureAlgorithm(alg)) {
		return verifiedToken{}, notVerified(fmt.Sprintf("signing algorithm %q is not accepted", alg), nil)
	}
	jws, err := jose.ParseSignedCompact(token, acceptedAlgs)
	if err != nil {
		return verifiedToken{}, notVerified("malformed token", err)
	}
	if len(jws.Signatures) != 1 {
		return verifiedToken{}, notVerified("malformed token", errors.New("not exactly one signature"))
	}
	meta, err := is.metadata(ctx, a)
	if err != nil {
		return verifiedToken{}, notVerified("issuer configuration is unavailable", err)
	}
	payload, err := a.verifySignature(ctx, is, meta, jws)
	if err != nil {
		return verifiedToken{}, err
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return verifiedToken{}, notVerified("malformed claims", err)
	}
	if normalizeIssuer(c.Issuer) != is.id {
		// Cannot differ from the unverified read of the same payload; kept so
		// the trust decision always rests on verified data.
		return verifiedToken{}, notVerified("issuer mismatch", nil)
	}
	times := jwt.Claims{Expiry: c.Expiry, NotBefore: c.NotBefore, IssuedAt: c.IssuedAt}
	switch err := times.ValidateWithLeeway(jwt.Expected{Time: a.now()}, a.leeway); {
	case errors.Is(err, jwt.ErrExpired):
		return verifiedToken{}, notVerified("token is expired", err)
	case errors.Is(err, jwt.ErrNotValidYet):
		return verifiedToken{}, notVerified("token is not valid yet", err)
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return verifiedToken{}, notVerified("token is issued in the future", err)
	case err != nil:
		return verifiedToken{}, notVerified("invalid time claims", err)
	}
	return verifiedToken{issuer: is, meta: meta, expiry: c.Expiry.Time()}, nil
}

// verifySignature finds the key the token names and verifies the signature.
// A token naming a kid we do not hold (or, without kid, verifying with none
// of our keys) refetches the key set once, rate-limited, for key rotation.
func (a *Authenticator) verifySignature(ctx context.Context, is *issuer, meta *metadata, jws *jose.JSONWebSignature) ([]byte, error) {
	h := jws.Signatures[0].Header
	keys, fetched, err := is.keySet(ctx, a, meta, false)
	if err != nil {
		return nil, notVerified("signing keys are unavailable", err)
	}
	payload, matched, verr := verifyWithKeys(jws, keys, h.KeyID, h.Algorithm)
	if payload == nil && !(matched && h.KeyID != "") && !fetched {
		if keys, fetched, err = is.keySet(ctx, a, meta, true); err == nil && fetched {
			payload, matched, verr = verifyWithKeys(jws, keys, h.KeyID, h.Algorithm)
		}
	}
	switch {
	case payload != nil:
		return payload, nil
	case matched:
		return nil, notVerified("signature is invalid", verr)
	default:
		return nil, notVerified("no published key matches the token", fmt.Errorf("kid %q alg %s", h.KeyID, h.Algorithm))
	}
}

// verifyWithKeys tries the keys that fit the token's kid and algorithm.
// matched reports whether any key fitted at all.
func verifyWithKeys(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid, alg string) (payload []byte, matched bool, err error) {
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if !keyFits(k.Key, alg) {
			continue
		}
		matched = true
		p, verr := jws.Verify(k.Key)
		if verr == nil {
			return p, true, nil
		}
		err = verr
	}
	return nil, matched, err
}

// keyFits reports whether a public key can verify the algorithm, so a token
// cannot make us use a key with an algorithm it was not made for.
func keyFits(key any, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case string(jose.ES256):
			return k.Curve == elliptic.P256()
		case string(jose.ES384):
			return k.Curve == elliptic.P384()
		case string(jose.ES512):
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}

// peekJWT reads alg and iss from a compact JWS without verifying anything.
// An error means the token is not a JWT at all.
func peekJWT(token string) (alg, iss string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", errors.New("token is not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg == "" {
		return "", "", errors.New("token is not a JWT: bad header")
	}
	var claims map[string]json.RawMessage
	if err := decodeSegment(parts[1], &claims); err != nil {
		return "", "", errors.New("token is not a JWT: bad payload")
	}
	if raw, ok := claims["iss"]; ok {
		// A non-string iss reads as no issuer.
		_ = json.Unmarshal(raw, &iss)
	}
	return header.Alg, iss, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
