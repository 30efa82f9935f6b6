-- API keys are stored hashed: the key itself is shown once, at creation, and never kept.

CREATE TABLE api_keys (
    key_id text PRIMARY KEY,
    key_hash text NOT NULL UNIQUE,            -- e.g. 'sha256:<hex>' of the full key
    name text NOT NULL DEFAULT '',
    scopes text[] NOT NULL
        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'predict', 'admin']),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
