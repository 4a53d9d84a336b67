-- The GIN index on result documents (result_json_idx, jsonb_path_ops,
-- migration 00002) is dropped (issue 12, bulk upload).
--
-- It served one thing: the containment pre-filter of a string == filter.
-- Since migration 00011 every filter on a path through objects is answered
-- from result_leaf, and a path the pre-filter could serve has no array
-- index in it, so it is such a path unless it is longer than result_leaf
-- holds (more than 16 keys or 256 bytes of keys). For that the index was
-- kept on every result, and it was the dearest part of storing one: a
-- document's ~30 leaves each make an entry, and merging GIN's pending list
-- into the index costs more than every other index of the table together.
-- Measured with pgbench on 20,000 results (PostgreSQL 15, 2 cores, four
-- clients each inserting 1,000 sample documents per statement, the
-- server's indexer running): 8,200-9,200 results/s with the index, 19,000
-- without.
--
-- The longer paths are evaluated by scanning the documents, as filters on
-- paths with array indexes always were.

-- +goose Up
DROP INDEX result_json_idx;

-- +goose Down
CREATE INDEX result_json_idx ON result USING gin (json jsonb_path_ops);
