-- Cheaper reads of results (issue 5 item 3), measured with EXPLAIN ANALYZE
-- and tests/load on 100,000 results built from shared/data/sample-results
-- (PostgreSQL 15, shared_buffers 128 MB, after VACUUM ANALYZE, warm cache,
-- one backend without parallel workers).

-- +goose Up

-- Result documents stay inline and uncompressed up to a whole page. With
-- the default target (about 2 kB per row) the larger documents (2-3 kB
-- as JSONB; 17 % of the sample-based rows) were compressed with pglz, and
-- every r.json #> of a JSON filter or sort key decompressed them again
-- (about 3 us each; a number filter walks its path twice). Without
-- compression: machine.cpu.count >= 8 counted in 106 ms instead of
-- 181-205 ms, two number filters in 127 ms instead of 285 ms; the table
-- grew from 195 to 207 MB. Documents larger than a page are still
-- compressed and moved out of line. Rows written before this migration
-- keep their form until they are rewritten.
ALTER TABLE result SET (toast_tuple_target = 8160);

-- Every results page counts its matches exactly. Without a filter that
-- count is an index-only scan, cheapest on the smallest index holding every
-- visible result: the keys of result_visible_refs_idx repeat (one per
-- flavor, which fixes the site; benchmarks are few), so B-tree
-- deduplication packs 99,000 visible results into 0.7 MB, against 4.9 MB
-- for result_visible_execution_datetime_idx. SELECT count(*) FROM result r
-- WHERE NOT r.deleted: 11 ms -> 4.4 ms. It also serves counts by
-- benchmark_id, site_id and flavor_id as index-only scans.
CREATE INDEX result_visible_refs_idx ON result (benchmark_id, site_id, flavor_id) WHERE NOT deleted;

-- :search matches a term against the result's benchmark, site, flavor and
-- tags (by the result's id): result_visible_search_idx holds all four, so
-- the search scans this 8.4 MB index (hashed sub-plans for the four tests)
-- instead of the table. Counting the 21,600 matches of IFCA-LCG2: 90 ms ->
-- 15-23 ms.
CREATE INDEX result_visible_search_idx ON result (benchmark_id, site_id, flavor_id, id) WHERE NOT deleted;

-- +goose Down
DROP INDEX result_visible_search_idx;
DROP INDEX result_visible_refs_idx;
ALTER TABLE result RESET (toast_tuple_target);
