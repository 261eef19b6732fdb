-- Idempotency-Key: the first answer to a creating request, replayed to a retry with the same key
-- (src/idempotency.rs). Rows live `idempotency.ttl_hours` and are swept by a background loop.
CREATE TABLE idempotency_keys (
    -- Whose key it is: the caller's user id, or 'anonymous' for callers without a token.
    principal     text NOT NULL,
    key           text NOT NULL CONSTRAINT idempotency_keys_key_printable CHECK (key ~ '^[ -~]{1,255}$'),
    method        text NOT NULL,
    -- The matched route (`/api/v1/events/{event}/visitors`), never the concrete path: a path
    -- segment may be a secret (the token of an invitation link). The concrete path is covered by
    -- the fingerprint instead.
    path          text NOT NULL,
    -- HMAC-SHA-256 of the concrete path and the body, under a server key: a register body holds a
    -- password, which a bare hash would expose to fast guessing.
    fingerprint   bytea NOT NULL CONSTRAINT idempotency_keys_fingerprint_length CHECK (length(fingerprint) = 32),
    state         text NOT NULL CONSTRAINT idempotency_keys_state_known CHECK (state IN ('in_progress', 'completed')),
    -- The stored answer, once completed.
    status        smallint,
    content_type  text,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key),
    CONSTRAINT idempotency_keys_completed_has_answer
        CHECK ((state = 'completed') = (status IS NOT NULL AND body IS NOT NULL))
);
-- For the sweep of expired keys.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
