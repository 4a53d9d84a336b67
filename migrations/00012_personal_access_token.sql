-- Personal access tokens (EXTENSIONS.md X1): long-lived, scoped credentials
-- for benchmark runners. Only the SHA-256 of a secret is stored; prefix (its
-- first 16 characters) finds the candidate rows, and the hash is compared in
-- constant time by the service. A new table only: upstream 1.2.3 never reads
-- it, and removing a user (ours or 1.2.3's DELETE) removes its tokens
-- through the cascade. The foreign key names the columns in the order of
-- "user"'s primary key (sub, iss).

-- +goose Up
CREATE TABLE personal_access_token (
	id uuid PRIMARY KEY,
	user_sub text NOT NULL,
	user_iss text NOT NULL,
	name text NOT NULL,
	scopes text[] NOT NULL,
	prefix text NOT NULL,
	hash bytea NOT NULL UNIQUE,
	created_at timestamp without time zone NOT NULL,
	expires_at timestamp without time zone NOT NULL,
	last_used_at timestamp without time zone,
	CONSTRAINT personal_access_token_user_fkey FOREIGN KEY (user_sub, user_iss)
		REFERENCES "user" (sub, iss) ON DELETE CASCADE,
	CONSTRAINT personal_access_token_hash_len CHECK (octet_length(hash) = 32),
	CONSTRAINT personal_access_token_scopes_known CHECK (
		cardinality(scopes) > 0 AND scopes <@ ARRAY['results:write', 'catalog:write', 'read']::text[])
);
CREATE INDEX personal_access_token_prefix_idx ON personal_access_token (prefix);
CREATE INDEX personal_access_token_user_idx ON personal_access_token (user_sub, user_iss, created_at DESC);

-- +goose Down
DROP TABLE personal_access_token;
