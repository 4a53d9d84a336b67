// Package auth turns an `Authorization: Bearer <token>` header into the
// caller's perf.Identity (API.md §2.2).
//
// A token is accepted when it is a JWT whose issuer is on the trusted list,
// whose signature verifies against the issuer's published keys and whose time
// claims are current; the identity (sub, iss, e-mail, entitlements) then comes
// from the issuer's userinfo endpoint, called with the token. The issuer is
// checked before any network call, so an untrusted issuer is never contacted.
// The audience is not checked, as upstream does not.
//
// Caching, so a busy API does not ask the provider for every request:
//
//   - identities per token (keyed by the token's SHA-256, never the token),
//     until the token expires but at most CacheTTL (default 5 minutes, so a
//     change of entitlements at the provider reaches us within minutes),
//     bounded by CacheSize with least-recently-used eviction; a token without
//     exp is not cached, as upstream;
//   - each issuer's discovery document and key set for MetadataTTL (default
//     one hour); a token signed with an unknown kid refetches the key set at
//     most once per RefreshInterval (default 10 s), which picks up rotated keys
//     without letting forged kids hammer the provider;
//   - after a failed discovery or key fetch the last good answer is used, and
//     the provider is not asked again for RefreshInterval.
//
// Concurrent requests with the same uncached token share one verification
// (one set of outbound calls). Tokens never reach a log line.
package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/eosc-perf/api/src/perf"
)

// The client-visible texts of the 401 answers (API.md §2.6). The first three
// and the last are upstream's exact texts; MsgNoToken replaces upstream's
// 500 for an empty token (API.md §13 item 9).
const (
	MsgNoHeader       = "No authorization header"
	MsgNoBearer       = "No bearer token in authorization header"
	MsgNoToken        = "No access token in authorization header"
	MsgUntrusted      = "Issuer is not trusted: " // + the token's iss without trailing slash
	MsgNotVerified    = "Could not verify JWT: "  // + a short reason
	MsgNoUserIdentity = "User identity could not be determined"
)

// Defaults of Options.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultCacheSize       = 10_000
	DefaultCacheTTL        = 5 * time.Minute
	DefaultMetadataTTL     = time.Hour
	DefaultRefreshInterval = 10 * time.Second
	DefaultLeeway          = 30 * time.Second
)

// maxResponseBytes bounds what we read from a provider; real discovery
// documents, key sets and userinfo answers are a few kilobytes.
const maxResponseBytes = 1 << 20

// Options configure New. Zero values take the defaults above.
type Options struct {
	// TrustedIssuers are the issuer URLs whose tokens are accepted
	// (TRUSTED_OP_LIST). Trailing slashes are ignored on both sides of the
	// comparison (API.md §13 item 32); empty entries are skipped. Each must be
	// an absolute https URL.
	TrustedIssuers []string
	// HTTPClient makes the outbound calls (put a custom CA pool here).
	// Default: a client with the system roots.
	HTTPClient *http.Client
	// Timeout bounds each outbound call (discovery, keys, userinfo).
	Timeout time.Duration
	// CacheSize bounds the identity cache (entries); negative disables it.
	CacheSize int
	// CacheTTL is the longest an identity is served from the cache.
	CacheTTL time.Duration
	// MetadataTTL is how long a discovery document or key set is used before
	// it is fetched again.
	MetadataTTL time.Duration
	// RefreshInterval is the least time between two fetches of one issuer's
	// keys when a token names an unknown kid, and the back-off after a failed
	// discovery or key fetch.
	RefreshInterval time.Duration
	// Leeway is the clock skew allowed for exp, nbf and iat.
	Leeway time.Duration
	// Now is the clock; default time.Now (tests move it).
	Now func() time.Time
	// Logger receives outbound failures (warn) and rejected tokens (debug),
	// never a token. Default: no logging.
	Logger zerolog.Logger
}

// Authenticator verifies bearer tokens. It is safe for concurrent use and
// meant to live as long as the process (it holds the caches).
type Authenticator struct {
	issuers     map[string]*issuer // by normalised issuer URL
	client      *http.Client
	timeout     time.Duration
	cacheTTL    time.Duration
	metadataTTL time.Duration
	refresh     time.Duration
	leeway      time.Duration
	now         func() time.Time
	log         zerolog.Logger
	cache       *identityCache
	flights     singleflight.Group // by token hash: one verification per token
}

// New validates the options and returns an Authenticator. It makes no network
// call; issuers are discovered on first use.
func New(opt Options) (*Authenticator, error) {
	a := &Authenticator{
		issuers:     map[string]*issuer{},
		client:      opt.HTTPClient,
		timeout:     orDefault(opt.Timeout, DefaultTimeout),
		cacheTTL:    orDefault(opt.CacheTTL, DefaultCacheTTL),
		metadataTTL: orDefault(opt.MetadataTTL, DefaultMetadataTTL),
		refresh:     orDefault(opt.RefreshInterval, DefaultRefreshInterval),
		leeway:      orDefault(opt.Leeway, DefaultLeeway),
		now:         opt.Now,
		log:         opt.Logger,
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: a.timeout}
	}
	if a.now == nil {
		a.now = time.Now
	}
	size := opt.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	a.cache = newIdentityCache(size)
	var bad []string
	for _, raw := range opt.TrustedIssuers {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad = append(bad, raw)
			continue
		}
		id := strings.TrimRight(raw, "/") // the operator's spelling; tokens get normalizeIssuer
		a.issuers[id] = &issuer{id: id}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("auth: trusted issuers must be https URLs without query or fragment: %s",
			strings.Join(bad, ", "))
	}
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// normalizeIssuer drops one trailing slash, the one difference between
// issuer spellings that upstream deployments got wrong (API.md §13 item 32).
// Only one: "https://op/oidc//" is another URL, not a spelling of a trusted
// "https://op/oidc".
func normalizeIssuer(iss string) string { return strings.TrimSuffix(iss, "/") }

// TrustedIssuers returns the normalised trusted issuer URLs, sorted.
func (a *Authenticator) TrustedIssuers() []string {
	ids := make([]string, 0, len(a.issuers))
	for id := range a.issuers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Authenticate returns the identity behind an Authorization header value.
// Every failure is a *perf.Error of kind perf.Unauthenticated whose Msg is one
// of the Msg* texts (with iss or a reason appended where the text ends in a
// space); its Err carries details for the log. The one exception: when ctx
// ends first, the error is of kind perf.Unavailable.
func (a *Authenticator) Authenticate(ctx context.Context, authorizationHeader string) (perf.Identity, error) {
	token, err := bearerToken(authorizationHeader)
	if err != nil {
		return perf.Identity{}, err
	}
	key := tokenKey(sha256.Sum256([]byte(token)))
	if id, ok := a.cache.get(key, a.now()); ok {
		return cloneIdentity(id), nil
	}
	// The shared verification must not die with the first caller's request,
	// the others may still want the answer; each outbound call has its own
	// timeout, so the work stays bounded.
	flightCtx := context.WithoutCancel(ctx)
	ch := a.flights.DoChan(string(key[:]), func() (any, error) {
		return a.verify(flightCtx, token, key)
	})
	select {
	case <-ctx.Done():
		// The caller gave up (client gone or request deadline); the shared
		// verification carries on for the others and fills the cache.
		return perf.Identity{}, &perf.Error{Kind: perf.Unavailable, Err: fmt.Errorf("auth: %w", ctx.Err())}
	case r := <-ch:
		if r.Err != nil {
			return perf.Identity{}, r.Err
		}
		return cloneIdentity(r.Val.(perf.Identity)), nil
	}
}

// bearerToken extracts the token from the header value (API.md §2.1, §2.6).
func bearerToken(header string) (string, error) {
	if header == "" {
		return "", unauthenticated(MsgNoHeader, nil)
	}
	// net/http strips trailing spaces from header values, so "Bearer " with an
	// empty token arrives as "Bearer"; both mean an empty token.
	if header == "Bearer" {
		return "", unauthenticated(MsgNoToken, nil)
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return "", unauthenticated(MsgNoBearer, nil)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", unauthenticated(MsgNoToken, nil)
	}
	return token, nil
}

// verify does the uncached work for one token and caches the result.
func (a *Authenticator) verify(ctx context.Context, token string, key tokenKey) (perf.Identity, error) {
	vt, err := a.verifyJWT(ctx, token)
	if err != nil {
		a.log.Debug().Err(err).Msg("bearer token rejected")
		return perf.Identity{}, err
	}
	id, err := a.userinfo(ctx, vt, token)
	if err != nil {
		a.log.Debug().Err(err).Str("iss", vt.issuer.id).Msg("bearer token rejected")
		return perf.Identity{}, err
	}
	if !vt.expiry.IsZero() {
		until := a.now().Add(a.cacheTTL)
		if vt.expiry.Before(until) {
			until = vt.expiry
		}
		if until.After(a.now()) {
			a.cache.put(key, id, until)
		}
	}
	return id, nil
}

// unauthenticated builds the 401 error; cause is for the log only.
func unauthenticated(msg string, cause error) *perf.Error {
	return &perf.Error{Kind: perf.Unauthenticated, Msg: msg, Err: cause}
}

// notVerified is the 401 for a JWT that fails verification; reason is shown
// to the client, cause only logged.
func notVerified(reason string, cause error) *perf.Error {
	return unauthenticated(MsgNotVerified+reason, cause)
}

func cloneIdentity(id perf.Identity) perf.Identity {
	id.Entitlements = slices.Clone(id.Entitlements)
	if id.EmailVerified != nil {
		v := *id.EmailVerified
		id.EmailVerified = &v
	}
	return id
}
