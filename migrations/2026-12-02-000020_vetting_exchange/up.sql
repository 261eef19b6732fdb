-- Batch exchange with security services that work offline: the files of people sent to them
-- (so that nobody is sent twice unless their identity changed), and the results they send back
-- (so that a result uploaded twice is applied once).
CREATE TABLE vetting_batches (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    people      integer NOT NULL CONSTRAINT vetting_batches_people_positive CHECK (people >= 0)
);
CREATE INDEX vetting_batches_event_idx ON vetting_batches (event_id, created_at);

CREATE TABLE vetting_batch_items (
    batch_id          uuid NOT NULL REFERENCES vetting_batches (id) ON DELETE CASCADE,
    accreditation_id  uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    -- The accreditation's version when it was sent (what a result may name back).
    version           integer NOT NULL,
    -- `participant_identity` of the person as sent: a correction changes it, and the person is
    -- sent again.
    identity          text NOT NULL,
    PRIMARY KEY (batch_id, accreditation_id)
);
CREATE INDEX vetting_batch_items_sent_idx ON vetting_batch_items (accreditation_id, identity);

-- One row per result applied from an upload. The digest covers what the row says (state,
-- reference, note, message, version): the same row uploaded again, or by two uploads at once,
-- meets the unique constraint and is not applied a second time.
CREATE TABLE vetting_results (
    id                uuid PRIMARY KEY,
    event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    accreditation_id  uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    row_digest        bytea NOT NULL,
    uploaded_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vetting_results_once UNIQUE (accreditation_id, row_digest)
);
CREATE INDEX vetting_results_event_idx ON vetting_results (event_id);
