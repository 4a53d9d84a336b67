package oidctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/eosc-perf/api/src/oidctest"
)

// getJSON fetches url with c and decodes a JSON object; it returns the status.
func getJSON(t *testing.T, c *http.Client, url, bearer string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: not a JSON object: %q", url, body)
	}
	return resp.StatusCode, m
}

func TestDiscoveryNamesTheEndpointsBelowTheIssuer(t *testing.T) {
	for _, path := range []string{"", "/oidc", "oidc/"} {
		t.Run("path "+path, func(t *testing.T) {
			p := oidctest.StartT(t, oidctest.Options{Path: path})
			want := "https://127.0.0.1:"
			if !strings.HasPrefix(p.Issuer(), want) || strings.HasSuffix(p.Issuer(), "/") {
				t.Fatalf("issuer %q: want %s<port> without trailing slash", p.Issuer(), want)
			}
			if path != "" && !strings.HasSuffix(p.Issuer(), "/oidc") {
				t.Fatalf("issuer %q does not end in /oidc", p.Issuer())
			}
			status, doc := getJSON(t, p.Client(), p.Issuer()+"/.well-known/openid-configuration", "")
			if status != http.StatusOK {
				t.Fatalf("discovery status %d", status)
			}
			for key, want := range map[string]string{
				"issuer":            p.Issuer(),
				"jwks_uri":          p.Issuer() + "/jwks",
				"userinfo_endpoint": p.Issuer() + "/userinfo",
			} {
				if doc[key] != want {
					t.Errorf("%s = %v, want %s", key, doc[key], want)
				}
			}
			if got := p.Count(oidctest.Discovery); got != 1 {
				t.Errorf("discovery count %d, want 1", got)
			}
		})
	}
}

// verifyWithJWKS checks token against the provider's published key set, the
// way a relying party does.
func verifyWithJWKS(t *testing.T, p *oidctest.Provider, token string) error {
	t.Helper()
	resp, err := p.Client().Get(p.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384,
		jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	tok, err := jwt.ParseSigned(token, algs)
	if err != nil {
		t.Fatalf("minted token does not parse: %v", err)
	}
	var c jwt.Claims
	return tok.Claims(set, &c)
}

func TestMintedTokensVerifyAgainstTheJWKSForEveryAlgorithm(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.PS384, jose.ES256, jose.ES512, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			p := oidctest.StartT(t, oidctest.Options{Algorithm: alg})
			token := p.MintT(t, oidctest.User{Sub: "u1"}, oidctest.TokenOptions{})
			if err := verifyWithJWKS(t, p, token); err != nil {
				t.Fatalf("token does not verify: %v", err)
			}
		})
	}
}

func TestMintedClaims(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256, Now: func() time.Time { return now }})
	nbf := now.Add(time.Minute)
	cases := []struct {
		name  string
		opt   oidctest.TokenOptions
		check func(t *testing.T, c map[string]any, kid string)
	}{
		{"default token lives an hour from now", oidctest.TokenOptions{}, func(t *testing.T, c map[string]any, kid string) {
			want := map[string]any{"iss": p.Issuer(), "sub": "u1", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix())}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			if _, ok := c["nbf"]; ok {
				t.Error("nbf present without NotBefore")
			}
			if kid != p.KeyIDs()[0] {
				t.Errorf("kid %q, want %q", kid, p.KeyIDs()[0])
			}
		}},
		{"expired token expired an hour ago", oidctest.TokenOptions{Expired: true}, func(t *testing.T, c map[string]any, _ string) {
			if c["exp"] != float64(now.Add(-time.Hour).Unix()) {
				t.Errorf("exp %v", c["exp"])
			}
		}},
		{"not before, overridden issuer and extra claims", oidctest.TokenOptions{NotBefore: nbf, Issuer: "https://x/", Claims: map[string]any{"aud": "api", "jti": nil}},
			func(t *testing.T, c map[string]any, _ string) {
				if c["nbf"] != float64(nbf.Unix()) || c["iss"] != "https://x/" || c["aud"] != "api" {
					t.Errorf("claims %v", c)
				}
				if _, ok := c["jti"]; ok {
					t.Error("jti not removed")
				}
			}},
		{"without expiry and kid", oidctest.TokenOptions{OmitExpiry: true, OmitKeyID: true}, func(t *testing.T, c map[string]any, kid string) {
			if _, ok := c["exp"]; ok || kid != "" {
				t.Errorf("exp %v kid %q", c["exp"], kid)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := jwt.ParseSigned(p.MintT(t, oidctest.User{Sub: "u1"}, tc.opt), []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
				t.Fatal(err)
			}
			tc.check(t, c, tok.Headers[0].KeyID)
		})
	}
}

func TestUserinfoAnswersPerUser(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	cases := []struct {
		name string
		user oidctest.User
		want map[string]any
	}{
		{"full user", oidctest.User{Sub: "a", Email: "a@x", EmailVerified: oidctest.Bool(true), Entitlements: []string{"e1", "e2"}},
			map[string]any{"sub": "a", "email": "a@x", "email_verified": true, "eduperson_entitlement": []any{"e1", "e2"}}},
		{"no e-mail, no entitlements", oidctest.User{Sub: "b"}, map[string]any{"sub": "b"}},
		{"email_verified false", oidctest.User{Sub: "c", Email: "c@x", EmailVerified: oidctest.Bool(false)},
			map[string]any{"sub": "c", "email": "c@x", "email_verified": false}},
		{"entitlement as a string", oidctest.User{Sub: "d", Entitlements: []string{"e1"}, EntitlementAsString: true},
			map[string]any{"sub": "d", "eduperson_entitlement": "e1"}},
		{"empty entitlement list is sent", oidctest.User{Sub: "e", Entitlements: []string{}},
			map[string]any{"sub": "e", "eduperson_entitlement": []any{}}},
		{"issuer and extra claims", oidctest.User{Sub: "f", IncludeIssuer: true, Claims: map[string]any{"name": "F", "sub": "g"}},
			map[string]any{"sub": "g", "iss": p.Issuer(), "name": "F"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := p.MintT(t, tc.user, oidctest.TokenOptions{})
			status, got := getJSON(t, p.Client(), p.Issuer()+"/userinfo", token)
			if status != http.StatusOK || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("userinfo %d %v, want 200 %v", status, got, tc.want)
			}
		})
	}
}

func TestUserinfoRejects(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256, Now: clock})
	u := oidctest.User{Sub: "a"}
	revoked := p.MintT(t, u, oidctest.TokenOptions{})
	p.Revoke(revoked)
	cases := []struct {
		name, token string
		fail        int
		want        int
	}{
		{"missing token is 401", "", 0, http.StatusUnauthorized},
		{"token it never minted is 401", "abc.def.ghi", 0, http.StatusUnauthorized},
		{"revoked token is 401", revoked, 0, http.StatusUnauthorized},
		{"expired token is 401", p.MintT(t, u, oidctest.TokenOptions{Expired: true}), 0, http.StatusUnauthorized},
		{"valid token when made to fail gets that status", p.MintT(t, u, oidctest.TokenOptions{}), http.StatusBadGateway, http.StatusBadGateway},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.Fail(oidctest.Userinfo, tc.fail)
			defer p.Fail(oidctest.Userinfo, 0)
			if status, _ := getJSON(t, p.Client(), p.Issuer()+"/userinfo", tc.token); status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
		})
	}
}

func TestSetUserChangesTheAnswerForIssuedTokens(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	token := p.MintT(t, oidctest.User{Sub: "a", Entitlements: []string{"old"}}, oidctest.TokenOptions{})
	p.SetUser(oidctest.User{Sub: "a", Entitlements: []string{"new"}})
	_, got := getJSON(t, p.Client(), p.Issuer()+"/userinfo", token)
	if !reflect.DeepEqual(got["eduperson_entitlement"], []any{"new"}) {
		t.Fatalf("entitlements %v, want [new]", got["eduperson_entitlement"])
	}
}

func TestRotationPublishesOldAndNewKeysUntilRetired(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	old := p.MintT(t, oidctest.User{Sub: "a"}, oidctest.TokenOptions{})
	first := p.KeyIDs()
	kid := p.RotateT(t)
	if got := p.KeyIDs(); len(got) != 2 || got[0] != first[0] || got[1] != kid {
		t.Fatalf("after rotation keys %v, want [%s %s]", got, first[0], kid)
	}
	fresh := p.MintT(t, oidctest.User{Sub: "a"}, oidctest.TokenOptions{})
	for name, tok := range map[string]string{"old": old, "new": fresh} {
		if err := verifyWithJWKS(t, p, tok); err != nil {
			t.Errorf("%s token does not verify during rotation: %v", name, err)
		}
	}
	p.RetireKeys()
	if got := p.KeyIDs(); len(got) != 1 || got[0] != kid {
		t.Fatalf("after retiring keys %v, want [%s]", got, kid)
	}
	if err := verifyWithJWKS(t, p, old); err == nil {
		t.Error("token of a retired key still verifies")
	}
	if err := verifyWithJWKS(t, p, fresh); err != nil {
		t.Errorf("current token does not verify: %v", err)
	}
}

func TestUnknownKeyTokensDoNotVerify(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	for name, o := range map[string]oidctest.TokenOptions{
		"own kid":       {UnknownKey: true},
		"published kid": {UnknownKey: true, KeyID: p.KeyIDs()[0]},
	} {
		if err := verifyWithJWKS(t, p, p.MintT(t, oidctest.User{Sub: "a"}, o)); err == nil {
			t.Errorf("%s: token signed by an unpublished key verifies", name)
		}
	}
}

func TestCountersAndFailures(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	c := p.Client()
	p.Fail(oidctest.JWKS, http.StatusServiceUnavailable)
	if status, _ := getJSON(t, c, p.Issuer()+"/jwks", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("failing JWKS answered %d", status)
	}
	p.Fail(oidctest.JWKS, 0)
	getJSON(t, c, p.Issuer()+"/jwks", "")
	getJSON(t, c, p.Issuer()+"/.well-known/openid-configuration", "")
	if resp, err := c.Get(p.Issuer() + "/nothing"); err == nil {
		resp.Body.Close()
	}
	got := [4]int64{p.Count(oidctest.Discovery), p.Count(oidctest.JWKS), p.Count(oidctest.Userinfo), p.Requests()}
	if want := [4]int64{1, 2, 0, 4}; got != want {
		t.Fatalf("counts (discovery, jwks, userinfo, all) %v, want %v", got, want)
	}
	p.ResetCounts()
	if p.Requests() != 0 || p.Count(oidctest.JWKS) != 0 {
		t.Fatal("ResetCounts left counts")
	}
}

func TestProvidersWithTheirOwnCAsDoNotTrustEachOther(t *testing.T) {
	a := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	b := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256, Path: "/oidc"})
	if a.Issuer() == b.Issuer() {
		t.Fatal("two providers share an issuer")
	}
	if _, err := a.Client().Get(b.Issuer() + "/jwks"); err == nil {
		t.Fatal("client of provider a trusts provider b")
	}
	if b.Requests() != 0 {
		t.Fatalf("a failed TLS handshake counted as a request: %d", b.Requests())
	}
	shared, err := oidctest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	c := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256, CA: shared})
	d := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256, CA: shared})
	for _, p := range []*oidctest.Provider{c, d} {
		if status, _ := getJSON(t, shared.Client(), p.Issuer()+"/jwks", ""); status != http.StatusOK {
			t.Fatalf("shared CA client: status %d", status)
		}
	}
}

func TestConcurrentMintingAndServing(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	c := p.Client()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token, err := p.Mint(oidctest.User{Sub: "u" + string(rune('a'+i))}, oidctest.TokenOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			if i%4 == 0 {
				if _, err := p.Rotate(); err != nil {
					t.Error(err)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("userinfo status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if got := p.Count(oidctest.Userinfo); got != 8 {
		t.Fatalf("userinfo count %d, want 8", got)
	}
}

func TestDelaySlowsTheEndpointDown(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	p.Delay(oidctest.JWKS, 300*time.Millisecond)
	c := p.Client()
	c.Timeout = 100 * time.Millisecond
	if resp, err := c.Get(p.Issuer() + "/jwks"); err == nil {
		resp.Body.Close()
		t.Fatal("delayed endpoint answered within 100 ms")
	}
	p.Delay(oidctest.JWKS, 0)
	if resp, err := c.Get(p.Issuer() + "/jwks"); err != nil {
		t.Fatalf("after removing the delay: %v", err)
	} else {
		resp.Body.Close()
	}
}

func TestSystemCertPoolAlsoTrustsTheProvider(t *testing.T) {
	p := oidctest.StartT(t, oidctest.Options{Algorithm: jose.ES256})
	pool, err := p.CA().SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := getJSON(t, oidctest.ClientWithRoots(pool), p.Issuer()+"/jwks", ""); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if !strings.Contains(string(p.CertPEM()), "BEGIN CERTIFICATE") {
		t.Fatal("CertPEM is not PEM")
	}
}
