package auth_test

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/oidctest"
)

func TestRepeatedTokenIsServedFromTheCache(t *testing.T) {
	f := newFixture(t, oidctest.Options{}, nil)
	token := f.p.MintT(t, oidctest.User{Sub: "s", Entitlements: []string{"e"}}, oidctest.TokenOptions{})
	first := f.mustIdentity(t, token)
	if got, want := countsOf(f.p), (counts{1, 1, 1, 3}); got != want {
		t.Fatalf("first call requests %v, want %v", got, want)
	}
	for range 3 {
		if id := f.mustIdentity(t, token); !reflect.DeepEqual(id, first) {
			t.Fatalf("cached identity %+v, want %+v", id, first)
		}
	}
	if got, want := countsOf(f.p), (counts{1, 1, 1, 3}); got != want {
		t.Fatalf("cached calls made requests: %v, want %v", got, want)
	}
	// Another token of the issuer reuses discovery and keys: userinfo only.
	f.mustIdentity(t, f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{}))
	if got, want := countsOf(f.p), (counts{1, 1, 2, 4}); got != want {
		t.Fatalf("second token requests %v, want %v", got, want)
	}
}

func TestCallerCannotChangeTheCachedIdentity(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, nil)
	token := f.p.MintT(t, oidctest.User{Sub: "s", EmailVerified: oidctest.Bool(true), Entitlements: []string{"e"}}, oidctest.TokenOptions{})
	id := f.mustIdentity(t, token)
	id.Entitlements[0] = "admin"
	*id.EmailVerified = false
	again := f.mustIdentity(t, token)
	if again.Entitlements[0] != "e" || !*again.EmailVerified {
		t.Fatalf("cached identity was changed through a returned value: %+v", again)
	}
}

func TestCachedIdentityIsRefreshedAfterCacheTTL(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.CacheTTL = 5 * time.Minute })
	u := oidctest.User{Sub: "s", Entitlements: []string{"old"}}
	token := f.p.MintT(t, u, oidctest.TokenOptions{Lifetime: time.Hour})
	f.mustIdentity(t, token)
	u.Entitlements = []string{"new"}
	f.p.SetUser(u)

	f.clock.Advance(4 * time.Minute)
	if got := f.mustIdentity(t, token).Entitlements; !reflect.DeepEqual(got, []string{"old"}) {
		t.Fatalf("within the TTL entitlements %v, want the cached [old]", got)
	}
	f.clock.Advance(2 * time.Minute)
	if got := f.mustIdentity(t, token).Entitlements; !reflect.DeepEqual(got, []string{"new"}) {
		t.Fatalf("after the TTL entitlements %v, want [new]", got)
	}
	if n := f.p.Count(oidctest.Userinfo); n != 2 {
		t.Fatalf("userinfo calls %d, want 2", n)
	}
}

func TestExpiredTokenIsNotServedFromTheCache(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.Leeway = 30 * time.Second })
	token := f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{Lifetime: 2 * time.Minute})
	f.mustIdentity(t, token)
	before := countsOf(f.p)
	f.clock.Advance(2*time.Minute + 31*time.Second)
	_, err := f.authenticate(token)
	wantUnauthenticated(t, err, auth.MsgNotVerified+"token is expired")
	if got := countsOf(f.p); got != before {
		t.Fatalf("expired token made requests: %v, want %v", got, before)
	}
}

func TestTokenWithoutExpiryIsNotCached(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, nil)
	token := f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{OmitExpiry: true})
	f.mustIdentity(t, token)
	f.mustIdentity(t, token)
	if n := f.p.Count(oidctest.Userinfo); n != 2 {
		t.Fatalf("userinfo calls %d, want 2 (no caching without exp)", n)
	}
}

func TestCacheIsBoundedAndEvictsTheLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.CacheSize = 2 })
	tokens := make([]string, 3)
	for i := range tokens {
		tokens[i] = f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{})
	}
	f.mustIdentity(t, tokens[0])
	f.mustIdentity(t, tokens[1])
	f.mustIdentity(t, tokens[0]) // 0 is now the most recently used
	f.mustIdentity(t, tokens[2]) // evicts 1
	base := f.p.Count(oidctest.Userinfo)
	f.mustIdentity(t, tokens[0])
	f.mustIdentity(t, tokens[2])
	if n := f.p.Count(oidctest.Userinfo) - base; n != 0 {
		t.Fatalf("recently used tokens made %d userinfo calls, want 0", n)
	}
	f.mustIdentity(t, tokens[1])
	if n := f.p.Count(oidctest.Userinfo) - base; n != 1 {
		t.Fatalf("evicted token made %d userinfo calls, want 1", n)
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t, oidctest.Options{}, func(o *auth.Options) {
		o.RefreshInterval = 10 * time.Second
		o.MetadataTTL = time.Hour
		o.CacheTTL = time.Minute
	})
	u := oidctest.User{Sub: "s"}
	oldToken := f.p.MintT(t, u, oidctest.TokenOptions{Lifetime: 3 * time.Hour})
	laterOldToken := f.p.MintT(t, u, oidctest.TokenOptions{Lifetime: 3 * time.Hour})
	f.mustIdentity(t, oldToken)
	f.p.RotateT(t)
	newToken := f.p.MintT(t, u, oidctest.TokenOptions{Lifetime: 3 * time.Hour})

	// Within the refresh interval an unknown kid does not refetch the keys.
	_, err := f.authenticate(newToken)
	wantUnauthenticated(t, err, auth.MsgNotVerified+"no published key matches the token")
	if n := f.p.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("JWKS fetched %d times within the refresh interval, want 1", n)
	}
	// After it, the new kid refetches once and is accepted without a restart.
	f.clock.Advance(11 * time.Second)
	f.mustIdentity(t, newToken)
	if n := f.p.Count(oidctest.JWKS); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	// During the grace period the old key is still published and cached.
	f.mustIdentity(t, laterOldToken)

	// Once the provider retires the old key, tokens signed by it stop working
	// when our copy of the key set expires.
	f.p.RetireKeys()
	f.clock.Advance(time.Hour)
	_, err = f.authenticate(oldToken)
	wantUnauthenticated(t, err, auth.MsgNotVerified+"no published key matches the token")
	f.mustIdentity(t, f.p.MintT(t, u, oidctest.TokenOptions{}))
}

func TestForgedKidsCannotHammerTheKeySet(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) { o.RefreshInterval = 10 * time.Second })
	f.mustIdentity(t, f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{}))
	for i := range 20 {
		tok := f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{UnknownKey: true, KeyID: "forged-" + string(rune('a'+i))})
		_, err := f.authenticate(tok)
		wantUnauthenticated(t, err, auth.MsgNotVerified+"no published key matches the token")
	}
	if n := f.p.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("JWKS fetched %d times for 20 forged kids, want 1", n)
	}
	f.clock.Advance(11 * time.Second)
	_, _ = f.authenticate(f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{UnknownKey: true, KeyID: "forged-z"}))
	if n := f.p.Count(oidctest.JWKS); n != 2 {
		t.Fatalf("JWKS fetched %d times after the interval, want 2", n)
	}
}

func TestProviderOutages(t *testing.T) {
	f := newFixture(t, oidctest.Options{Algorithm: jose.ES256}, func(o *auth.Options) {
		o.RefreshInterval = 10 * time.Second
		o.MetadataTTL = time.Hour
	})
	mint := func() string {
		return f.p.MintT(t, oidctest.User{Sub: "s"}, oidctest.TokenOptions{Lifetime: 3 * time.Hour})
	}

	// Discovery down: 401, and the provider is not asked again at once.
	f.p.Fail(oidctest.Discovery, http.StatusServiceUnavailable)
	for range 3 {
		_, err := f.authenticate(mint())
		wantUnauthenticated(t, err, auth.MsgNotVerified+"issuer configuration is unavailable")
	}
	if n := f.p.Count(oidctest.Discovery); n != 1 {
		t.Fatalf("discovery asked %d times during the back-off, want 1", n)
	}
	// Back up: after the back-off it works.
	f.p.Fail(oidctest.Discovery, 0)
	f.clock.Advance(11 * time.Second)
	f.mustIdentity(t, mint())

	// Down again after the metadata expired: the last good discovery
	// document and keys keep serving.
	f.p.Fail(oidctest.Discovery, http.StatusServiceUnavailable)
	f.p.Fail(oidctest.JWKS, http.StatusServiceUnavailable)
	f.clock.Advance(time.Hour + time.Second)
	before := countsOf(f.p)
	f.mustIdentity(t, mint())
	if got, want := countsOf(f.p), before.plus(counts{1, 1, 1, 3}); got != want {
		t.Fatalf("requests during the outage %v, want %v", got, want)
	}
}

func TestConcurrentRequestsForOneTokenShareOneVerification(t *testing.T) {
	f := newFixture(t, oidctest.Options{}, nil)
	// Slow endpoints keep the first verification running while the others
	// arrive, so this tests the sharing, not the cache.
	f.p.Delay(oidctest.Userinfo, 200*time.Millisecond)
	tokens := []string{
		f.p.MintT(t, oidctest.User{Sub: "a"}, oidctest.TokenOptions{}),
		f.p.MintT(t, oidctest.User{Sub: "b"}, oidctest.TokenOptions{}),
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := tokens[i%2]
			id, err := f.authenticate(token)
			if err != nil {
				t.Error(err)
				return
			}
			if want := string(rune('a' + i%2)); id.Sub != want {
				t.Errorf("sub %q, want %q", id.Sub, want)
			}
		}()
	}
	wg.Wait()
	if got, want := countsOf(f.p), (counts{1, 1, 2, 4}); got != want {
		t.Fatalf("40 concurrent requests with 2 tokens made %v requests, want %v", got, want)
	}
}
