-- The metrics count failed messages at every scrape: a partial index keeps that from reading the
-- sent messages, which are nearly the whole table (pending ones have `outbox_due_idx`).
CREATE INDEX outbox_failed_idx ON outbox (created_at) WHERE status = 'failed';
