package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// metadata is the part of an issuer's discovery document we use.
type metadata struct {
	jwksURI     string
	userinfoURL string
}

// issuer is the cached state of one trusted issuer: its discovery document
// and key set, with the times needed for expiry and rate limiting.
type issuer struct {
	id      string // normalised issuer URL, also the trust-list key
	flights singleflight.Group

	mu        sync.Mutex
	meta      *metadata
	metaAt    time.Time // last successful discovery
	metaTried time.Time // last discovery attempt
	metaErr   error     // error of the last attempt, nil after a success

	keys      []jose.JSONWebKey
	keysURI   string    // jwks_uri the keys came from; "" = none yet
	keysAt    time.Time // last successful key fetch
	keysTried time.Time // last key fetch attempt (any URI)
	keysErr   error
}

// metadata returns the discovery document, fetching it when there is none or
// it is older than MetadataTTL. A failed fetch falls back to the previous
// document and is not retried for RefreshInterval.
func (is *issuer) metadata(ctx context.Context, a *Authenticator) (*metadata, error) {
	now := a.now()
	is.mu.Lock()
	meta, fresh := is.meta, is.meta != nil && now.Sub(is.metaAt) < a.metadataTTL
	backoff := is.metaErr != nil && now.Sub(is.metaTried) < a.refresh
	lastErr := is.metaErr
	is.mu.Unlock()
	switch {
	case fresh:
		return meta, nil
	case backoff && meta != nil:
		return meta, nil
	case backoff:
		return nil, lastErr
	}
	v, err, _ := is.flights.Do("metadata", func() (any, error) {
		is.mu.Lock()
		if is.meta != nil && now.Sub(is.metaAt) < a.metadataTTL {
			// A flight that ended after our check above already refreshed it.
			m := is.meta
			is.mu.Unlock()
			return m, nil
		}
		is.metaTried = now
		is.mu.Unlock()
		m, err := a.discover(ctx, is.id)
		is.mu.Lock()
		defer is.mu.Unlock()
		if err != nil {
			is.metaErr = err
			a.log.Warn().Err(err).Str("issuer", is.id).Bool("stale_kept", is.meta != nil).
				Msg("OpenID discovery failed")
			if is.meta != nil {
				return is.meta, nil
			}
			return nil, err
		}
		is.meta, is.metaAt, is.metaErr = m, now, nil
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*metadata), nil
}

// keySet returns the issuer's keys from meta.jwksURI. It fetches them when
// there are none for that URI or they are older than MetadataTTL; refetch
// asks for a new copy (a token names a kid we lack), granted at most once per
// RefreshInterval. fetched reports whether this call got a new copy.
func (is *issuer) keySet(ctx context.Context, a *Authenticator, meta *metadata, refetch bool) (keys []jose.JSONWebKey, fetched bool, err error) {
	now := a.now()
	is.mu.Lock()
	current := is.keysURI == meta.jwksURI
	keys = is.keys
	fresh := current && now.Sub(is.keysAt) < a.metadataTTL
	recent := !is.keysTried.IsZero() && now.Sub(is.keysTried) < a.refresh
	lastErr := is.keysErr
	is.mu.Unlock()
	switch {
	case fresh && !refetch:
		return keys, false, nil
	case recent && current:
		return keys, false, nil
	case recent && lastErr != nil:
		return nil, false, lastErr
	}
	v, err, _ := is.flights.Do("keys "+meta.jwksURI, func() (any, error) {
		is.mu.Lock()
		if is.keysURI == meta.jwksURI && is.keysErr == nil && now.Sub(is.keysAt) < a.refresh {
			// A flight that ended after our check above just fetched them.
			ks := is.keys
			is.mu.Unlock()
			return ks, nil
		}
		is.keysTried = now
		is.mu.Unlock()
		ks, err := a.fetchKeys(ctx, meta.jwksURI)
		is.mu.Lock()
		defer is.mu.Unlock()
		if err != nil {
			is.keysErr = err
			stale := is.keysURI == meta.jwksURI
			a.log.Warn().Err(err).Str("issuer", is.id).Bool("stale_kept", stale).Msg("fetching signing keys failed")
			if stale {
				return is.keys, nil
			}
			return nil, err
		}
		is.keys, is.keysURI, is.keysAt, is.keysErr = ks, meta.jwksURI, now, nil
		return ks, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.([]jose.JSONWebKey), true, nil
}

// discover fetches and checks the discovery document of issuer id.
func (a *Authenticator) discover(ctx context.Context, id string) (*metadata, error) {
	body, err := a.fetch(ctx, id+"/.well-known/openid-configuration", "")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Issuer   string `json:"issuer"`
		JWKSURI  string `json:"jwks_uri"`
		Userinfo string `json:"userinfo_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("discovery document of %s: %w", id, err)
	}
	// The document must speak for the issuer we trust; otherwise a trusted
	// URL could hand its tokens' verification to someone else.
	if normalizeIssuer(doc.Issuer) != id {
		return nil, fmt.Errorf("discovery document of %s names issuer %q", id, doc.Issuer)
	}
	for name, u := range map[string]string{"jwks_uri": doc.JWKSURI, "userinfo_endpoint": doc.Userinfo} {
		if !isHTTPS(u) {
			return nil, fmt.Errorf("discovery document of %s: %s %q is not an https URL", id, name, u)
		}
	}
	return &metadata{jwksURI: doc.JWKSURI, userinfoURL: doc.Userinfo}, nil
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// fetchKeys fetches a JSON Web Key Set and keeps the public signing keys we
// can use. Keys of kinds go-jose does not know (ES256K, Ed448, ...) are
// skipped rather than failing the set, as RFC 7517 §5 asks.
func (a *Authenticator) fetchKeys(ctx context.Context, uri string) ([]jose.JSONWebKey, error) {
	body, err := a.fetch(ctx, uri, "")
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("key set %s: %w", uri, err)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			a.log.Debug().Err(err).Str("jwks_uri", uri).Msg("skipping unusable key")
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub := k.Public()
		if !pub.Valid() || !pub.IsPublic() {
			continue // symmetric keys cannot verify the algorithms we accept
		}
		keys = append(keys, pub)
	}
	return keys, nil
}

// statusError is a non-200 answer from a provider.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: HTTP status %d", e.url, e.status) }

// fetch GETs url (with the bearer token when given) and returns the body of
// a 200 answer. Each call has its own timeout. Errors never contain the
// token: neither url.Error nor statusError includes request headers.
func (a *Authenticator) fetch(ctx context.Context, rawURL, bearer string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{url: rawURL, status: resp.StatusCode}
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", rawURL, maxResponseBytes)
	}
	return body, nil
}

// isStatus reports whether err is a provider answer with one of the statuses.
func isStatus(err error, statuses ...int) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false
	}
	for _, s := range statuses {
		if se.status == s {
			return true
		}
	}
	return false
}
