package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/eosc-perf/api/src/perf"
)

func TestIdentityFromUserinfo(t *testing.T) {
	const iss = "https://op.example/oidc"
	yes, no := true, false
	cases := []struct {
		name     string
		userinfo string
		want     perf.Identity
		wantErr  bool
	}{
		{"minimal", `{"sub":"s"}`, perf.Identity{Sub: "s", Iss: iss}, false},
		{"missing sub is an error", `{"email":"a@b"}`, perf.Identity{}, true},
		{"empty sub is an error", `{"sub":""}`, perf.Identity{}, true},
		{"numeric sub is an error", `{"sub":42}`, perf.Identity{}, true},
		{"empty iss falls back to the issuer", `{"sub":"s","iss":""}`, perf.Identity{Sub: "s", Iss: iss}, false},
		{"null email is no email", `{"sub":"s","email":null}`, perf.Identity{Sub: "s", Iss: iss}, false},
		{"empty email string is an e-mail claim", `{"sub":"s","email":""}`, perf.Identity{Sub: "s", Iss: iss, HasEmail: true}, false},
		{"email_verified string False", `{"sub":"s","email_verified":"False"}`, perf.Identity{Sub: "s", Iss: iss, EmailVerified: &no}, false},
		{"email_verified true", `{"sub":"s","email_verified":true}`, perf.Identity{Sub: "s", Iss: iss, EmailVerified: &yes}, false},
		{"email_verified null is absent", `{"sub":"s","email_verified":null}`, perf.Identity{Sub: "s", Iss: iss}, false},
		{"email_verified number is absent", `{"sub":"s","email_verified":1}`, perf.Identity{Sub: "s", Iss: iss}, false},
		{"entitlement string is one entitlement", `{"sub":"s","eduperson_entitlement":"urn:x:admin"}`,
			perf.Identity{Sub: "s", Iss: iss, Entitlements: []string{"urn:x:admin"}}, false},
		{"entitlement list drops non-strings and empties", `{"sub":"s","eduperson_entitlement":["a",1,null,"","b"]}`,
			perf.Identity{Sub: "s", Iss: iss, Entitlements: []string{"a", "b"}}, false},
		{"entitlement object is none", `{"sub":"s","eduperson_entitlement":{"a":1}}`, perf.Identity{Sub: "s", Iss: iss}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var claims map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.userinfo), &claims); err != nil {
				t.Fatal(err)
			}
			got, err := identityFromUserinfo(claims, iss)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("identity %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIdentityCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	k := func(b byte) tokenKey { return tokenKey{b} }
	id := func(sub string) perf.Identity { return perf.Identity{Sub: sub} }

	c := newIdentityCache(2)
	c.put(k(1), id("one"), now.Add(time.Minute))
	c.put(k(2), id("two"), now.Add(time.Second))
	if got, ok := c.get(k(1), now); !ok || got.Sub != "one" {
		t.Fatalf("get 1: %v %v", got, ok)
	}
	if _, ok := c.get(k(2), now.Add(time.Second)); ok {
		t.Fatal("entry served at its deadline")
	}
	if c.len() != 1 {
		t.Fatalf("expired entry kept: len %d", c.len())
	}
	c.put(k(2), id("two"), now.Add(time.Minute))
	c.put(k(3), id("three"), now.Add(time.Minute)) // evicts 1, the least recently used
	if _, ok := c.get(k(1), now); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if c.len() != 2 {
		t.Fatalf("len %d, want 2", c.len())
	}
	c.put(k(3), id("three again"), now.Add(time.Minute))
	if got, _ := c.get(k(3), now); got.Sub != "three again" {
		t.Fatalf("update lost: %v", got)
	}

	off := newIdentityCache(-1)
	off.put(k(1), id("one"), now.Add(time.Minute))
	if _, ok := off.get(k(1), now); ok {
		t.Fatal("disabled cache stored an entry")
	}
}

func TestDiscoveryDocumentMustSpeakForTheTrustedIssuer(t *testing.T) {
	var doc string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, doc)
	}))
	defer srv.Close()
	a, err := New(Options{TrustedIssuers: []string{srv.URL}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ok := `{"issuer":"` + srv.URL + `/","jwks_uri":"https://k.example/jwks","userinfo_endpoint":"https://k.example/ui"}`
	cases := []struct {
		name, doc string
		wantErr   bool
	}{
		{"matching issuer (trailing slash ignored)", ok, false},
		{"another issuer", `{"issuer":"https://evil.example","jwks_uri":"https://k.example/jwks","userinfo_endpoint":"https://k.example/ui"}`, true},
		{"plain http key set", `{"issuer":"` + srv.URL + `","jwks_uri":"http://k.example/jwks","userinfo_endpoint":"https://k.example/ui"}`, true},
		{"no userinfo endpoint", `{"issuer":"` + srv.URL + `","jwks_uri":"https://k.example/jwks"}`, true},
		{"not JSON", `<html>`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc = tc.doc
			m, err := a.discover(context.Background(), srv.URL)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (m.jwksURI != "https://k.example/jwks" || m.userinfoURL != "https://k.example/ui") {
				t.Fatalf("metadata %+v", m)
			}
		})
	}
}

func TestKeysAreOnlyUsedForTheirAlgorithm(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: priv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := signed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(compact, acceptedAlgs)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		key     jose.JSONWebKey
		matched bool
		ok      bool
	}{
		{"key without alg verifies", jose.JSONWebKey{Key: &priv.PublicKey}, true, true},
		{"key for PS256 verifies", jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: "PS256"}, true, true},
		{"key published for RS256 is not used for PS256", jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: "RS256"}, false, false},
		{"EC key is not used for PS256", jose.JSONWebKey{Key: &ec.PublicKey}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload, matched, _ := verifyWithKeys(jws, []jose.JSONWebKey{tc.key}, "", "PS256")
			if matched != tc.matched || (payload != nil) != tc.ok {
				t.Fatalf("matched %v verified %v, want %v %v", matched, payload != nil, tc.matched, tc.ok)
			}
		})
	}
}
