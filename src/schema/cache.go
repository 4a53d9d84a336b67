package schema

import (
	"crypto/sha256"
	"encoding/json"

	"github.com/eosc-perf/api/src/lru"
	"github.com/google/uuid"
)

// DefaultCacheSize is the capacity NewCache uses when given a size below 1.
const DefaultCacheSize = 256

// Cache keeps compiled benchmark schemas by benchmark id, least recently
// used first out. Each entry remembers a hash of the schema text it was
// compiled from; Get recompiles when the stored text differs, so a replica
// that missed a Drop (the benchmark was changed through another replica)
// never validates against a stale schema. Safe for concurrent use.
type Cache struct {
	lru *lru.Cache[uuid.UUID, cacheEntry]
}

type cacheEntry struct {
	sum    [sha256.Size]byte
	schema *Schema
}

// NewCache returns an empty cache holding at most max compiled schemas
// (DefaultCacheSize if max < 1).
func NewCache(max int) *Cache {
	if max < 1 {
		max = DefaultCacheSize
	}
	return &Cache{lru: lru.New[uuid.UUID, cacheEntry](max)}
}

// Get returns the compiled schema of benchmark id whose stored json_schema
// is raw, compiling it on a miss. A schema that does not compile is not
// cached; its Invalid *perf.Error is returned (see Compile).
func (c *Cache) Get(id uuid.UUID, raw json.RawMessage) (*Schema, error) {
	sum := sha256.Sum256(raw)
	// An entry compiled from other text is stale: it is dropped.
	if e, ok := c.lru.GetIf(id, func(e cacheEntry) bool { return e.sum == sum }); ok {
		return e.schema, nil
	}
	// Compile outside the lock: a slow compilation must not hold up the
	// validation of other benchmarks. Two concurrent misses of one id both
	// compile; the second insertion simply replaces the first.
	s, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	c.lru.Add(id, cacheEntry{sum: sum, schema: s})
	return s, nil
}

// Drop forgets the schema of benchmark id; call it when the benchmark is
// updated or deleted.
func (c *Cache) Drop(id uuid.UUID) { c.lru.Remove(id) }

// Len returns the number of cached schemas.
func (c *Cache) Len() int { return c.lru.Len() }
