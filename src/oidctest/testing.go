package oidctest

// TB is the part of testing.TB that StartT needs; the package does not import
// "testing" so that the dev command can link it without test flags.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartT starts a provider for a test and closes it when the test ends.
func StartT(t TB, opt Options) *Provider {
	t.Helper()
	p, err := Start(opt)
	if err != nil {
		t.Fatalf("oidctest: start provider: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// MintT mints a token or fails the test.
func (p *Provider) MintT(t TB, u User, o TokenOptions) string {
	t.Helper()
	token, err := p.Mint(u, o)
	if err != nil {
		t.Fatalf("oidctest: mint token for %q: %v", u.Sub, err)
	}
	return token
}

// RotateT rotates the signing key or fails the test, returning the new kid.
func (p *Provider) RotateT(t TB) string {
	t.Helper()
	kid, err := p.Rotate()
	if err != nil {
		t.Fatalf("oidctest: rotate key: %v", err)
	}
	return kid
}
