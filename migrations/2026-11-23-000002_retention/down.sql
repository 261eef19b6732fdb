-- Once an event has been purged this cannot run: the NOT NULL columns have nothing to hold.
DROP INDEX outbox_event_idx;
ALTER TABLE outbox DROP COLUMN event_id;
ALTER TABLE badges ALTER COLUMN token SET NOT NULL;
ALTER TABLE delegations ALTER COLUMN lead_email SET NOT NULL;
ALTER TABLE participants
    DROP CONSTRAINT participants_complete_or_anonymized,
    ALTER COLUMN id_document_hash SET NOT NULL,
    ALTER COLUMN id_document_key_id SET NOT NULL,
    ALTER COLUMN id_document_nonce SET NOT NULL,
    ALTER COLUMN id_document_ciphertext SET NOT NULL,
    ALTER COLUMN id_document_type SET NOT NULL,
    ALTER COLUMN date_of_birth SET NOT NULL,
    ALTER COLUMN registered_by SET NOT NULL,
    DROP COLUMN anonymized_at;
DROP INDEX events_unpurged_idx;
ALTER TABLE events DROP COLUMN personal_data_purged_at;
