-- The officers' decisions on each accreditation, kept as a history: the current state is on the
-- accreditation (`vetting_state`), this says who decided what, when, and what it overruled.
CREATE TABLE vetting_decisions (
    id                uuid PRIMARY KEY,
    accreditation_id  uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    -- For the purge, which scrubs the free text of an event's decisions.
    event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    officer_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    state             text NOT NULL
        CONSTRAINT vetting_decisions_state_known CHECK (
            state IN ('pending', 'cleared', 'refused', 'info_requested')),
    -- Internal: never shown to the applicant.
    note              text CONSTRAINT vetting_decisions_note_length CHECK (length(note) BETWEEN 1 AND 2000),
    -- The services' own reference for the case.
    reference         text CONSTRAINT vetting_decisions_reference_length CHECK (length(reference) BETWEEN 1 AND 200),
    -- For the applicant (a request for information).
    message           text CONSTRAINT vetting_decisions_message_length CHECK (length(message) BETWEEN 1 AND 2000),
    -- The decision this one overruled (an officer's earlier clearance or refusal).
    overrules         uuid REFERENCES vetting_decisions (id) ON DELETE SET NULL,
    -- The clock, not the transaction's start: several decisions of one transaction stay in order.
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX vetting_decisions_accreditation_idx ON vetting_decisions (accreditation_id, created_at);
CREATE INDEX vetting_decisions_event_idx ON vetting_decisions (event_id);

-- A badge revoked stays (its number is never reused, and the gates' sync feed will list it); an
-- accreditation may then get a new badge: several badges, at most one of them live.
ALTER TABLE badges ADD COLUMN revoked_at timestamptz;
ALTER TABLE badges DROP CONSTRAINT badges_accreditation_key;
CREATE UNIQUE INDEX badges_one_live_per_accreditation ON badges (accreditation_id)
    WHERE revoked_at IS NULL;
CREATE INDEX badges_accreditation_idx ON badges (accreditation_id);

-- The vetting queue filters by state within an event.
CREATE INDEX accreditations_event_vetting_idx ON accreditations (event_id, vetting_state, id)
    WHERE vetting_state IS NOT NULL;

-- What a person was cleared as: a later correction of their identity (names, date of birth,
-- nationality, document, place of birth, document expiry) sends them back to `pending`.
CREATE FUNCTION participant_identity(p participants) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT md5(concat_ws(chr(31), p.first_name, p.last_name, p.date_of_birth::text, p.nationality,
                         p.id_document_type, encode(p.id_document_hash, 'hex'), p.place_of_birth,
                         p.id_document_expires_on::text))
$$;
ALTER TABLE accreditations ADD COLUMN cleared_identity text;
