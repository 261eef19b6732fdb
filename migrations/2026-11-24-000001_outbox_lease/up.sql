-- A message being sent is claimed with a lease instead of a row lock held for the whole SMTP
-- exchange: the worker sets `leased_until` (and pushes `next_attempt_at` to the same instant)
-- in a statement of its own, commits, sends, then marks the outcome. A worker that dies or
-- hangs mid-send holds nothing: once the lease is over the message is due again.
ALTER TABLE outbox ADD COLUMN leased_until timestamptz;
