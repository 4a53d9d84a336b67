package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := New[string, int](2)
	c.Add("a", 1)
	c.Add("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 { // a is now the most recently used
		t.Fatalf("Get(a) = %d, %v; want 1, true", v, ok)
	}
	c.Add("c", 3) // evicts b
	if _, ok := c.Get("b"); ok {
		t.Error("b was not evicted, though least recently used")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Errorf("Get(%s) = %d, %v; want %d, true", k, v, ok, want)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d, want the capacity 2", c.Len())
	}
}

func TestAddReplacesAndRefreshes(t *testing.T) {
	t.Parallel()
	c := New[string, int](2)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Add("a", 10) // replaces a and makes it the most recently used
	c.Add("c", 3)  // evicts b
	if v, ok := c.Get("a"); !ok || v != 10 {
		t.Errorf("Get(a) = %d, %v; want the replaced 10", v, ok)
	}
	if _, ok := c.Get("b"); ok {
		t.Error("b kept; the replaced a should have counted as used")
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d, want 2 (a replacement adds no entry)", c.Len())
	}
}

func TestGetIfRemovesStaleEntries(t *testing.T) {
	t.Parallel()
	c := New[string, int](4)
	c.Add("fresh", 1)
	c.Add("stale", -1)
	valid := func(v int) bool { return v > 0 }
	if v, ok := c.GetIf("fresh", valid); !ok || v != 1 {
		t.Errorf("GetIf(fresh) = %d, %v; want 1, true", v, ok)
	}
	if v, ok := c.GetIf("stale", valid); ok || v != 0 {
		t.Errorf("GetIf(stale) = %d, %v; want a miss with the zero value", v, ok)
	}
	if c.Len() != 1 {
		t.Errorf("Len() = %d, want 1: the stale entry removed", c.Len())
	}
	if _, ok := c.GetIf("missing", valid); ok {
		t.Error("GetIf found a key never added")
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	c := New[int, string](2)
	c.Add(1, "one")
	if !c.Remove(1) || c.Remove(1) {
		t.Error("Remove reports true once for a present key, then false")
	}
	if _, ok := c.Get(1); ok || c.Len() != 0 {
		t.Errorf("removed key still there (Len %d)", c.Len())
	}
}

func TestCapacityBelowOneStoresNothing(t *testing.T) {
	t.Parallel()
	for _, max := range []int{0, -1} {
		c := New[int, int](max)
		c.Add(1, 1)
		if _, ok := c.Get(1); ok || c.Len() != 0 {
			t.Errorf("capacity %d: stored an entry", max)
		}
	}
}

// Run with -race: concurrent use keeps the bound and the map and list in
// step.
func TestConcurrentUseKeepsTheBound(t *testing.T) {
	t.Parallel()
	const max = 8
	c := New[string, int](max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 20)
				c.Add(k, i)
				c.GetIf(k, func(v int) bool { return v%3 != 0 })
				if i%10 == 0 {
					c.Remove(k)
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > max {
		t.Fatalf("Len() = %d, exceeds the capacity %d", n, max)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) != c.order.Len() {
		t.Fatalf("map holds %d keys, list %d entries", len(c.items), c.order.Len())
	}
}
