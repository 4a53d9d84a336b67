package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one private key of the provider with its key id.
type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// newSigningKey generates a key for alg. The key id is the RFC 7638
// thumbprint, as many real providers use, so ids never repeat.
func newSigningKey(alg jose.SignatureAlgorithm) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("oidctest: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("oidctest: generate %s key: %w", alg, err)
	}
	pub := jose.JSONWebKey{Key: priv.Public()}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oidctest: key thumbprint: %w", err)
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp)[:16], alg: alg, priv: priv}, nil
}

// public is the JWKS entry of the key.
func (k *signingKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// signer signs with the key. kid is put into the header unless omitKID; a
// non-empty kidOverride replaces the key's own id (to forge a token that
// claims a published kid but is signed by another key).
func (k *signingKey) signer(kidOverride string, omitKID bool) (jose.Signer, error) {
	kid := k.kid
	if kidOverride != "" {
		kid = kidOverride
	}
	var key any = jose.JSONWebKey{Key: k.priv, KeyID: kid, Algorithm: string(k.alg)}
	if omitKID {
		key = k.priv
	}
	opts := (&jose.SignerOptions{}).WithType("at+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("oidctest: signer: %w", err)
	}
	return s, nil
}
