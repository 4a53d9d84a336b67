package app

import (
	"context"
	"io"
	"net"

	"github.com/eosc-perf/api/src/store"
	"github.com/rs/zerolog"
)

// ServeHooks let a program that embeds the service add to the server it
// starts: the development command (src/dev) trusts its own OpenID provider,
// loads sample data and prints its banner through them. The service binary
// never sets them.
type ServeHooks struct {
	// ExtraCA is PEM of CA certificates trusted for the OpenID providers,
	// besides the system roots and OIDC_CA_FILE.
	ExtraCA []byte
	// Seed runs after the migrations, before the server listens.
	Seed func(ctx context.Context, st *store.Store) error
	// OnListen is called once the API listens on addr.
	OnListen func(addr net.Addr)
}

// Serve runs the service with the settings s until ctx ends, as `serve`
// does, with the hooks added.
func Serve(ctx context.Context, s Settings, log zerolog.Logger, hooks ServeHooks) error {
	return serve(ctx, s, log, &serveHooks{extraCA: hooks.ExtraCA, seed: hooks.Seed, onListen: hooks.OnListen})
}

// NewLogger returns the service's logger for the settings s: JSON lines in
// production, console lines in development, at LOG_LEVEL.
func NewLogger(s Settings, w io.Writer) zerolog.Logger { return newLogger(s, w) }
