-- Why a badge ended, kept with its time (`revoked_at`, the time any badge ended): an organizer's
-- revocation or the security services' refusal (`revoked`), a reissue or a re-signed QR
-- (`superseded`), or its holder's report of a lost badge (`reported_lost`). The gates deny each
-- with its own reason, and their sync feed lists them all: an end is never rewritten.
ALTER TABLE badges ADD COLUMN end_reason text
    CONSTRAINT badges_end_reason_known CHECK (end_reason IN ('revoked', 'superseded', 'reported_lost'));
UPDATE badges SET end_reason = 'revoked' WHERE revoked_at IS NOT NULL;
ALTER TABLE badges ADD CONSTRAINT badges_end_reason_with_time
    CHECK ((revoked_at IS NULL) = (end_reason IS NULL));

CREATE FUNCTION badges_end_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
       AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
            OR NEW.end_reason IS DISTINCT FROM OLD.end_reason) THEN
        RAISE EXCEPTION 'badge % ended already', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'badges_end_is_final';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER badges_end_is_final BEFORE UPDATE OF revoked_at, end_reason ON badges
    FOR EACH ROW EXECUTE FUNCTION badges_end_is_final();

-- The organizers' queue of badges to reissue: a holder (or whoever registered them) reported
-- the badge lost; a reissue closes the request. At most one open request per accreditation.
CREATE TABLE reissue_requests (
    id                uuid PRIMARY KEY,
    event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    accreditation_id  uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    -- The badge reported lost (ended `reported_lost`).
    lost_badge_id     uuid NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    reported_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    reported_at       timestamptz NOT NULL DEFAULT now(),
    state             text NOT NULL DEFAULT 'open'
        CONSTRAINT reissue_requests_state_known CHECK (state IN ('open', 'done')),
    closed_at         timestamptz,
    closed_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The badge that replaced it; null when the request closed without one (a revocation).
    new_badge_id      uuid REFERENCES badges (id) ON DELETE SET NULL,
    CONSTRAINT reissue_requests_closed_when_done CHECK ((state = 'done') = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX reissue_requests_one_open ON reissue_requests (accreditation_id)
    WHERE state = 'open';
CREATE INDEX reissue_requests_event_idx ON reissue_requests (event_id, state, id);
