-- Official delegations with their invitations, visitors registering themselves, and photos.
CREATE TABLE delegations (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    country         text NOT NULL CONSTRAINT delegations_country_shape CHECK (country ~ '^[A-Z]{2}$'),
    name            text NOT NULL CONSTRAINT delegations_name_length CHECK (length(name) BETWEEN 1 AND 200),
    kind            text NOT NULL CONSTRAINT delegations_kind_known CHECK (
                        kind IN ('government', 'armed_forces', 'police', 'diplomatic_corps', 'industry')),
    protocol_level  text NOT NULL CONSTRAINT delegations_protocol_level_known CHECK (protocol_level IN ('vvip', 'vip', 'standard')),
    arrival_on      date,
    departure_on    date,
    member_limit    integer NOT NULL CONSTRAINT delegations_member_limit_range CHECK (member_limit BETWEEN 1 AND 500),
    -- Members registered against the limit; the check below guarantees the limit whatever races occur.
    member_count    integer NOT NULL DEFAULT 0,
    lead_email      citext NOT NULL,
    lead_name       text NOT NULL CONSTRAINT delegations_lead_name_length CHECK (length(lead_name) BETWEEN 1 AND 200),
    -- The lead's account, once the invitation is accepted.
    lead_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'invited' CONSTRAINT delegations_status_known CHECK (status IN ('invited', 'active', 'closed')),
    search_text     text GENERATED ALWAYS AS (search_key(name || ' ' || lead_name)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT delegations_members_within_limit CHECK (member_count >= 0 AND member_count <= member_limit),
    CONSTRAINT delegations_stay_ordered CHECK (arrival_on IS NULL OR departure_on IS NULL OR arrival_on <= departure_on)
);
CREATE INDEX delegations_event_idx ON delegations (event_id, country, kind, created_at);
CREATE INDEX delegations_lead_idx ON delegations (lead_id);
CREATE INDEX delegations_search_idx ON delegations USING gin (search_text gin_trgm_ops);

-- Invitation links for delegation leads; only a hash is stored. Resending voids the earlier link.
CREATE TABLE delegation_invitations (
    id             uuid PRIMARY KEY,
    delegation_id  uuid NOT NULL REFERENCES delegations (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL CONSTRAINT delegation_invitations_token_hash_key UNIQUE,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    voided_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delegation_invitations_delegation_idx ON delegation_invitations (delegation_id);

ALTER TABLE participants
    ADD COLUMN delegation_id uuid REFERENCES delegations (id) ON DELETE CASCADE,
    -- A visitor's own account (visitors register themselves).
    ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN media_outlet text CONSTRAINT participants_media_outlet_length CHECK (length(media_outlet) BETWEEN 1 AND 200),
    ADD COLUMN press_card_number text CONSTRAINT participants_press_card_length CHECK (length(press_card_number) BETWEEN 1 AND 50),
    ADD CONSTRAINT participants_one_group CHECK (num_nonnulls(exhibitor_id, delegation_id, user_id) <= 1);
-- One registration per person and event.
CREATE UNIQUE INDEX participants_visitor_key ON participants (event_id, user_id);
CREATE INDEX participants_delegation_idx ON participants (delegation_id, created_at);

ALTER TABLE accreditations
    ADD COLUMN protocol_level text CONSTRAINT accreditations_protocol_level_known CHECK (protocol_level IN ('vvip', 'vip', 'standard'));

-- The badge photo, re-encoded as a JPEG of badge size (nothing of the upload is kept).
CREATE TABLE participant_photos (
    participant_id  uuid PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
    jpeg            bytea NOT NULL,
    width           integer NOT NULL,
    height          integer NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Searches normalise with search_key() and match with LIKE '%…%'; this btree index never helped.
DROP INDEX IF EXISTS users_search_idx;
