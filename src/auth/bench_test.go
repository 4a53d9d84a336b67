package auth_test

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/eosc-perf/api/src/oidctest"
)

// BenchmarkAuthenticateCached measures the per-request cost of a token that
// is already cached: the path every authenticated API request takes.
func BenchmarkAuthenticateCached(b *testing.B) {
	f := newFixture(b, oidctest.Options{Algorithm: jose.ES256}, nil)
	header := "Bearer " + f.p.MintT(b, oidctest.User{
		Sub: "s", Email: "s@example.org", EmailVerified: oidctest.Bool(true),
		Entitlements: []string{"urn:mace:egi.eu:group:perf:role=admin"},
	}, oidctest.TokenOptions{})
	ctx := context.Background()
	if _, err := f.a.Authenticate(ctx, header); err != nil {
		b.Fatal(err)
	}
	before := f.p.Requests()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.a.Authenticate(ctx, header); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := f.p.Requests() - before; n != 0 {
		b.Fatalf("cached authentications made %d provider requests", n)
	}
}
