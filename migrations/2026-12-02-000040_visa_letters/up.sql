-- Visa invitation letters: every letter issued is a record, with a verification code that a
-- consulate checks at GET /api/v1/letters/{code} (see src/letters/). The code is looked up by its
-- SHA-256 (a database read gives no working code away) and kept sealed with AES-256-GCM under the
-- document keys, bound to the letter id, so that the same letter can be printed again.
CREATE TABLE visa_letters (
    id               uuid PRIMARY KEY,
    accreditation_id uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    code_hash        bytea NOT NULL CONSTRAINT visa_letters_code_hash_key UNIQUE
                         CONSTRAINT visa_letters_code_hash_size CHECK (length(code_hash) = 32),
    code_ciphertext  bytea NOT NULL,
    code_nonce       bytea NOT NULL CONSTRAINT visa_letters_nonce_size CHECK (length(code_nonce) = 12),
    code_key_id      text NOT NULL,
    -- Whom the letter is addressed to; NULL: the consular services in general (and after the
    -- retention purge).
    consulate        text CONSTRAINT visa_letters_consulate_length
                         CHECK (length(consulate) BETWEEN 1 AND 200),
    language         text NOT NULL CONSTRAINT visa_letters_language_known
                         CHECK (language IN ('fr', 'en')),
    issued_at        timestamptz NOT NULL DEFAULT now(),
    issued_by        uuid REFERENCES users (id) ON DELETE SET NULL
);
-- The letter an accreditation shows: its latest.
CREATE INDEX visa_letters_accreditation_idx ON visa_letters (accreditation_id, issued_at DESC);
