-- Retention: an event's personal data is purged `retention.purge_after_days` after its last day
-- (src/retention.rs). Rows stay, so the organizers' counts stay; what identifies a person goes.

ALTER TABLE events ADD COLUMN personal_data_purged_at timestamptz;
-- The purge's question, asked every hour: which ended events still hold personal data?
CREATE INDEX events_unpurged_idx ON events (ends_on) WHERE personal_data_purged_at IS NULL;

-- An anonymized participant keeps its event, group (exhibitor or delegation), nationality and
-- accreditation; names become a placeholder and the rest about the person becomes NULL, so these
-- columns can no longer be required. The check keeps both promises: a live participant has every
-- field the application relies on, an anonymized one has nothing personal left.
ALTER TABLE participants
    ADD COLUMN anonymized_at timestamptz,
    ALTER COLUMN registered_by DROP NOT NULL,
    ALTER COLUMN date_of_birth DROP NOT NULL,
    ALTER COLUMN id_document_type DROP NOT NULL,
    ALTER COLUMN id_document_ciphertext DROP NOT NULL,
    ALTER COLUMN id_document_nonce DROP NOT NULL,
    ALTER COLUMN id_document_key_id DROP NOT NULL,
    ALTER COLUMN id_document_hash DROP NOT NULL,
    ADD CONSTRAINT participants_complete_or_anonymized CHECK (
        (anonymized_at IS NULL
            AND num_nulls(registered_by, date_of_birth, id_document_type, id_document_ciphertext,
                          id_document_nonce, id_document_key_id, id_document_hash) = 0)
        OR (anonymized_at IS NOT NULL
            AND first_name = '[purged]' AND last_name = '[purged]' AND organization = '[purged]'
            AND num_nonnulls(registered_by, user_id, email, title, function, date_of_birth,
                             id_document_type, id_document_ciphertext, id_document_nonce,
                             id_document_key_id, id_document_hash, media_outlet,
                             press_card_number) = 0));

-- A purged delegation keeps its country, kind, level and counts, not its lead's address.
ALTER TABLE delegations ALTER COLUMN lead_email DROP NOT NULL;

-- A purged badge keeps its number, zones and days (counted by category) but not its signed QR.
ALTER TABLE badges ALTER COLUMN token DROP NOT NULL;

-- The event an email was about, so that the purge finds every email about its people (the
-- subject names them) whoever it was sent to. Emails queued before this column existed are
-- tagged where the badge they carry tells the event; the purge also matches untagged ones by
-- recipient.
ALTER TABLE outbox ADD COLUMN event_id uuid REFERENCES events (id) ON DELETE CASCADE;
CREATE INDEX outbox_event_idx ON outbox (event_id);
UPDATE outbox SET event_id = accreditations.event_id
    FROM accreditations WHERE outbox.badge_accreditation_id = accreditations.id;
