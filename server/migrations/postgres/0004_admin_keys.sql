-- Admin API keys (stored as BLAKE3 hashes: the key itself is shown once, at creation) and the
-- log of every admin action.

CREATE TABLE admin_keys (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- BLAKE3 of the key, 64 hex characters
    key_hash    TEXT NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL,
    -- set once: a revoked key is refused for good (its name stays taken)
    revoked_ms  BIGINT
);

CREATE TABLE admin_actions (
    id        BIGSERIAL PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    -- the key's name, never the key
    key_name  TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX admin_actions_by_time ON admin_actions (at_ms);
