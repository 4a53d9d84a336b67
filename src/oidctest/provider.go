// Package oidctest runs an in-process OpenID provider over HTTPS on the
// loopback interface, for tests and for `eosc-perf-api-dev`.
//
// A Provider serves what a bearer-token API needs from a real provider:
// discovery (/.well-known/openid-configuration), the JSON Web Key Set and the
// userinfo endpoint. It mints signed JWT access tokens for users whose
// userinfo answer is configurable per user, and it can misbehave on purpose:
// expired or not-yet-valid tokens, tokens signed by a key it never publishes,
// key rotation, failing endpoints. Every request is counted per endpoint so
// tests can prove that a cache answered without a network call.
//
// Key rotation: Rotate makes a new key the signing key and keeps publishing
// the previous keys (the grace period real providers give already issued
// tokens); RetireKeys stops publishing all but the current key. A verifier
// that still holds a retired key in its cache keeps accepting old tokens until
// it refreshes its key set; a fresh verifier rejects them as signed by an
// unknown key.
//
// The TLS certificate comes from a throwaway CA (see CA); hand CertPool or
// Client to the client side. The package does not import "testing", so the
// dev command can link it; StartT adds test conveniences on top.
package oidctest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Endpoint names one endpoint of the provider, for counters and failures.
type Endpoint string

// The endpoints a Provider serves.
const (
	Discovery Endpoint = "discovery"
	JWKS      Endpoint = "jwks"
	Userinfo  Endpoint = "userinfo"
)

// Endpoint paths below the issuer URL.
const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/jwks"
	userinfoPath  = "/userinfo"
)

// Options configure Start. The zero value is a provider on a random port of
// 127.0.0.1 with RS256 keys, its own CA and the real clock.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0" (random port).
	Addr string
	// Path is the path part of the issuer URL, e.g. "/oidc" for
	// https://127.0.0.1:PORT/oidc; default none.
	Path string
	// Algorithm signs tokens: RS256 (default), RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384, ES512 or EdDSA.
	Algorithm jose.SignatureAlgorithm
	// CA issues the server certificate; default a new CA per provider.
	CA *CA
	// Now is the provider's clock for iat/exp and for the userinfo expiry
	// check; default time.Now.
	Now func() time.Time
	// ErrorLog receives the HTTP server's own errors (TLS handshakes of
	// clients that do not trust the CA, ...); default discarded.
	ErrorLog *log.Logger
}

// Provider is a running OpenID provider. All methods are safe for concurrent
// use.
type Provider struct {
	issuer string
	ca     *CA
	now    func() time.Time
	srv    *http.Server
	done   chan struct{}

	mu       sync.Mutex
	alg      jose.SignatureAlgorithm
	keys     []*signingKey // published; the last one signs
	rogue    *signingKey   // never published, for wrong-key tokens
	users    map[string]User
	tokens   map[[32]byte]minted
	failures map[Endpoint]int
	delays   map[Endpoint]time.Duration

	total  atomic.Int64
	counts [3]atomic.Int64 // indexed by endpointIndex
}

// Start generates the first signing key and the TLS certificate and starts
// serving. Close stops it.
func Start(opt Options) (*Provider, error) {
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.Algorithm == "" {
		opt.Algorithm = jose.RS256
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ErrorLog == nil {
		opt.ErrorLog = log.New(io.Discard, "", 0)
	}
	path := "/" + strings.Trim(opt.Path, "/")
	if path == "/" {
		path = ""
	}
	ca := opt.CA
	if ca == nil {
		var err error
		if ca, err = NewCA(); err != nil {
			return nil, err
		}
	}
	key, err := newSigningKey(opt.Algorithm)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: listen address %q: %w", opt.Addr, err)
	}
	cert, err := ca.issue(host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: listen: %w", err)
	}
	p := &Provider{
		ca:       ca,
		now:      opt.Now,
		done:     make(chan struct{}),
		alg:      opt.Algorithm,
		keys:     []*signingKey{key},
		users:    map[string]User{},
		tokens:   map[[32]byte]minted{},
		failures: map[Endpoint]int{},
		delays:   map[Endpoint]time.Duration{},
	}
	// The issuer names the address actually bound (port 0 → the real port).
	p.issuer = "https://" + ln.Addr().String() + path
	mux := http.NewServeMux()
	mux.HandleFunc(path+discoveryPath, p.counted(Discovery, p.serveDiscovery))
	mux.HandleFunc(path+jwksPath, p.counted(JWKS, p.serveJWKS))
	mux.HandleFunc(path+userinfoPath, p.counted(Userinfo, p.serveUserinfo))
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.total.Add(1)
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          opt.ErrorLog,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() {
		defer close(p.done)
		// ServeTLS returns ErrServerClosed after Close; any other error means
		// the listener died, and clients will see connection errors.
		_ = p.srv.ServeTLS(ln, "", "")
	}()
	return p, nil
}

// Close stops the server and closes all connections.
func (p *Provider) Close() error {
	err := p.srv.Close()
	<-p.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Issuer is the issuer URL, e.g. https://127.0.0.1:40123 or
// https://127.0.0.1:40123/oidc (never with a trailing slash).
func (p *Provider) Issuer() string { return p.issuer }

// CA returns the CA that issued the provider's certificate.
func (p *Provider) CA() *CA { return p.ca }

// CertPEM is the PEM encoded CA certificate the client side must trust.
func (p *Provider) CertPEM() []byte { return p.ca.CertPEM() }

// Client returns an HTTP client that trusts the provider's CA (and nothing
// else).
func (p *Provider) Client() *http.Client { return p.ca.Client() }

// Fail makes the endpoint answer every request with status (and a JSON error
// body) until Fail(e, 0) restores normal service.
func (p *Provider) Fail(e Endpoint, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.failures, e)
		return
	}
	p.failures[e] = status
}

// Delay makes the endpoint wait d before answering (0 restores), to simulate
// a slow provider. The wait ends early when the client goes away.
func (p *Provider) Delay(e Endpoint, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d <= 0 {
		delete(p.delays, e)
		return
	}
	p.delays[e] = d
}

// Count returns how many requests the endpoint received.
func (p *Provider) Count(e Endpoint) int64 {
	if i, ok := endpointIndex(e); ok {
		return p.counts[i].Load()
	}
	return 0
}

// Requests returns how many requests the provider received in all, including
// requests for paths it does not serve.
func (p *Provider) Requests() int64 { return p.total.Load() }

// ResetCounts sets all counters to zero.
func (p *Provider) ResetCounts() {
	p.total.Store(0)
	for i := range p.counts {
		p.counts[i].Store(0)
	}
}

func endpointIndex(e Endpoint) (int, bool) {
	switch e {
	case Discovery:
		return 0, true
	case JWKS:
		return 1, true
	case Userinfo:
		return 2, true
	}
	return 0, false
}

// counted wraps an endpoint handler with its counter, delay and failure
// injection.
func (p *Provider) counted(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	i, _ := endpointIndex(e)
	return func(w http.ResponseWriter, r *http.Request) {
		p.counts[i].Add(1)
		p.mu.Lock()
		status, delay := p.failures[e], p.delays[e]
		p.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if status != 0 {
			writeJSON(w, status, map[string]string{
				"error":             "server_error",
				"error_description": fmt.Sprintf("oidctest: %s made to fail", e),
			})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead &&
			!(e == Userinfo && r.Method == http.MethodPost) {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
			return
		}
		h(w, r)
	}
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	alg := p.alg
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":            p.issuer,
		"jwks_uri":          p.issuer + jwksPath,
		"userinfo_endpoint": p.issuer + userinfoPath,
		// Required by the discovery specification; this provider does not
		// implement the login flow, tokens come from Mint.
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(alg)},
		"scopes_supported":                      []string{"openid", "email", "profile", "eduperson_entitlement"},
		"claims_supported":                      []string{"sub", "iss", "email", "email_verified", "eduperson_entitlement"},
	})
}

func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(p.keys))}
	for _, k := range p.keys {
		set.Keys = append(set.Keys, k.public())
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}
