// Package api is the HTTP layer of eosc-perf-api: the route table, the
// middleware, request decoding and validation, the error bodies and one
// file of handlers per resource. Only routes.go and params.go use
// gorilla/mux.
package api

import (
	"context"
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/schema"
	"github.com/eosc-perf/api/src/store"
	"github.com/rs/zerolog"
)

// Authenticator turns an Authorization header into an identity, or a
// perf.Unauthenticated error (implemented by package auth).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (perf.Identity, error)
}

// PATVerifier turns a personal access token into its caller, or a
// perf.Unauthenticated error (implemented by auth.PATVerifier).
type PATVerifier interface {
	Verify(ctx context.Context, secret string) (perf.Caller, error)
}

// Options are what the server needs from the composition root.
type Options struct {
	Logger            zerolog.Logger
	Store             *store.Store
	Auth              Authenticator
	PATs              PATVerifier // personal access tokens (nil: every PAT is refused)
	AdminEntitlements []string
	BackendRoute      string   // servers[0].url of the served OpenAPI document
	CORSOrigins       []string // empty: no CORS headers
	MaxBodyBytes      int64
	ExportMaxRows     int      // EXPORT_MAX_ROWS (0: DefaultExportMaxRows)
	Metrics           *Metrics // nil: no metrics
	Mailer            Mailer   // nil: no mail
	// Images checks that a benchmark's container image exists (nil: no
	// check, BENCHMARK_IMAGE_CHECK=off).
	Images ImageChecker
	// Schemas caches the compiled JSON Schemas of benchmarks.
	Schemas *schema.Cache
	// Limits bound what one request may cost (zero: no limits).
	Limits Limits
	// InFlight, when set, records the requests in flight.
	InFlight *InFlight
	// Ready reports whether the service can serve (database reachable,
	// schema current), for /readyz.
	Ready func(ctx context.Context) error
}

// server holds the dependencies of the handlers.
type server struct {
	opt   Options
	store *store.Store
}

// NewServer returns the complete HTTP handler: middleware around the
// router.
func NewServer(opt Options) http.Handler {
	s := &server{opt: opt, store: opt.Store}
	return s.middleware(s.router())
}

// ImageChecker verifies a container image (package registry).
type ImageChecker interface {
	Check(ctx context.Context, image, tag string) error
}

// Mailer queues notifications (package notify). Send never blocks on the
// network and never fails the request.
type Mailer interface {
	Send(m perf.Mail)
}

// notify hands a mail to the mailer, if one is configured.
func (s *server) notify(m perf.Mail) {
	if s.opt.Mailer != nil {
		s.opt.Mailer.Send(m)
	}
}
