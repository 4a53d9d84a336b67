-- A result hidden by an administrator's DELETE stays hidden for good, even
-- when a claim filed on it is later rejected: rejecting a claim restores
-- only what the claim hid (API.md §13.1 item 1). 1.2.3's table has no such
-- column; it is additive (defaulted), so 1.2.3 keeps inserting results.
--
-- Back-fill: a hidden result of 1.2.3 without a claim was either deleted by
-- an administrator or had its claim rejected (1.2.3 never restored such a
-- result); the two cannot be told apart, and both stay hidden for good.
-- While 1.2.3 still runs on the database, its DELETE /results/{id} hides a
-- result without touching the claim link; the trigger marks such a change
-- as an administrator's deletion. Hiding through a claim changes the link
-- in the same UPDATE, so it is not marked.

-- +goose Up
ALTER TABLE result ADD COLUMN deleted_by_admin boolean NOT NULL DEFAULT false;

UPDATE result SET deleted_by_admin = true WHERE deleted AND _claim_report_id IS NULL;

-- +goose StatementBegin
CREATE FUNCTION result_mark_deleted_by_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.deleted_by_admin := true;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER result_mark_deleted_by_admin BEFORE UPDATE OF deleted ON result
    FOR EACH ROW WHEN (NEW.deleted AND NOT OLD.deleted
        AND NEW._claim_report_id IS NOT DISTINCT FROM OLD._claim_report_id)
    EXECUTE FUNCTION result_mark_deleted_by_admin();

-- +goose Down
DROP TRIGGER result_mark_deleted_by_admin ON result;
DROP FUNCTION result_mark_deleted_by_admin();
ALTER TABLE result DROP COLUMN deleted_by_admin;
