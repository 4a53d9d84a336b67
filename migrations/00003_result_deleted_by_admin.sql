-- A result hidden by an administrator's DELETE stays hidden for good, even
-- when a claim filed on it is later rejected: rejecting a claim restores
-- only what the claim hid (API.md §13.1 item 1). Upstream's table has no
-- such column; it is additive, so an upstream database adopts it as it is.

-- +goose Up
ALTER TABLE result ADD COLUMN deleted_by_admin boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE result DROP COLUMN deleted_by_admin;
