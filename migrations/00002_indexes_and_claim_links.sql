-- Our additions to 1.2.3's schema (00001), all additive: 1.2.3 starts and
-- runs on the result (it never reads what it does not know), and the Down
-- section removes exactly what the Up section adds.
--
--   * claim.result_id (API.md §13.1 item 2): one result, many claims. 1.2.3
--     links a result to one claim through result._claim_report_id, which we
--     keep writing too (the newest claim still linked). A trigger derives
--     claim.result_id from every _claim_report_id that 1.2.3 (or anyone)
--     writes, so a claim 1.2.3 files after adoption is linked for us as well;
--     existing links are back-filled here. A hard delete of a result clears
--     the claim's link (ON DELETE SET NULL), so 1.2.3's own deletes of
--     results are never blocked by our column.
--   * the pg_trgm extension and indexes for the list, sort, filter and
--     search endpoints (1.2.3 had only those of its constraints).

-- +goose Up

-- pg_trgm is a trusted extension since PostgreSQL 13, so the owner of the
-- database (who has CREATE on it) may create it without being superuser.
-- IF NOT EXISTS is checked before any privilege, so an administrator may also
-- create it beforehand for a role that lacks CREATE on the database.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE claim ADD COLUMN result_id uuid;
ALTER TABLE claim ADD CONSTRAINT claim_result_id_fkey
    FOREIGN KEY (result_id) REFERENCES result (id) ON DELETE SET NULL;

-- Claims 1.2.3 filed: the result that links them is their result.
UPDATE claim c SET result_id = r.id FROM result r WHERE r._claim_report_id = c.id;

-- +goose StatementBegin
CREATE FUNCTION result_claim_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE claim SET result_id = NEW.id
    WHERE id = NEW._claim_report_id AND result_id IS DISTINCT FROM NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER result_claim_link AFTER INSERT OR UPDATE OF _claim_report_id ON result
    FOR EACH ROW WHEN (NEW._claim_report_id IS NOT NULL) EXECUTE FUNCTION result_claim_link();

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

DROP TRIGGER result_claim_link ON result;
DROP FUNCTION result_claim_link();
-- Drops claim_result_id_idx and claim_result_id_fkey with it.
ALTER TABLE claim DROP COLUMN result_id;
DROP INDEX benchmark_uploader_idx,
    benchmark__submit_report_id_idx,
    site_uploader_idx,
    site__submit_report_id_idx,
    flavor_uploader_idx,
    flavor__submit_report_id_idx,
    claim_uploader_idx,
    claim__submit_report_id_idx,
    result_uploader_idx,
    result_benchmark_id_idx,
    result_flavor_id_idx,
    result_site_id_idx,
    result__claim_report_id_idx,
    result_tags_tag_id_idx,
    benchmark_upload_datetime_idx,
    site_upload_datetime_idx,
    flavor_upload_datetime_idx,
    claim_upload_datetime_idx,
    result_upload_datetime_idx,
    submit_upload_datetime_idx,
    result_execution_datetime_idx,
    result_visible_execution_datetime_idx,
    result_json_idx,
    benchmark_docker_image_trgm_idx,
    benchmark_docker_tag_trgm_idx,
    benchmark_description_trgm_idx,
    site_name_trgm_idx,
    site_address_trgm_idx,
    site_description_trgm_idx,
    flavor_name_trgm_idx,
    flavor_description_trgm_idx,
    tag_name_trgm_idx,
    tag_description_trgm_idx,
    user_email_trgm_idx;

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
