-- The baseline: exactly the schema of EOSC Performance API 1.2.3, as its
-- Alembic migrations 7fc773c5907d + 112055db4eff leave it (the fixture
-- src/pgtest/upstream123/ holds pg_dump's view of it). Tables,
-- columns, column order, types, nullability, constraint names and the
-- alembic_version row are 1.2.3's, and no column has a default: 1.2.3's
-- Python code fills every column, and so does ours.
--
-- A database that 1.2.3 created is at this version already: migrate up
-- records this migration as applied without running it (adoption, see
-- src/store/adopt.go) and runs only 00002 onwards, which are additive.
-- A database we create gets the alembic_version row too, so 1.2.3 finds
-- its schema at head and starts on it without running a migration.
-- Everything of ours (extension, indexes, columns, triggers) comes in the
-- later migrations, so that migrating down to 1 returns 1.2.3's schema.
--
-- Constraint names are the ones PostgreSQL generated for 1.2.3
-- (SQLAlchemy left them unnamed). The uploader foreign keys list
-- (uploader_iss, uploader_sub) although the key of "user" is (sub, iss):
-- that is how 1.2.3 declared them.

-- +goose Up

CREATE TYPE resourcestatus AS ENUM ('on_review', 'approved');

CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('112055db4eff');

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
CREATE TABLE "user" (
    sub text NOT NULL,
    iss text NOT NULL,
    email text NOT NULL,
    registration_datetime timestamp without time zone NOT NULL,
    CONSTRAINT user_pkey PRIMARY KEY (sub, iss)
);

CREATE TABLE benchmark (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    status resourcestatus,
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

-- upload_datetime comes after resource_type here, as in 1.2.3.
CREATE TABLE claim (
    id uuid NOT NULL,
    uploader_sub text NOT NULL,
    uploader_iss text NOT NULL,
    status resourcestatus,
    message text NOT NULL,
    resource_type varchar NOT NULL,
    upload_datetime timestamp without time zone NOT NULL,
    _submit_report_id uuid,
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
    status resourcestatus,
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
    status resourcestatus,
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

-- 1.2.3 links a result to one claim, through _claim_report_id.
CREATE TABLE result (
    deleted boolean NOT NULL,
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

-- The only cascade in the database: deleting a tag unlinks it from results.
CREATE TABLE result_tags (
    result_id uuid NOT NULL,
    tag_id uuid NOT NULL,
    CONSTRAINT result_tags_pkey PRIMARY KEY (result_id, tag_id),
    CONSTRAINT result_tags_result_id_fkey FOREIGN KEY (result_id) REFERENCES result (id),
    CONSTRAINT result_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE CASCADE
);

-- +goose Down

-- Only an empty database goes below the baseline (store.Migrate refuses
-- otherwise). One statement drops the tables together, so the circular
-- foreign keys between claim and result need no special order.
DROP TABLE result_tags, result, flavor, site, claim, benchmark, "user", tag, submit, alembic_version;

DROP TYPE resourcestatus;
