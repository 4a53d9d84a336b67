-- Cheaper reads at scale (issue 11): the leaf values of results, the
-- catalog's version and the counts of visible results.
--
-- Index-backed JSON filters: a table of the scalar values of
-- every result document, keyed by path, so that `filters=<path> <op> <value>`
-- on any path is an index range scan instead of a walk through every
-- document. No path is declared in advance.
--
-- Triggers keep the table in step with result in the same transaction,
-- whichever program writes: this service, upstream 1.2.3 (which knows
-- nothing of the table) or psql. Everything is additive: upstream's tables
-- and columns are untouched, and dropping this migration loses nothing.
-- The triggers run with the privileges of the writing role: a program
-- that writes result, benchmark, site or flavor as another role than the
-- one that ran this migration (upstream's deployment used one role for
-- both) needs INSERT, UPDATE and DELETE on result_leaf, result_count and
-- catalog_version.
--
-- What a row holds (src/store/results_filter.go relies on exactly this):
--   * one row per key reachable from the document's root through objects
--     only (arrays are not entered: a filter path with an array index is
--     answered by a scan), at most 16 keys deep and 256 bytes of keys, whose
--     value is not JSON null;
--   * kind: n number, s string, b boolean, o object or array;
--   * txt: the value's text as #>> gives it, for scalars of at most 1024
--     bytes, else NULL (objects, arrays, longer scalars: the "recheck"
--     rows, for which the store evaluates the filter on the document);
--   * num: the value as a number filter converts it (a JSON number, or a
--     string that PostgreSQL's numeric input reads, per numericText in
--     results_filter.go), only where txt is set.

-- +goose Up
CREATE TABLE result_leaf (
    result_id uuid NOT NULL,
    path text[] NOT NULL,
    kind "char" NOT NULL,
    num numeric,
    txt text
);

-- number filters: a range on (path, num); string and boolean filters: an
-- equality or range on (path, txt); both carry the result's id, so that
-- the matching ids come from the index alone (an index-only scan, no visit
-- to the table); recheck rows by path; the rows of one result, for the
-- triggers.
CREATE INDEX result_leaf_num_idx ON result_leaf (path, num) INCLUDE (result_id) WHERE num IS NOT NULL;
CREATE INDEX result_leaf_txt_idx ON result_leaf (path, txt) INCLUDE (result_id) WHERE txt IS NOT NULL;
CREATE INDEX result_leaf_recheck_idx ON result_leaf (path) WHERE txt IS NULL;
CREATE INDEX result_leaf_result_idx ON result_leaf (result_id);

-- +goose StatementBegin
CREATE FUNCTION result_leaves(doc jsonb)
RETURNS TABLE (path text[], kind "char", num numeric, txt text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH RECURSIVE w(path, v) AS (
        SELECT ARRAY[e.key], e.value
        FROM jsonb_each(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc END) e
        WHERE octet_length(e.key) <= 256
        UNION ALL
        SELECT w.path || e.key, e.value
        FROM w CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) e
        WHERE cardinality(w.path) < 16 AND octet_length(array_to_string(w.path, '') || e.key) <= 256
    ), t(path, typ, v, s) AS (
        SELECT w.path, jsonb_typeof(w.v), w.v,
            CASE WHEN jsonb_typeof(w.v) IN ('number', 'string', 'boolean') AND octet_length(w.v #>> '{}') <= 1024
                THEN w.v #>> '{}' END
        FROM w WHERE jsonb_typeof(w.v) <> 'null'
    )
    SELECT t.path,
        CASE t.typ WHEN 'number' THEN 'n' WHEN 'string' THEN 's' WHEN 'boolean' THEN 'b' ELSE 'o' END::"char",
        CASE WHEN t.s IS NOT NULL THEN CASE t.typ
            WHEN 'number' THEN t.s::numeric
            WHEN 'string' THEN CASE WHEN t.s ~ '^[ \t\n\v\f\r]*[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?0*[0-9]{1,4})?|[iI][nN][fF]([iI][nN][iI][tT][yY])?)[ \t\n\v\f\r]*$'
                THEN t.s::numeric END
        END END,
        t.s
    FROM t
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION result_leaf_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM result_leaf WHERE result_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO result_leaf (result_id, path, kind, num, txt)
        SELECT NEW.id, l.path, l.kind, l.num, l.txt FROM result_leaves(NEW.json) l;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION result_leaf_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE result_leaf;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER result_leaf_sync AFTER INSERT OR DELETE OR UPDATE OF id, json ON result
    FOR EACH ROW EXECUTE FUNCTION result_leaf_sync();
CREATE TRIGGER result_leaf_truncate AFTER TRUNCATE ON result
    FOR EACH STATEMENT EXECUTE FUNCTION result_leaf_truncate();

-- Whether a result matched by its id (a JSON filter's matches come from
-- result_leaf as ids) is visible, and its execution time (the default
-- sort key), answered from this index alone instead of a visit to the
-- result row.
CREATE INDEX result_visible_id_idx ON result (id) INCLUDE (execution_datetime) WHERE NOT deleted;

-- The catalog's version (issue 11): every change to benchmark, site or
-- flavor, by any program, increments it in the same transaction, so that
-- each API replica's cache of the catalog (src/store/catalog.go) sees a
-- change in the first query that reads the version after the commit, and
-- never before (a row, not a sequence: it obeys MVCC).
CREATE TABLE catalog_version (
    v bigint NOT NULL
);
INSERT INTO catalog_version VALUES (1);

-- +goose StatementBegin
CREATE FUNCTION catalog_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET v = v + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER catalog_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON benchmark
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
CREATE TRIGGER catalog_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
CREATE TRIGGER catalog_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flavor
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();

-- Exact totals without a scan: the number of visible results per
-- (benchmark, site, flavor), kept by statement-level triggers (one upsert
-- per group and statement, so that a COPY of a million rows costs a few
-- dozen updates, not a million). The total of an unfiltered list, or of
-- one filtered by benchmark_id, site_id and flavor_id only, is the sum of
-- a few rows whatever the size of result.
CREATE TABLE result_count (
    benchmark_id uuid NOT NULL,
    site_id uuid NOT NULL,
    flavor_id uuid NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT result_count_pkey PRIMARY KEY (benchmark_id, site_id, flavor_id)
);

-- +goose StatementBegin
CREATE FUNCTION result_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE result_count c SET n = c.n - d.k
        FROM (SELECT benchmark_id, site_id, flavor_id, count(*) AS k FROM old_rows WHERE NOT deleted
              GROUP BY benchmark_id, site_id, flavor_id) d
        WHERE c.benchmark_id = d.benchmark_id AND c.site_id = d.site_id AND c.flavor_id = d.flavor_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO result_count (benchmark_id, site_id, flavor_id, n)
        SELECT benchmark_id, site_id, flavor_id, count(*) FROM new_rows WHERE NOT deleted
        GROUP BY benchmark_id, site_id, flavor_id
        ON CONFLICT (benchmark_id, site_id, flavor_id) DO UPDATE SET n = result_count.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION result_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE result_count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER result_count_insert AFTER INSERT ON result REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION result_count_apply();
CREATE TRIGGER result_count_update AFTER UPDATE ON result REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION result_count_apply();
CREATE TRIGGER result_count_delete AFTER DELETE ON result REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION result_count_apply();
CREATE TRIGGER result_count_truncate AFTER TRUNCATE ON result
    FOR EACH STATEMENT EXECUTE FUNCTION result_count_truncate();

INSERT INTO result_count (benchmark_id, site_id, flavor_id, n)
SELECT benchmark_id, site_id, flavor_id, count(*) FROM result WHERE NOT deleted GROUP BY benchmark_id, site_id, flavor_id;

INSERT INTO result_leaf (result_id, path, kind, num, txt)
SELECT r.id, l.path, l.kind, l.num, l.txt FROM result r CROSS JOIN LATERAL result_leaves(r.json) l;

ANALYZE result_leaf;

-- +goose Down
DROP INDEX result_visible_id_idx;
DROP TRIGGER result_count_truncate ON result;
DROP TRIGGER result_count_delete ON result;
DROP TRIGGER result_count_update ON result;
DROP TRIGGER result_count_insert ON result;
DROP FUNCTION result_count_truncate();
DROP FUNCTION result_count_apply();
DROP TABLE result_count;
DROP TRIGGER catalog_version_bump ON flavor;
DROP TRIGGER catalog_version_bump ON site;
DROP TRIGGER catalog_version_bump ON benchmark;
DROP FUNCTION catalog_version_bump();
DROP TABLE catalog_version;
DROP TRIGGER result_leaf_truncate ON result;
DROP TRIGGER result_leaf_sync ON result;
DROP FUNCTION result_leaf_truncate();
DROP FUNCTION result_leaf_sync();
DROP FUNCTION result_leaves(jsonb);
DROP TABLE result_leaf;
