package auth

import (
	"container/list"
	"sync"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

// tokenKey identifies a token in the cache: its SHA-256, so the cache never
// holds a usable credential.
type tokenKey [32]byte

// identityCache is a bounded LRU of authenticated identities, each valid until
// its own deadline.
type identityCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry
	items map[tokenKey]*list.Element
}

type cacheEntry struct {
	key   tokenKey
	id    perf.Identity
	until time.Time
}

func newIdentityCache(max int) *identityCache {
	return &identityCache{max: max, order: list.New(), items: make(map[tokenKey]*list.Element)}
}

// get returns the identity cached for key if it is still valid at now.
// Expired entries are dropped on the way.
func (c *identityCache) get(key tokenKey, now time.Time) (perf.Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return perf.Identity{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.items, key)
		return perf.Identity{}, false
	}
	c.order.MoveToFront(el)
	return e.id, true
}

// put stores id until the deadline, evicting the least recently used entry
// when the cache is full.
func (c *identityCache) put(key tokenKey, id perf.Identity, until time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.id, e.until = id, until
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, id: id, until: until})
}

// len reports the number of entries, expired ones included.
func (c *identityCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
