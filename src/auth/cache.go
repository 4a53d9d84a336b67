package auth

import (
	"time"

	"github.com/eosc-perf/api/src/lru"
	"github.com/eosc-perf/api/src/perf"
)

// tokenKey identifies a token in the cache: its SHA-256, so the cache never
// holds a usable credential.
type tokenKey [32]byte

// identityCache is a bounded LRU of authenticated identities, each valid until
// its own deadline.
type identityCache struct {
	lru *lru.Cache[tokenKey, cachedIdentity]
}

type cachedIdentity struct {
	id    perf.Identity
	until time.Time
}

// newIdentityCache returns a cache of at most max identities; with max < 1
// it caches nothing.
func newIdentityCache(max int) *identityCache {
	return &identityCache{lru: lru.New[tokenKey, cachedIdentity](max)}
}

// get returns the identity cached for key if it is still valid at now.
// An expired entry is dropped on the way.
func (c *identityCache) get(key tokenKey, now time.Time) (perf.Identity, bool) {
	e, ok := c.lru.GetIf(key, func(e cachedIdentity) bool { return now.Before(e.until) })
	return e.id, ok
}

// put stores id until the deadline, evicting the least recently used entry
// when the cache is full.
func (c *identityCache) put(key tokenKey, id perf.Identity, until time.Time) {
	c.lru.Add(key, cachedIdentity{id: id, until: until})
}

// len reports the number of entries, expired ones included.
func (c *identityCache) len() int { return c.lru.Len() }
