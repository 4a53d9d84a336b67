package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/perf"
)

// clock is a settable clock shared by a provider and an authenticator, so
// minted iat/exp and the verifier agree on "now".
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is one trusted provider and an authenticator that trusts it.
type fixture struct {
	p     *oidctest.Provider
	a     *auth.Authenticator
	clock *clock
}

// newFixture starts a trusted RS256 provider on the fixture's clock; opt
// adjusts the authenticator options.
func newFixture(t testing.TB, popt oidctest.Options, opt func(*auth.Options)) *fixture {
	t.Helper()
	c := newClock()
	popt.Now = c.Now
	p := oidctest.StartT(t, popt)
	return &fixture{p: p, a: newAuthenticator(t, p, c, opt), clock: c}
}

// newAuthenticator builds an authenticator trusting p (and p's CA).
func newAuthenticator(t testing.TB, p *oidctest.Provider, c *clock, opt func(*auth.Options)) *auth.Authenticator {
	t.Helper()
	o := auth.Options{
		TrustedIssuers: []string{p.Issuer()},
		HTTPClient:     p.Client(),
		Now:            c.Now,
	}
	if opt != nil {
		opt(&o)
	}
	a, err := auth.New(o)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return a
}

// counts is a snapshot of a provider's counters.
type counts struct{ discovery, jwks, userinfo, all int64 }

func countsOf(p *oidctest.Provider) counts {
	return counts{p.Count(oidctest.Discovery), p.Count(oidctest.JWKS), p.Count(oidctest.Userinfo), p.Requests()}
}

func (c counts) plus(d counts) counts {
	return counts{c.discovery + d.discovery, c.jwks + d.jwks, c.userinfo + d.userinfo, c.all + d.all}
}

// authenticate calls Authenticate with a bearer header.
func (f *fixture) authenticate(token string) (perf.Identity, error) {
	return f.a.Authenticate(context.Background(), "Bearer "+token)
}

// mustIdentity authenticates and fails the test on error.
func (f *fixture) mustIdentity(t testing.TB, token string) perf.Identity {
	t.Helper()
	id, err := f.authenticate(token)
	if err != nil {
		t.Fatalf("token rejected: %v", err)
	}
	return id
}

// wantUnauthenticated asserts a 401 error with exactly msg.
func wantUnauthenticated(t testing.TB, err error, msg string) {
	t.Helper()
	var pe *perf.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *perf.Error %q", err, err, msg)
	}
	if pe.Kind != perf.Unauthenticated || pe.Msg != msg {
		t.Fatalf("error kind %v msg %q, want unauthenticated %q (cause: %v)", pe.Kind, pe.Msg, msg, pe.Err)
	}
}
