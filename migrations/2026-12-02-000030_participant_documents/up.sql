-- Scans of a participant's documents for the security services: at most one of each kind per
-- person, encrypted at rest (AES-256-GCM under a named key, bound to the participant and kind),
-- never stored in clear. Deleted with the person's other personal data by the retention purge.
CREATE TABLE participant_documents (
    participant_id uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    kind text NOT NULL
        CONSTRAINT participant_documents_kind_known CHECK (
            kind IN ('passport', 'national_id', 'press_card', 'note_verbale')),
    content_type text NOT NULL
        CONSTRAINT participant_documents_content_type_known CHECK (
            content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    -- Of the plain file, so that a reviewer can tell two uploads apart without decrypting.
    sha256 bytea NOT NULL CONSTRAINT participant_documents_sha256_length CHECK (length(sha256) = 32),
    size integer NOT NULL CONSTRAINT participant_documents_size_range CHECK (size BETWEEN 1 AND 10485760),
    ciphertext bytea NOT NULL,
    nonce bytea NOT NULL CONSTRAINT participant_documents_nonce_length CHECK (length(nonce) = 12),
    key_id text NOT NULL,
    uploaded_by uuid NOT NULL REFERENCES users (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT participant_documents_one_per_kind PRIMARY KEY (participant_id, kind)
);
-- Ciphertext does not compress; storing it as is spares PostgreSQL a useless attempt.
ALTER TABLE participant_documents ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
