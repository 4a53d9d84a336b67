-- The whole schema of the EOSC Performance API (spec/API.md §6).
--
-- Tables, columns, types, constraint names and column order are those the
-- upstream Alembic migrations 7fc773c5907d + 112055db4eff produce, so that a
-- database created by the Flask service 1.2.3 can later be adopted in place.
-- Constraints are named explicitly with the names PostgreSQL generated for
-- upstream (SQLAlchemy left them unnamed), so that later migrations can
-- address them by name in both kinds of database.
--
-- Differences from upstream, all additive:
--   * claim.result_id (API.md §13.1 item 2): one result has many claims;
--     result._claim_report_id is kept for compatibility.
--   * result.deleted and the status columns get the defaults the upstream
--     application applied (false, 'on_review').
--   * indexes for the list, sort, filter and search endpoints (upstream had
--     none besides the constraints), and the pg_trgm extension they need.

-- +goose Up

-- pg_trgm is a trusted extension since PostgreSQL 13, so the owner of the
-- database (who has CREATE on it) may create it without being superuser.
-- IF NOT EXISTS is checked before any privilege, so an administrator may also
-- create it beforehand for a role that lacks CREATE on the database.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE resourcestatus AS ENUM ('on_review', 'approved');

CREATE TABLE submit (
    id uuid NOT NULL,
    resource_type varchar NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    CONSTRAINT submit_pkey PRIMARY KEY (id)
);

CREATE TABLE tag (
    id uuid NOT NULL,
    name text NOT NULL,
    description text,
    CONSTRAINT tag_pkey PRIMARY KEY (id),
    CONSTRAINT tag_name_key UNIQUE (name)
);

-- A person may log in through several providers, so email is not unique.
-- The redundant UNIQUE (sub, iss) is declared exactly as upstream declared
-- it; PostgreSQL folds a unique constraint identical to the primary key into
-- the primary key, as it did for upstream.
CREATE TABLE "user" (
    sub text NOT NULL,
    iss text NOT NULL,
    email text NOT NULL,
    registration_datetime timestamp without time zone NOT NULL,
    CONSTRAINT user_pkey PRIMARY KEY (sub, iss),
    CONSTRAINT user_sub_iss_key UNIQUE (sub, iss)
);

-- The uploader foreign keys list (iss, sub) although the key is (sub, iss):
-- that is how upstream declared them.
CREATE TABLE benchmark (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    status resourcestatus DEFAULT 'on_review',
    docker_image text NOT NULL,
    docker_tag text NOT NULL,
    json_schema json NOT NULL,
    description text,
    _submit_report_id uuid,
    url text NOT NULL,
    CONSTRAINT benchmark_pkey PRIMARY KEY (id),
    CONSTRAINT benchmark_docker_image_docker_tag_key UNIQUE (docker_image, docker_tag),
    CONSTRAINT benchmark__submit_report_id_fkey FOREIGN KEY (_submit_report_id) REFERENCES submit (id),
    CONSTRAINT benchmark_uploader_iss_uploader_sub_fkey FOREIGN KEY (uploader_iss, uploader_sub)
        REFERENCES "user" (iss, sub)
);

-- result_id is new (API.md §13.1 item 2); its foreign key is added after the
-- result table exists, because result also references claim.
CREATE TABLE claim (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    status resourcestatus DEFAULT 'on_review',
    message text NOT NULL,
    resource_type varchar NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    _submit_report_id uuid,
    result_id uuid,
    CONSTRAINT claim_pkey PRIMARY KEY (id),
    CONSTRAINT claim__submit_report_id_fkey FOREIGN KEY (_submit_report_id) REFERENCES submit (id),
    CONSTRAINT claim_uploader_iss_uploader_sub_fkey FOREIGN KEY (uploader_iss, uploader_sub)
        REFERENCES "user" (iss, sub)
);

CREATE TABLE site (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    status resourcestatus DEFAULT 'on_review',
    name text NOT NULL,
    address text NOT NULL,
    description text,
    _submit_report_id uuid,
    CONSTRAINT site_pkey PRIMARY KEY (id),
    CONSTRAINT site_name_key UNIQUE (name),
    CONSTRAINT site__submit_report_id_fkey FOREIGN KEY (_submit_report_id) REFERENCES submit (id),
    CONSTRAINT site_uploader_iss_uploader_sub_fkey FOREIGN KEY (uploader_iss, uploader_sub)
        REFERENCES "user" (iss, sub)
);

CREATE TABLE flavor (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    status resourcestatus DEFAULT 'on_review',
    name text NOT NULL,
    description text,
    site_id uuid NOT NULL,
    _submit_report_id uuid,
    CONSTRAINT flavor_pkey PRIMARY KEY (id),
    CONSTRAINT flavor_site_id_name_key UNIQUE (site_id, name),
    CONSTRAINT flavor__submit_report_id_fkey FOREIGN KEY (_submit_report_id) REFERENCES submit (id),
    CONSTRAINT flavor_site_id_fkey FOREIGN KEY (site_id) REFERENCES site (id),
    CONSTRAINT flavor_uploader_iss_uploader_sub_fkey FOREIGN KEY (uploader_iss, uploader_sub)
        REFERENCES "user" (iss, sub)
);

CREATE TABLE result (
    deleted boolean NOT NULL DEFAULT false,
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    json jsonb NOT NULL,
    execution_datetime timestamp without time zone NOT NULL,
    benchmark_id uuid NOT NULL,
    flavor_id uuid NOT NULL,
    site_id uuid NOT NULL,
    _claim_report_id uuid,
    CONSTRAINT result_pkey PRIMARY KEY (id),
    CONSTRAINT result__claim_report_id_fkey FOREIGN KEY (_claim_report_id) REFERENCES claim (id),
    CONSTRAINT result_benchmark_id_fkey FOREIGN KEY (benchmark_id) REFERENCES benchmark (id),
    CONSTRAINT result_flavor_id_fkey FOREIGN KEY (flavor_id) REFERENCES flavor (id),
    CONSTRAINT result_site_id_fkey FOREIGN KEY (site_id) REFERENCES site (id),
    CONSTRAINT result_uploader_iss_uploader_sub_fkey FOREIGN KEY (uploader_iss, uploader_sub)
        REFERENCES "user" (iss, sub)
);

ALTER TABLE claim
    ADD CONSTRAINT claim_result_id_fkey FOREIGN KEY (result_id) REFERENCES result (id);

-- The only cascade in the database: deleting a tag unlinks it from results.
CREATE TABLE result_tags (
    result_id uuid NOT NULL,
    tag_id uuid NOT NULL,
    CONSTRAINT result_tags_pkey PRIMARY KEY (result_id, tag_id),
    CONSTRAINT result_tags_result_id_fkey FOREIGN KEY (result_id) REFERENCES result (id),
    CONSTRAINT result_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE CASCADE
);

-- Foreign-key columns: the application performs every cascade itself
-- (API.md §6.3), so each delete looks up the referencing rows by these.
-- flavor.site_id and result_tags.result_id are already the leading columns
-- of flavor_site_id_name_key and result_tags_pkey.
CREATE INDEX benchmark_uploader_idx ON benchmark (uploader_iss, uploader_sub);
CREATE INDEX benchmark__submit_report_id_idx ON benchmark (_submit_report_id);
CREATE INDEX site_uploader_idx ON site (uploader_iss, uploader_sub);
CREATE INDEX site__submit_report_id_idx ON site (_submit_report_id);
CREATE INDEX flavor_uploader_idx ON flavor (uploader_iss, uploader_sub);
CREATE INDEX flavor__submit_report_id_idx ON flavor (_submit_report_id);
CREATE INDEX claim_uploader_idx ON claim (uploader_iss, uploader_sub);
CREATE INDEX claim__submit_report_id_idx ON claim (_submit_report_id);
CREATE INDEX claim_result_id_idx ON claim (result_id);
CREATE INDEX result_uploader_idx ON result (uploader_iss, uploader_sub);
CREATE INDEX result_benchmark_id_idx ON result (benchmark_id);
CREATE INDEX result_flavor_id_idx ON result (flavor_id);
CREATE INDEX result_site_id_idx ON result (site_id);
CREATE INDEX result__claim_report_id_idx ON result (_claim_report_id);
CREATE INDEX result_tags_tag_id_idx ON result_tags (tag_id);

-- upload_before / upload_after filters and the upload_datetime sort keys.
CREATE INDEX benchmark_upload_datetime_idx ON benchmark (upload_datetime);
CREATE INDEX site_upload_datetime_idx ON site (upload_datetime);
CREATE INDEX flavor_upload_datetime_idx ON flavor (upload_datetime);
CREATE INDEX claim_upload_datetime_idx ON claim (upload_datetime);
CREATE INDEX result_upload_datetime_idx ON result (upload_datetime);
CREATE INDEX submit_upload_datetime_idx ON submit (upload_datetime);

-- GET /results lists visible results by execution_datetime (the default
-- sort, with id as the tie-breaker); the partial index serves it without
-- touching soft-deleted rows. The full index serves execution_before/after
-- on the uploader's own list, which includes soft-deleted results.
CREATE INDEX result_execution_datetime_idx ON result (execution_datetime);
CREATE INDEX result_visible_execution_datetime_idx ON result (execution_datetime, id) WHERE NOT deleted;

-- JSON filters and containment queries on the result document.
CREATE INDEX result_json_idx ON result USING gin (json jsonb_path_ops);

-- :search endpoints match substrings (LIKE '%term%'), which only trigram
-- indexes can serve.
CREATE INDEX benchmark_docker_image_trgm_idx ON benchmark USING gin (docker_image gin_trgm_ops);
CREATE INDEX benchmark_docker_tag_trgm_idx ON benchmark USING gin (docker_tag gin_trgm_ops);
CREATE INDEX benchmark_description_trgm_idx ON benchmark USING gin (description gin_trgm_ops);
CREATE INDEX site_name_trgm_idx ON site USING gin (name gin_trgm_ops);
CREATE INDEX site_address_trgm_idx ON site USING gin (address gin_trgm_ops);
CREATE INDEX site_description_trgm_idx ON site USING gin (description gin_trgm_ops);
CREATE INDEX flavor_name_trgm_idx ON flavor USING gin (name gin_trgm_ops);
CREATE INDEX flavor_description_trgm_idx ON flavor USING gin (description gin_trgm_ops);
CREATE INDEX tag_name_trgm_idx ON tag USING gin (name gin_trgm_ops);
CREATE INDEX tag_description_trgm_idx ON tag USING gin (description gin_trgm_ops);
CREATE INDEX user_email_trgm_idx ON "user" USING gin (email gin_trgm_ops);

-- +goose Down

-- One statement drops the tables together, so the circular foreign keys
-- between claim and result need no special order. Their indexes go with them.
DROP TABLE result_tags, result, flavor, site, claim, benchmark, "user", tag, submit;

DROP TYPE resourcestatus;

-- Drop pg_trgm only when this role created it (it owns it): an extension an
-- administrator installed beforehand may serve others and is not ours to
-- drop. Without CASCADE, the drop fails rather than remove anyone's objects.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_extension
        WHERE extname = 'pg_trgm' AND extowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    ) THEN
        DROP EXTENSION pg_trgm;
    END IF;
END
$$;
-- +goose StatementEnd
