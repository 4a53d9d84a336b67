// Package dev is the development environment, `eosc-perf-api-dev`: a
// throwaway PostgreSQL, the migrations, sample data, a development OpenID
// provider that mints tokens and is trusted only by this process, and the
// API in development mode.
//
// It is a program of its own (src/cmd/eosc-perf-api-dev) rather than a
// subcommand of the service: what it needs — src/pgtest, src/oidctest (a
// token-minting provider) and through them the testing package — must never
// be linked into the service binary (src/cmd/eosc-perf-api checks that).
package dev

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/eosc-perf/api/src/app"
	"github.com/eosc-perf/api/src/oidctest"
	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/pgtest"
	"github.com/eosc-perf/api/src/store"
)

// Development identities printed by `dev`.
const (
	devAdminEntitlement = "urn:mace:egi.eu:group:eosc-perf:role=admin#dev"
	devTokenLifetime    = 12 * time.Hour
)

// Run runs `eosc-perf-api-dev` with the command line args (args[0] is the
// program name) and returns the process exit code: 0 after Ctrl-C (ctx
// ends), 2 for a bad command line, 1 when something fails. Settings not set
// by dev itself (LOG_LEVEL, say) are read through lookup. Ctrl-C stops and
// removes everything it started.
func Run(ctx context.Context, args []string, lookup app.LookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eosc-perf-api-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":5000", "listen address of the API")
	opAddr := fs.String("oidc-addr", "127.0.0.1:0", "listen address of the development OpenID provider")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eosc-perf-api-dev: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if err := run(ctx, *addr, *opAddr, lookup, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "eosc-perf-api-dev: %v\n", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, addr, opAddr string, lookup app.LookupEnv, stdout, stderr io.Writer) error {

	fmt.Fprintln(stderr, "starting a throwaway PostgreSQL ...")
	cluster, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		return fmt.Errorf("start PostgreSQL (is it installed? initdb, pg_ctl and postgres must be on PATH or under /usr/lib/postgresql): %w", err)
	}
	defer cluster.Stop()
	dsn, err := cluster.CreateDatabase(ctx, "eosc_perf")
	if err != nil {
		return err
	}
	op, err := oidctest.Start(oidctest.Options{Addr: opAddr, Path: "/oidc"})
	if err != nil {
		return fmt.Errorf("start the development OpenID provider: %w", err)
	}
	defer op.Close()

	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	pw, _ := u.User.Password()
	overlay := map[string]string{
		"FLASK_ENV":             "development",
		"DB_USER":               u.User.Username(),
		"DB_PASSWORD":           pw,
		"DB_PASSWORD_FILE":      "",
		"SECRET_KEY_FILE":       "",
		"DB_HOST":               u.Hostname(),
		"DB_PORT":               u.Port(),
		"DB_NAME":               strings.TrimPrefix(u.Path, "/"),
		"TRUSTED_OP_LIST":       op.Issuer(),
		"ADMIN_ENTITLEMENTS":    devAdminEntitlement,
		"LISTEN_ADDR":           addr,
		"BENCHMARK_IMAGE_CHECK": "off",
		"OIDC_CA_FILE":          "",
	}
	devLookup := func(name string) (string, bool) {
		if v, ok := overlay[name]; ok {
			return v, true
		}
		return lookup(name)
	}
	s, err := app.LoadSettings(devLookup, "")
	if err != nil {
		return err
	}
	log := app.NewLogger(s, stderr)

	users := []oidctest.User{
		{Sub: "dev-user", Email: "dev-user@example.org", EmailVerified: oidctest.Bool(true)},
		{Sub: "dev-admin", Email: "dev-admin@example.org", EmailVerified: oidctest.Bool(true), Entitlements: []string{devAdminEntitlement}},
	}
	tokens := make([]string, len(users))
	for i, du := range users {
		op.SetUser(du)
		if tokens[i], err = op.Mint(du, oidctest.TokenOptions{Lifetime: devTokenLifetime}); err != nil {
			return err
		}
	}
	var printRunner func(w io.Writer, a net.Addr)
	hooks := app.ServeHooks{
		ExtraCA: op.CertPEM(),
		Seed: func(ctx context.Context, st *store.Store) error {
			for _, du := range users {
				err := st.CreateUser(ctx, perf.User{Sub: du.Sub, Iss: op.Issuer(), Email: du.Email, RegistrationDatetime: perf.Now()})
				if err != nil {
					return err
				}
			}
			if printRunner, err = devRunnerToken(ctx, st, perf.Uploader{UploaderSub: "dev-user", UploaderIss: op.Issuer()}); err != nil {
				return err
			}
			log.Info().Msg("loading the sample catalog and results")
			return seedSamples(ctx, st, perf.Uploader{UploaderSub: "dev-admin", UploaderIss: op.Issuer()})
		},
		OnListen: func(a net.Addr) {
			printRunner(stdout, a)
			printBanner(stdout, a, op.Issuer(), tokens[0], tokens[1])
		},
	}
	err = app.Serve(ctx, s, log, hooks)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Fprintln(stderr, "stopped; the throwaway database and provider are removed")
	return err
}

// printBanner prints the URLs, tokens and ready-to-paste curl lines; the
// admin token last, so it is the one left on screen.
func printBanner(w io.Writer, a net.Addr, issuer, userToken, adminToken string) {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, `
eosc-perf-api %s — development mode
  API            %s
  Swagger UI     %s/
  OpenAPI        %s/api-spec.json
  OpenID issuer  %s (development only, trusted only by this process)

Tokens are valid for %s. Both users are registered.

# a registered user (not admin)
export USER_TOKEN=%s
curl -s -H "Authorization: Bearer $USER_TOKEN" %s/users/self

# an administrator
export ADMIN_TOKEN=%s
curl -s -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
     -d '{"name":"my-tag","description":"created in dev"}' %s/tags

Press Ctrl-C to stop; everything started here is removed.
`, app.Version, base, base, base, issuer, devTokenLifetime, userToken, base, adminToken, base)
}
