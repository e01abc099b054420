-- A token may be limited to some of its user's permissions (its scopes); empty: all of them.
ALTER TABLE "api_tokens" ADD COLUMN "scopes" VARCHAR(128)[] NOT NULL DEFAULT ARRAY[]::VARCHAR(128)[];
