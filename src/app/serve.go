package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/eosc-perf/api/src/api"
	"github.com/eosc-perf/api/src/auth"
	"github.com/eosc-perf/api/src/notify"
	"github.com/eosc-perf/api/src/registry"
	"github.com/eosc-perf/api/src/schema"
	"github.com/eosc-perf/api/src/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// runServe is `eosc-perf-api serve`.
func runServe(ctx context.Context, args []string, lookup LookupEnv, dir string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	s, err := LoadSettings(lookup, dir)
	if err != nil {
		return err
	}
	log := newLogger(s, stderr)
	return serve(ctx, s, log, nil)
}

// serveHooks lets `dev` add to the server it starts: an extra CA for the
// development OpenID provider and a callback once the API listens.
type serveHooks struct {
	extraCA  []byte // PEM
	onListen func(addr net.Addr)
	// seed runs after migrations, before the server starts.
	seed func(ctx context.Context, st *store.Store) error
}

// serve runs the service until ctx ends: database, migrations,
// authentication, mail, HTTP (and metrics) listeners, graceful shutdown.
func serve(ctx context.Context, s Settings, log zerolog.Logger, hooks *serveHooks) error {
	if hooks == nil {
		hooks = &serveHooks{}
	}
	for _, w := range s.Warnings() {
		log.Warn().Msg(w)
	}
	log.Info().Str("version", Version).Str("mode", s.Mode).Msg("starting")

	st, err := store.Open(s.PoolDSN(), store.PoolOptions{
		MaxOpen: s.DBMaxOpenConns, MaxIdle: s.MaxIdleConns(), MaxLifetime: s.DBConnMaxLifetime,
		MaxPageBytes: s.MaxPageBytes,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.WaitReady(ctx, s.DBWaitTimeout, func(attempt int, err error) {
		log.Warn().Int("attempt", attempt).Err(err).Msg("database not reachable yet")
	})
	if err != nil {
		return err
	}
	if err := migrate(ctx, s, log); err != nil {
		return err
	}
	if hooks.seed != nil {
		if err := hooks.seed(ctx, st); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}

	// The background indexer of uploaded results (store/leaf_drain.go),
	// stopped before the pool closes.
	indexCtx, stopIndexer := context.WithCancel(ctx)
	indexerDone := make(chan struct{})
	go func() {
		defer close(indexerDone)
		st.RunLeafIndexer(indexCtx, store.LeafIndexerOptions{
			Idle: time.Second, Duty: float64(s.LeafIndexPercent) / 100,
			OnError: func(err error) { log.Warn().Err(err).Msg("indexing uploaded results failed; retrying") },
		})
	}()
	defer func() {
		stopIndexer()
		<-indexerDone
	}()

	httpClient, err := oidcClient(s, hooks.extraCA)
	if err != nil {
		return err
	}
	authn, err := auth.New(auth.Options{
		TrustedIssuers: s.TrustedOPs,
		HTTPClient:     httpClient,
		Timeout:        s.OIDCTimeout,
		Logger:         log,
	})
	if err != nil {
		return err
	}

	mailer := notify.New(notify.Options{
		From: s.MailFrom, Support: s.MailSupport, Server: s.MailServer, Port: s.MailPort, Logger: log,
	})

	var images api.ImageChecker // nil: BENCHMARK_IMAGE_CHECK=off
	if s.BenchmarkImageCheck == "registry" {
		client, err := outboundClient(s.RegistryCAFile, nil, 0)
		if err != nil {
			return fmt.Errorf("REGISTRY_CA_FILE: %w", err)
		}
		images = registry.New(registry.Options{HTTPClient: client, AllowPrivate: s.RegistryPrivateAddresses == "allow"})
	}

	var metrics *api.Metrics
	if s.MetricsAddr != "" {
		metrics = api.NewMetrics(collectors.NewDBStatsCollector(st.DB().DB, "eosc_perf"),
			collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "eosc_perf_results_pending_index",
				Help: "Results not yet in the index of JSON filters (result_leaf_pending), waiting for the background indexer; filters read their documents directly. NaN when the database does not answer within 2s.",
			}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := st.PendingLeaves(ctx)
				if err != nil {
					return math.NaN()
				}
				return float64(n)
			}))
	}
	inFlight := api.NewInFlight()
	handler := api.NewServer(api.Options{
		Logger:            log,
		Store:             st,
		Auth:              authn,
		PATs:              &auth.PATVerifier{Store: st},
		AdminEntitlements: s.AdminEntitlements,
		BackendRoute:      s.BackendRoute,
		CORSOrigins:       s.CORSOrigins,
		MaxBodyBytes:      s.MaxBodyBytes,
		ExportMaxRows:     int(s.ExportMaxRows),
		Metrics:           metrics,
		Mailer:            mailer,
		Images:            images,
		Schemas:           schema.NewCache(schema.DefaultCacheSize),
		Limits:            s.limits(),
		InFlight:          inFlight,
		Ready:             st.Ready,
	})

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", s.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.ListenAddr, err)
	}
	ln = api.ErrorFormatListener(ln)
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if metrics != nil {
		mln, err := net.Listen("tcp", s.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (metrics): %w", s.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics.Handler())
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			MaxHeaderBytes: 16 << 10})
		listeners = append(listeners, mln)
		log.Info().Str("addr", mln.Addr().String()).Msg("metrics listening")
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	log.Info().Str("addr", ln.Addr().String()).Msg("listening")
	if hooks.onListen != nil {
		hooks.onListen(ln.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info().Dur("timeout", s.ShutdownTimeout).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	var cutOff error
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			reqs := inFlight.List()
			for _, r := range reqs {
				log.Error().Str("request", r).Msg("request cut off by the shutdown")
			}
			log.Error().Err(err).Int("requests", len(reqs)).Msg("shutdown did not finish in time")
			srv.Close()
			cutOff = fmt.Errorf("SHUTDOWN_TIMEOUT (%v) reached: %d requests cut off", s.ShutdownTimeout, len(reqs))
		}
	}
	if err := mailer.Close(sctx); err != nil {
		log.Warn().Err(err).Msg("mail queue not flushed")
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if cutOff != nil {
		return cutOff
	}
	log.Info().Msg("stopped")
	return nil
}

// oidcClient is the HTTP client for calls to the OpenID providers: system
// roots plus OIDC_CA_FILE plus (in dev) the development provider's CA.
func oidcClient(s Settings, extraPEM []byte) (*http.Client, error) {
	c, err := outboundClient(s.OIDCCAFile, extraPEM, s.OIDCTimeout)
	if err != nil {
		return nil, fmt.Errorf("OIDC_CA_FILE: %w", err)
	}
	return c, nil
}

// outboundClient is an HTTPS client trusting the system roots plus the CAs
// of caFile and extraPEM. It takes no proxy from the environment: Run reads
// no process environment.
func outboundClient(caFile string, extraPEM []byte, timeout time.Duration) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in %s", caFile)
		}
	}
	if extraPEM != nil && !pool.AppendCertsFromPEM(extraPEM) {
		return nil, errors.New("bad extra CA certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 8
	tr.Proxy = nil
	if timeout > 0 {
		tr.ResponseHeaderTimeout = timeout
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// migrate applies the migrations on a connection of its own, without the
// statement timeout of the pool: a migration may legitimately run long.
func migrate(ctx context.Context, s Settings, log zerolog.Logger) error {
	db, err := sql.Open("postgres", s.DSN())
	if err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	defer db.Close()
	return store.Migrate(ctx, db, "up", logWriter{log})
}

// limits are the per-request limits of the API (DESIGN.md §9).
func (s Settings) limits() api.Limits {
	return api.Limits{
		MaxURLBytes: s.MaxURLBytes,
		MaxFilters:  s.MaxFilters, MaxTagIDs: s.MaxTagIDs, MaxSearchTerms: s.MaxSearchTerms, MaxSortKeys: s.MaxSortKeys,
		MaxSchemaBytes: s.MaxSchemaBytes, MaxSchemaDepth: s.MaxSchemaDepth, MaxSchemaObjects: s.MaxSchemaObjects,
		MaxDocumentDepth: s.MaxDocumentDepth, MaxDocumentKeys: s.MaxDocumentKeys,
		MaxTextLength: s.MaxTextLength, MaxBodyMembers: s.MaxBodyMembers,
		MaxHeavyRequests: s.MaxHeavyRequests, HeavyQueueWait: s.HeavyQueueWait,
	}
}
