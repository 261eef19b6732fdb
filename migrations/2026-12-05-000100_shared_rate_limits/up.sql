-- Abuse limits (src/auth/limits.rs) kept here rather than in each process, so that several
-- instances behind a load balancer share one budget per client and per account.
--
-- GCRA, as the governor crate did in memory: a key's row holds its theoretical arrival time
-- (`tat`); a request costs one emission interval (the quota's period divided by its rate) and is
-- allowed while the new `tat` is at most `burst` intervals ahead of now. A row whose `tat` has
-- passed holds a whole budget again and is deleted by the sweeper.
CREATE TABLE rate_limits (
    -- SHA-256 of the key (the action with an IP address or an account's email): no address is
    -- stored in the clear.
    key_digest  bytea PRIMARY KEY CONSTRAINT rate_limits_digest_length CHECK (length(key_digest) = 32),
    tat         timestamptz NOT NULL
);
CREATE INDEX rate_limits_tat_idx ON rate_limits (tat);

-- Takes one request from the key's budget: NULL when allowed, otherwise the seconds to wait
-- (nothing is taken then). One statement, so two instances racing on a key are serialised by
-- its row lock (ON CONFLICT locks the row even when its WHERE refuses the update).
CREATE FUNCTION take_rate_limit(digest bytea, emission_seconds double precision, burst integer)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    emission interval := make_interval(secs => emission_seconds);
    started timestamptz := clock_timestamp();
    wait double precision;
BEGIN
    INSERT INTO rate_limits AS r (key_digest, tat) VALUES (digest, started + emission)
    ON CONFLICT (key_digest) DO UPDATE SET tat = greatest(r.tat, started) + emission
        WHERE greatest(r.tat, started) + emission <= started + emission * burst;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT extract(epoch FROM greatest(r.tat, started) + emission - emission * burst - started)
      INTO wait
      FROM rate_limits r WHERE r.key_digest = digest;
    RETURN greatest(wait, 0);
END
$$;
