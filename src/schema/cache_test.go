package schema

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
)

var (
	timeSchema  = json.RawMessage(`{"properties":{"time":{"type":"integer"}}}`)
	scoreSchema = json.RawMessage(`{"properties":{"score":{"type":"number"}}}`)
)

func TestCacheHitReturnsTheCompiledSchema(t *testing.T) {
	c := NewCache(4)
	id := uuid.New()
	first, err := c.Get(id, timeSchema)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Get(id, append(json.RawMessage(nil), timeSchema...))
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Fatal("second Get with the same text compiled again")
	}
	if c.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", c.Len())
	}
}

func TestCacheRecompilesWhenTheStoredTextChanged(t *testing.T) {
	c := NewCache(4)
	id := uuid.New()
	old, err := c.Get(id, timeSchema)
	if err != nil {
		t.Fatal(err)
	}
	// Another replica updated the benchmark; this one never saw a Drop.
	fresh, err := c.Get(id, scoreSchema)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old {
		t.Fatal("changed schema text served the stale compiled schema")
	}
	if err := fresh.Validate(json.RawMessage(`{"time":"x","score":1}`)); err != nil {
		t.Fatalf("new schema rejected a document it accepts: %v", err)
	}
	if c.Len() != 1 {
		t.Fatalf("Len() = %d, want 1 (one entry per benchmark)", c.Len())
	}
}

func TestCacheDropForgetsTheSchema(t *testing.T) {
	c := NewCache(4)
	id, other := uuid.New(), uuid.New()
	first, _ := c.Get(id, timeSchema)
	kept, _ := c.Get(other, timeSchema)
	c.Drop(id)
	c.Drop(uuid.New()) // unknown id: nothing happens
	if c.Len() != 1 {
		t.Fatalf("Len() = %d after Drop, want 1", c.Len())
	}
	again, _ := c.Get(id, timeSchema)
	if again == first {
		t.Fatal("Get after Drop returned the dropped schema")
	}
	if still, _ := c.Get(other, timeSchema); still != kept {
		t.Fatal("Drop of one id evicted another")
	}
}

func TestCacheIsBoundedLeastRecentlyUsedFirst(t *testing.T) {
	c := NewCache(2)
	a, b, d := uuid.New(), uuid.New(), uuid.New()
	sa, _ := c.Get(a, timeSchema)
	sb, _ := c.Get(b, timeSchema)
	if again, _ := c.Get(a, timeSchema); again != sa { // a is now the most recent
		t.Fatal("a was not cached")
	}
	if _, err := c.Get(d, timeSchema); err != nil { // evicts b
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Fatalf("Len() = %d, want the bound 2", c.Len())
	}
	if again, _ := c.Get(a, timeSchema); again != sa {
		t.Error("recently used a was evicted")
	}
	if again, _ := c.Get(b, timeSchema); again == sb {
		t.Error("least recently used b was not evicted")
	}
}

func TestCacheDefaultSize(t *testing.T) {
	c := NewCache(0)
	for range DefaultCacheSize + 1 {
		if _, err := c.Get(uuid.New(), json.RawMessage(`{"type":"object"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != DefaultCacheSize {
		t.Fatalf("NewCache(0) holds %d, want %d", c.Len(), DefaultCacheSize)
	}
}

func TestCacheDoesNotKeepSchemasThatFailToCompile(t *testing.T) {
	c := NewCache(4)
	id := uuid.New()
	_, err := c.Get(id, json.RawMessage(`{"type":"x"}`))
	wantInvalid(t, err, "'x' is not valid under any of the given schemas", "deque(['type'])")
	if c.Len() != 0 {
		t.Fatalf("Len() = %d, want 0", c.Len())
	}
}

func TestCacheConcurrentGetValidateAndDrop(t *testing.T) {
	c := NewCache(3)
	tmpl := sampleFile(t, "template")
	doc := sampleFile(t, "result-8")
	ids := make([]uuid.UUID, 5) // more ids than the cache holds: evictions race too
	for i := range ids {
		ids[i] = uuid.New()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := ids[(w+i)%len(ids)]
				if i%17 == 0 {
					c.Drop(id)
					continue
				}
				// Alternating texts for one id exercise the recompilation
				// path; result-8 satisfies both schemas.
				raw := tmpl
				if i%5 == 0 {
					raw = timeSchema
				}
				s, err := c.Get(id, raw)
				if err != nil {
					errs <- err
					return
				}
				if err := s.Validate(doc); err != nil {
					errs <- fmt.Errorf("a sample was rejected: %v", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Len() > 3 {
		t.Fatalf("Len() = %d, exceeds the bound 3", c.Len())
	}
}
