-- Deferred maintenance of result_leaf (issues 11 and 12), and
-- result_count's rows locked in key order (see below). Writing the ~30
-- leaf rows of a result and their four index entries each in the
-- transaction of the upload cost more than the rest of the upload together
-- (measured with pgbench, 16 clients, 100,000 results: a plain INSERT of a
-- result 2,200-2,800/s, with the row trigger of 00011 840/s; the leaves of
-- 5,000 results in one statement 3.8 s of one core). So an insert records
-- only that the result's leaves are pending, in result_leaf_pending, and
-- the API's background indexer (src/store/leaf_drain.go) moves pending
-- results into result_leaf in batches, as GIN's pending list does.
--
-- Filters stay exact whatever is pending (src/store/results_filter.go): a
-- result is either pending and without leaf rows, or indexed and not
-- pending, in every snapshot, because every change below and every batch
-- of the indexer changes both tables in one transaction; a filter is
-- answered from result_leaf's indexes for indexed results and by
-- evaluating the condition on the document for pending ones.
--
-- The triggers still run whichever program writes (upstream 1.2.3, psql);
-- while no API replica runs, pending results are only filtered more slowly.
-- The role that writes result needs INSERT, DELETE and SELECT on
-- result_leaf_pending as it needed them on result_leaf.

-- +goose Up
CREATE TABLE result_leaf_pending (
    result_id uuid NOT NULL,
    CONSTRAINT result_leaf_pending_pkey PRIMARY KEY (result_id)
) WITH (
    -- A queue: every row is deleted soon after it is inserted. Vacuumed
    -- after every 1,000 dead rows rather than after 20 % of a table
    -- that is mostly empty.
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000
);

DROP TRIGGER result_leaf_sync ON result;
DROP FUNCTION result_leaf_sync();

-- One statement-level trigger per INSERT statement: a bulk insert of
-- 10,000 results records them in one INSERT ... SELECT.
-- +goose StatementBegin
CREATE FUNCTION result_leaf_defer_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO result_leaf_pending (result_id) SELECT id FROM new_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A rewritten or deleted result loses its leaf rows at once (results are
-- not rewritten by either API; psql may): rewritten, it is pending again.
-- +goose StatementBegin
CREATE FUNCTION result_leaf_defer_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM result_leaf WHERE result_id = OLD.id;
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id THEN
        DELETE FROM result_leaf_pending WHERE result_id = OLD.id;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO result_leaf_pending (result_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION result_leaf_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE result_leaf, result_leaf_pending;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER result_leaf_defer_insert AFTER INSERT ON result REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION result_leaf_defer_insert();

-- result_count (00011) locked its rows in the order of a hash aggregate,
-- so two statements touching several groups each (bulk uploads, found by
-- the load command: 40P01 under 16 concurrent bulk uploads) could lock
-- the same groups in opposite orders and deadlock. Every statement now
-- locks its groups in key order: the UPDATE after a locking read in that
-- order, the upsert in that order.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION result_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM 1 FROM result_count c
        WHERE (c.benchmark_id, c.site_id, c.flavor_id) IN (SELECT benchmark_id, site_id, flavor_id FROM old_rows WHERE NOT deleted)
        ORDER BY c.benchmark_id, c.site_id, c.flavor_id
        FOR UPDATE;
        UPDATE result_count c SET n = c.n - d.k
        FROM (SELECT benchmark_id, site_id, flavor_id, count(*) AS k FROM old_rows WHERE NOT deleted
              GROUP BY benchmark_id, site_id, flavor_id) d
        WHERE c.benchmark_id = d.benchmark_id AND c.site_id = d.site_id AND c.flavor_id = d.flavor_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO result_count (benchmark_id, site_id, flavor_id, n)
        SELECT benchmark_id, site_id, flavor_id, count(*) FROM new_rows WHERE NOT deleted
        GROUP BY benchmark_id, site_id, flavor_id
        ORDER BY benchmark_id, site_id, flavor_id
        ON CONFLICT (benchmark_id, site_id, flavor_id) DO UPDATE SET n = result_count.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER result_leaf_defer_change AFTER DELETE OR UPDATE OF id, json ON result
    FOR EACH ROW EXECUTE FUNCTION result_leaf_defer_change();

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION result_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
-- Index what is pending, then go back to 00011's row trigger.
INSERT INTO result_leaf (result_id, path, kind, num, txt)
SELECT r.id, l.path, l.kind, l.num, l.txt
FROM result_leaf_pending p JOIN result r ON r.id = p.result_id CROSS JOIN LATERAL result_leaves(r.json) l;
DROP TRIGGER result_leaf_defer_change ON result;
DROP TRIGGER result_leaf_defer_insert ON result;
DROP FUNCTION result_leaf_defer_change();
DROP FUNCTION result_leaf_defer_insert();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION result_leaf_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE result_leaf;
    RETURN NULL;
END
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
CREATE TRIGGER result_leaf_sync AFTER INSERT OR DELETE OR UPDATE OF id, json ON result
    FOR EACH ROW EXECUTE FUNCTION result_leaf_sync();
DROP TABLE result_leaf_pending;
