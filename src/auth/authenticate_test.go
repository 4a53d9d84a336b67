package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/perf"
)

func TestHeaderProblemsAre401WithoutNetwork(t *testing.T) {
	f := newFixture(t, oidctest.Options{}, nil)
	cases := []struct{ name, header, msg string }{
		{"missing header", "", auth.MsgNoHeader},
		{"basic scheme", "Basic dXNlcjpwYXNz", auth.MsgNoBearer},
		{"lower-case bearer", "bearer abc.def.ghi", auth.MsgNoBearer},
		{"bearer without space", "BearerX", auth.MsgNoBearer},
		{"two spaces keep the prefix but not the token", "Bearer  ", auth.MsgNoToken},
		{"empty token", "Bearer ", auth.MsgNoToken},
		{"empty token with the space stripped by net/http", "Bearer", auth.MsgNoToken},
		{"opaque token", "Bearer 2YotnFZFEjr1zCsicMWpAA", auth.MsgNoUserIdentity},
		{"three garbage parts", "Bearer a.b.c", auth.MsgNoUserIdentity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.a.Authenticate(context.Background(), tc.header)
			wantUnauthenticated(t, err, tc.msg)
		})
	}
	if n := f.p.Requests(); n != 0 {
		t.Fatalf("header problems made %d provider requests", n)
	}
}

// hs256Token signs claims with a shared secret, which we must refuse.
func hs256Token(t *testing.T, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tamper replaces the token's sub without re-signing.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	c["sub"] = "someone-else"
	b, _ = json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestRejectedTokens(t *testing.T) {
	c := newClock()
	trusted := oidctest.StartT(t, oidctest.Options{Now: c.Now})
	untrusted := oidctest.StartT(t, oidctest.Options{Now: c.Now, Path: "/oidc"})
	user := oidctest.User{Sub: "alice", Email: "alice@example.org"}
	now := c.Now()
	mint := func(o oidctest.TokenOptions) string { return trusted.MintT(t, user, o) }
	good := mint(oidctest.TokenOptions{})
	revoked := mint(oidctest.TokenOptions{})
	trusted.Revoke(revoked)

	cases := []struct {
		name  string
		token string
		fail  oidctest.Endpoint // made to fail with 500 for this case
		msg   string
		calls counts // requests the trusted provider receives
	}{
		{"untrusted issuer", untrusted.MintT(t, user, oidctest.TokenOptions{}), "",
			auth.MsgUntrusted + untrusted.Issuer(), counts{}},
		{"untrusted issuer is named without trailing slash", mint(oidctest.TokenOptions{Issuer: "https://evil.example/"}), "",
			auth.MsgUntrusted + "https://evil.example", counts{}},
		{"no issuer", mint(oidctest.TokenOptions{Claims: map[string]any{"iss": nil}}), "",
			auth.MsgNotVerified + "token has no issuer", counts{}},
		{"shared-secret algorithm", hs256Token(t, map[string]any{"iss": trusted.Issuer(), "sub": "alice"}), "",
			auth.MsgNotVerified + `signing algorithm "HS256" is not accepted`, counts{}},
		{"expired", mint(oidctest.TokenOptions{Expired: true}), "",
			auth.MsgNotVerified + "token is expired", counts{1, 1, 0, 2}},
		{"not valid yet", mint(oidctest.TokenOptions{NotBefore: now.Add(10 * time.Minute)}), "",
			auth.MsgNotVerified + "token is not valid yet", counts{1, 1, 0, 2}},
		{"issued in the future", mint(oidctest.TokenOptions{IssuedAt: now.Add(10 * time.Minute)}), "",
			auth.MsgNotVerified + "token is issued in the future", counts{1, 1, 0, 2}},
		{"signed by an unknown key", mint(oidctest.TokenOptions{UnknownKey: true}), "",
			auth.MsgNotVerified + "no published key matches the token", counts{1, 1, 0, 2}},
		{"unknown key claiming a published kid", mint(oidctest.TokenOptions{UnknownKey: true, KeyID: trusted.KeyIDs()[0]}), "",
			auth.MsgNotVerified + "signature is invalid", counts{1, 1, 0, 2}},
		{"unknown key without kid", mint(oidctest.TokenOptions{UnknownKey: true, OmitKeyID: true}), "",
			auth.MsgNotVerified + "signature is invalid", counts{1, 1, 0, 2}},
		{"tampered payload", tamper(t, good), "",
			auth.MsgNotVerified + "signature is invalid", counts{1, 1, 0, 2}},
		{"discovery fails", good, oidctest.Discovery,
			auth.MsgNotVerified + "issuer configuration is unavailable", counts{1, 0, 0, 1}},
		{"key set fails", good, oidctest.JWKS,
			auth.MsgNotVerified + "signing keys are unavailable", counts{1, 1, 0, 2}},
		{"userinfo fails", good, oidctest.Userinfo, auth.MsgNoUserIdentity, counts{1, 1, 1, 3}},
		{"userinfo refuses a revoked token", revoked, "", auth.MsgNoUserIdentity, counts{1, 1, 1, 3}},
		{"userinfo without sub", mint(oidctest.TokenOptions{}), "", auth.MsgNoUserIdentity, counts{1, 1, 1, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "userinfo without sub" {
				trusted.SetUser(oidctest.User{Sub: user.Sub, Claims: map[string]any{"sub": nil}})
				defer trusted.SetUser(user)
			}
			if tc.fail != "" {
				trusted.Fail(tc.fail, http.StatusInternalServerError)
				defer trusted.Fail(tc.fail, 0)
			}
			trusted.ResetCounts()
			untrusted.ResetCounts()
			// A fresh authenticator per case: no cached issuer state.
			a := newAuthenticator(t, trusted, c, nil)
			_, err := a.Authenticate(context.Background(), "Bearer "+tc.token)
			wantUnauthenticated(t, err, tc.msg)
			if got := countsOf(trusted); got != tc.calls {
				t.Errorf("trusted provider requests (discovery, jwks, userinfo, all) %v, want %v", got, tc.calls)
			}
			if n := untrusted.Requests(); n != 0 {
				t.Errorf("untrusted provider was contacted %d times", n)
			}
		})
	}
}

func TestAcceptedTokensGiveTheUserinfoIdentity(t *testing.T) {
	f := newFixture(t, oidctest.Options{}, nil)
	iss := f.p.Issuer()
	yes, no := true, false
	cases := []struct {
		name string
		user oidctest.User
		want perf.Identity
	}{
		{"full userinfo",
			oidctest.User{Sub: "a", Email: "a@x.org", EmailVerified: oidctest.Bool(true), Entitlements: []string{"urn:e1", "urn:e2"}},
			perf.Identity{Sub: "a", Iss: iss, Email: "a@x.org", HasEmail: true, EmailVerified: &yes, Entitlements: []string{"urn:e1", "urn:e2"}}},
		{"no e-mail and no email_verified", oidctest.User{Sub: "b"}, perf.Identity{Sub: "b", Iss: iss}},
		{"email_verified false", oidctest.User{Sub: "c", Email: "c@x.org", EmailVerified: oidctest.Bool(false)},
			perf.Identity{Sub: "c", Iss: iss, Email: "c@x.org", HasEmail: true, EmailVerified: &no}},
		{"email_verified as a string", oidctest.User{Sub: "d", Claims: map[string]any{"email_verified": "true"}},
			perf.Identity{Sub: "d", Iss: iss, EmailVerified: &yes}},
		{"single entitlement as a string is one entitlement",
			oidctest.User{Sub: "e", Entitlements: []string{"urn:admin"}, EntitlementAsString: true},
			perf.Identity{Sub: "e", Iss: iss, Entitlements: []string{"urn:admin"}}},
		{"iss from userinfo wins", oidctest.User{Sub: "f", Claims: map[string]any{"iss": "https://other.example/"}},
			perf.Identity{Sub: "f", Iss: "https://other.example/"}},
		{"iss in userinfo equal to the issuer", oidctest.User{Sub: "g", IncludeIssuer: true}, perf.Identity{Sub: "g", Iss: iss}},
		{"sub comes from userinfo, not the token", oidctest.User{Sub: "h", Claims: map[string]any{"sub": "h-userinfo"}},
			perf.Identity{Sub: "h-userinfo", Iss: iss}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := f.mustIdentity(t, f.p.MintT(t, tc.user, oidctest.TokenOptions{}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("identity %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIssuerTrailingSlashesAreIgnoredOnBothSides(t *testing.T) {
	c := newClock()
	p := oidctest.StartT(t, oidctest.Options{Now: c.Now, Path: "/oidc"})
	cases := []struct{ name, trusted, tokenIss string }{
		{"trusted entry with slash", p.Issuer() + "/", p.Issuer()},
		{"token iss with slash", p.Issuer(), p.Issuer() + "/"},
		{"both with slashes", p.Issuer() + "//", p.Issuer() + "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuthenticator(t, p, c, func(o *auth.Options) { o.TrustedIssuers = []string{tc.trusted} })
			token := p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{Issuer: tc.tokenIss})
			id, err := a.Authenticate(context.Background(), "Bearer "+token)
			if err != nil {
				t.Fatal(err)
			}
			if id.Iss != p.Issuer() {
				t.Fatalf("iss %q, want %q (normalised)", id.Iss, p.Issuer())
			}
		})
	}
}

// TestIssuerWithTwoTrailingSlashesIsNotTrusted: only one trailing slash is
// a spelling of the trusted issuer; "iss//" names another resource, and is
// refused before any call to the provider.
func TestIssuerWithTwoTrailingSlashesIsNotTrusted(t *testing.T) {
	c := newClock()
	p := oidctest.StartT(t, oidctest.Options{Now: c.Now, Path: "/oidc"})
	for _, iss := range []string{p.Issuer() + "//", p.Issuer() + "///"} {
		a := newAuthenticator(t, p, c, func(o *auth.Options) { o.TrustedIssuers = []string{p.Issuer()} })
		token := p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{Issuer: iss})
		_, err := a.Authenticate(context.Background(), "Bearer "+token)
		var pe *perf.Error
		if !errors.As(err, &pe) || pe.Kind != perf.Unauthenticated || !strings.HasPrefix(pe.Msg, auth.MsgUntrusted) {
			t.Fatalf("iss %q: err = %v, want the untrusted-issuer 401", iss, err)
		}
	}
}

func TestEveryAcceptedAlgorithmVerifies(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, oidctest.Options{Algorithm: alg}, nil)
			if id := f.mustIdentity(t, f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{})); id.Sub != "s" {
				t.Fatalf("sub %q", id.Sub)
			}
		})
	}
}

func TestLeewayAllowsSmallClockSkew(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.Leeway = 30 * time.Second })
	now := f.clock.Now()
	cases := []struct {
		name string
		opt  oidctest.TokenOptions
		msg  string // "" = accepted
	}{
		{"expired 10 s ago is accepted", oidctest.TokenOptions{IssuedAt: now.Add(-time.Hour), Lifetime: time.Hour - 10*time.Second}, ""},
		{"expired a minute ago is refused", oidctest.TokenOptions{IssuedAt: now.Add(-time.Hour), Lifetime: time.Hour - time.Minute},
			auth.MsgNotVerified + "token is expired"},
		{"valid in 10 s is accepted", oidctest.TokenOptions{NotBefore: now.Add(10 * time.Second)}, ""},
		{"issued 10 s ahead is accepted", oidctest.TokenOptions{IssuedAt: now.Add(10 * time.Second)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The provider's userinfo would refuse a token past exp; the
			// verifier's decision is what this test is about.
			tok := f.p.MintT(t, oidctest.User{Sub: "s"}, tc.opt)
			_, err := f.authenticate(tok)
			if tc.msg == "" {
				if err != nil && !strings.Contains(err.Error(), auth.MsgNoUserIdentity) {
					t.Fatalf("token rejected by the verifier: %v", err)
				}
				return
			}
			wantUnauthenticated(t, err, tc.msg)
		})
	}
}

func TestNewRefusesIssuersThatAreNotHTTPS(t *testing.T) {
	for _, iss := range []string{"http://aai.egi.eu/oidc", "aai.egi.eu", "https://", "https://x/?a=b", "https://x/#f"} {
		if _, err := auth.New(auth.Options{TrustedIssuers: []string{iss}}); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
	a, err := auth.New(auth.Options{TrustedIssuers: []string{"https://aai.egi.eu/oidc/", " ", "", "https://b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.TrustedIssuers(), []string{"https://aai.egi.eu/oidc", "https://b.example"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("trusted issuers %v, want %v", got, want)
	}
}

func TestCancelledCallerGetsUnavailable(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, nil)
	f.p.Delay(oidctest.Userinfo, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	token := f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{})
	_, err := f.a.Authenticate(ctx, "Bearer "+token)
	if perf.KindOf(err) != perf.Unavailable {
		t.Fatalf("error %v, want kind unavailable", err)
	}
	// The shared verification goes on without the caller: the next call
	// joins it (or finds its result cached) instead of asking again.
	if _, err := f.authenticate(token); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if n := f.p.Count(oidctest.Userinfo); n != 1 {
		t.Fatalf("userinfo called %d times, want 1", n)
	}
}

func TestSlowUserinfoTimesOut(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.Timeout = 100 * time.Millisecond })
	f.p.Delay(oidctest.Userinfo, 2*time.Second)
	start := time.Now()
	_, err := f.authenticate(f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{}))
	wantUnauthenticated(t, err, auth.MsgNoUserIdentity)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v despite a 100 ms timeout", d)
	}
}
