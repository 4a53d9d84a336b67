// Package lru is a bounded map that forgets the least recently used entry
// first: the caches of authenticated identities (src/auth) and compiled
// schemas (src/schema).
package lru

import (
	"container/list"
	"sync"
)

// Cache holds at most its capacity of entries; adding to a full cache
// evicts the least recently used one. Get and GetIf count as a use. The zero
// value is not usable: call New. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *entry[K, V], most recently used at the front
	items map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key   K
	value V
}

// New returns an empty cache holding at most max entries. With max < 1 it
// holds nothing: Add does nothing and Get never finds anything.
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, order: list.New(), items: make(map[K]*list.Element)}
}

// Get returns the value of key and marks it as the most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	return c.GetIf(key, nil)
}

// GetIf is Get for entries that can go stale: when valid is not nil and
// returns false for the value found, the entry is removed and GetIf reports
// a miss. valid runs under the cache's lock; keep it short.
func (c *Cache[K, V]) GetIf(key K, valid func(V) bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if valid != nil && !valid(e.value) {
		c.order.Remove(el)
		delete(c.items, key)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// Add stores value under key, replacing what was there, as the most
// recently used entry, and evicts the least recently used entries beyond
// the capacity.
func (c *Cache[K, V]) Add(key K, value V) {
	if c.max < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*entry[K, V]).value = value
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key: key, value: value})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[K, V]).key)
	}
}

// Remove forgets key; it reports whether the key was there.
func (c *Cache[K, V]) Remove(key K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
	return ok
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
