-- Second factor (TOTP) for staff accounts, and an audit trail that can be read per event and
-- cannot be rewritten.

-- One factor per account. The secret is sealed by the document vault (AES-256-GCM, bound to the
-- account); `confirmed_at` is NULL while enrolling, until a first code proves the app has it.
CREATE TABLE mfa_factors (
    user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext  bytea NOT NULL,
    secret_nonce       bytea NOT NULL,
    secret_key_id      text NOT NULL,
    confirmed_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- Single-use recovery codes, argon2id hashes; gone with their factor.
CREATE TABLE mfa_recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES mfa_factors (user_id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mfa_recovery_codes_user_idx ON mfa_recovery_codes (user_id);

-- A TOTP code is accepted once per account and time step, whichever instance sees it: the
-- primary key decides between two instances racing on the same code.
CREATE TABLE mfa_used_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    time_step  bigint NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, time_step)
);

-- The first step of a two-step sign-in: the password was right, a code is awaited.
CREATE TABLE mfa_challenges (
    id          uuid PRIMARY KEY,
    token_hash  bytea NOT NULL CONSTRAINT mfa_challenges_token_hash_key UNIQUE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);

-- Sessions (refresh-token families) that passed the second factor: at sign-in, or by enrolling
-- in them. A staff session outside this table reaches only /me and /me/mfa.
CREATE TABLE mfa_verified_sessions (
    family_id    uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_verified_sessions_user_idx ON mfa_verified_sessions (user_id);

-- The event an audit record is about, derived from its target in the database so that no
-- writer has to know it. NULL for records about no event (accounts, the platform).
ALTER TABLE audit_records ADD COLUMN event_id uuid;

CREATE FUNCTION audit_event_of(kind text, target uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT CASE kind
        WHEN 'event' THEN (SELECT id FROM events WHERE id = target)
        WHEN 'exhibitor' THEN (SELECT event_id FROM exhibitors WHERE id = target)
        WHEN 'participant' THEN (SELECT event_id FROM participants WHERE id = target)
        WHEN 'accreditation' THEN (SELECT event_id FROM accreditations WHERE id = target)
        WHEN 'delegation' THEN (SELECT event_id FROM delegations WHERE id = target)
        WHEN 'badge' THEN (SELECT event_id FROM badges WHERE id = target)
        WHEN 'pavilion' THEN (SELECT event_id FROM pavilions WHERE id = target)
        WHEN 'webhook' THEN (SELECT event_id FROM webhook_endpoints WHERE id = target)
        WHEN 'vetting_batch' THEN (SELECT event_id FROM vetting_batches WHERE id = target)
        WHEN 'visa_letter' THEN (SELECT a.event_id FROM visa_letters l
                                   JOIN accreditations a ON a.id = l.accreditation_id
                                  WHERE l.id = target)
    END
$$;

UPDATE audit_records SET event_id = audit_event_of(target_type, target_id)
WHERE target_id IS NOT NULL;

CREATE INDEX audit_records_event_idx ON audit_records (event_id, created_at, id);
CREATE INDEX audit_records_created_idx ON audit_records (created_at, id);

CREATE FUNCTION audit_records_set_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_id IS NULL AND NEW.target_id IS NOT NULL THEN
        NEW.event_id := audit_event_of(NEW.target_type, NEW.target_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_records_set_event BEFORE INSERT ON audit_records
FOR EACH ROW EXECUTE FUNCTION audit_records_set_event();

-- Append-only. The service connects as a superuser, so privileges alone would not hold: every
-- UPDATE and DELETE is refused, except what the retention purge does (and the foreign key's
-- ON DELETE SET NULL of a deleted actor): clearing the client IP and the actor, and replacing
-- the free-text reason inside details. Nothing else of a record may change.
CREATE FUNCTION audit_records_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id
       AND NEW.action = OLD.action
       AND NEW.target_type = OLD.target_type
       AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id
       AND NEW.event_id IS NOT DISTINCT FROM OLD.event_id
       AND NEW.created_at = OLD.created_at
       AND (NEW.client_ip IS NULL OR NEW.client_ip = OLD.client_ip)
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)
       AND (NEW.details - 'reason') = (OLD.details - 'reason')
       AND (NEW.details ? 'reason') = (OLD.details ? 'reason')
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
