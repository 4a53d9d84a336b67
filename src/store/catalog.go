package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// The catalog cache (issue 11): every result carries its benchmark (with
// its JSON Schema), site and flavor, but the catalog is tiny and changes
// rarely, so result queries read only the result's own columns and the
// catalog's version (the table catalog_version, migration 00011), and the
// benchmarks, sites and flavors come from this cache.
//
// Invalidation works with any number of API replicas and with other
// programs writing: triggers increment catalog_version in the transaction
// that changes benchmark, site or flavor, and every result query reads the
// version in its own snapshot. A cache older than the version a query saw
// is reloaded before the page is built, so a page never shows catalog
// data older than the results it shows. The reload reads the version first
// and the tables after, so the cached data is at least as new as its
// version.

// catalogSnapshot is one immutable reading of the catalog.
type catalogSnapshot struct {
	version    int64
	benchmarks map[uuid.UUID]perf.Benchmark
	sites      map[uuid.UUID]perf.Site
	flavors    map[uuid.UUID]perf.Flavor
	// schemas holds each benchmark's json_schema as stored (the text
	// uploads are validated against) and its MD5 in hex, which
	// uploadInsert compares with the row's.
	schemas map[uuid.UUID]storedSchema
}

// storedSchema is a benchmark's json_schema as PostgreSQL returns it.
type storedSchema struct {
	text []byte
	md5  string
}

// catalogCache holds the latest snapshot; reloads are serialised.
type catalogCache struct {
	cur    atomic.Pointer[catalogSnapshot]
	reload sync.Mutex
	loads  atomic.Int64 // reloads done, for tests
}

// has reports whether the snapshot knows a result's three references.
func (c *catalogSnapshot) has(b, s, f uuid.UUID) bool {
	_, okB := c.benchmarks[b]
	_, okS := c.sites[s]
	_, okF := c.flavors[f]
	return okB && okS && okF
}

// catalogAt returns a snapshot at least as new as version that knows every
// reference in refs (benchmark, site, flavor ids, three per result).
func (s *Store) catalogAt(ctx context.Context, version int64, refs [][3]uuid.UUID) (*catalogSnapshot, error) {
	fresh := func(c *catalogSnapshot) bool {
		if c == nil || c.version < version {
			return false
		}
		for _, r := range refs {
			if !c.has(r[0], r[1], r[2]) {
				return false
			}
		}
		return true
	}
	if c := s.cat.cur.Load(); fresh(c) {
		return c, nil
	}
	s.cat.reload.Lock()
	defer s.cat.reload.Unlock()
	if c := s.cat.cur.Load(); fresh(c) {
		return c, nil // another request reloaded meanwhile
	}
	c, err := s.loadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	s.cat.loads.Add(1)
	s.cat.cur.Store(c)
	if !fresh(c) {
		// Only when a referenced row is gone and the version did not move,
		// which the triggers rule out.
		return nil, perf.Wrap(fmt.Errorf("catalog version %d lacks a result's benchmark, site or flavor", c.version), "store: catalog")
	}
	return c, nil
}

// loadCatalog reads the version, then the benchmarks, sites and flavors a
// result may show or an upload may use: all but those on review that no
// result references. Submissions waiting for review are left out because
// any registered user can add them, many and large: each would make every
// later reload of every replica larger (the reload follows every catalog
// write). An approved row with results that goes back on review stays, as
// its results show it; a submission has no results until it is approved,
// and a result that references a row is committed before any query that
// needs the row, so the reload after it sees the reference.
// JSON Schemas are stored as submitted (type json); they are kept compact.
func (s *Store) loadCatalog(ctx context.Context) (*catalogSnapshot, error) {
	c := &catalogSnapshot{benchmarks: map[uuid.UUID]perf.Benchmark{}, sites: map[uuid.UUID]perf.Site{}, flavors: map[uuid.UUID]perf.Flavor{},
		schemas: map[uuid.UUID]storedSchema{}}
	if err := s.db.GetContext(ctx, &c.version, `SELECT v FROM catalog_version`); err != nil {
		return nil, mapError(err, "catalog version")
	}
	var bs []perf.Benchmark
	if err := s.db.SelectContext(ctx, &bs, cachedRows(benchmarkColumns, "benchmark")); err != nil {
		return nil, mapError(err, "catalog benchmarks")
	}
	for _, b := range bs {
		sum := md5.Sum(b.JSONSchema)
		c.schemas[b.ID] = storedSchema{text: b.JSONSchema, md5: hex.EncodeToString(sum[:])}
		var buf bytes.Buffer
		if json.Compact(&buf, b.JSONSchema) == nil {
			b.JSONSchema = buf.Bytes()
		}
		c.benchmarks[b.ID] = b
	}
	var ss []perf.Site
	if err := s.db.SelectContext(ctx, &ss, cachedRows(siteColumns, "site")); err != nil {
		return nil, mapError(err, "catalog sites")
	}
	for _, x := range ss {
		c.sites[x.ID] = x
	}
	var fs []perf.Flavor
	if err := s.db.SelectContext(ctx, &fs, cachedRows(flavorColumns, "flavor")); err != nil {
		return nil, mapError(err, "catalog flavors")
	}
	for _, x := range fs {
		c.flavors[x.ID] = x
	}
	return c, nil
}

// cachedRows is the query of the rows of table (benchmark, site or flavor;
// each result references one of each by <table>_id) that loadCatalog keeps.
func cachedRows(columns, table string) string {
	return `SELECT ` + columns + ` FROM ` + table + ` c WHERE c.status = 'approved'
		OR EXISTS (SELECT 1 FROM result r WHERE r.` + table + `_id = c.id)`
}

// CatalogLoads returns how many times this store has read the catalog.
func (s *Store) CatalogLoads() int64 { return s.cat.loads.Load() }
