package schema

import (
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"sync"

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
	max   int
	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recently used at the front
	byID  map[uuid.UUID]*list.Element
}

type cacheEntry struct {
	id     uuid.UUID
	sum    [sha256.Size]byte
	schema *Schema
}

// NewCache returns an empty cache holding at most max compiled schemas
// (DefaultCacheSize if max < 1).
func NewCache(max int) *Cache {
	if max < 1 {
		max = DefaultCacheSize
	}
	return &Cache{max: max, order: list.New(), byID: map[uuid.UUID]*list.Element{}}
}

// Get returns the compiled schema of benchmark id whose stored json_schema
// is raw, compiling it on a miss. A schema that does not compile is not
// cached; its Invalid *perf.Error is returned (see Compile).
func (c *Cache) Get(id uuid.UUID, raw json.RawMessage) (*Schema, error) {
	sum := sha256.Sum256(raw)
	if s := c.lookup(id, sum); s != nil {
		return s, nil
	}
	// Compile outside the lock: a slow compilation must not hold up the
	// validation of other benchmarks. Two concurrent misses of one id both
	// compile; the second insertion simply replaces the first.
	s, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*cacheEntry)
		e.sum, e.schema = sum, s
		c.order.MoveToFront(el)
		return s, nil
	}
	c.byID[id] = c.order.PushFront(&cacheEntry{id: id, sum: sum, schema: s})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byID, oldest.Value.(*cacheEntry).id)
	}
	return s, nil
}

// lookup returns the cached schema of id if it was compiled from the text
// with hash sum.
func (c *Cache) lookup(id uuid.UUID, sum [sha256.Size]byte) *Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if e.sum != sum {
		return nil
	}
	c.order.MoveToFront(el)
	return e.schema
}

// Drop forgets the schema of benchmark id; call it when the benchmark is
// updated or deleted.
func (c *Cache) Drop(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		c.order.Remove(el)
		delete(c.byID, id)
	}
}

// Len returns the number of cached schemas.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
