-- The review workflow (four eyes), badges with their signed QR codes, and gate scans.
ALTER TABLE events
    -- Categories whose approval needs two different organizers.
    ADD COLUMN sensitive_categories text[] NOT NULL DEFAULT '{delegation_member,vip,media}',
    -- Categories allowed at the demonstration range (Koulikoro).
    ADD COLUMN range_categories text[] NOT NULL DEFAULT '{delegation_member,vip,organizer_staff}';

-- First approvals of sensitive accreditations, waiting for a second organizer.
CREATE TABLE accreditation_approvals (
    accreditation_id  uuid NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    organizer_id      uuid NOT NULL REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (accreditation_id, organizer_id)
);

-- Badge numbers are never reused: the last number given, per event and category.
CREATE TABLE badge_sequences (
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    category    text NOT NULL,
    last_value  integer NOT NULL,
    PRIMARY KEY (event_id, category)
);

CREATE TABLE badges (
    id                uuid PRIMARY KEY,
    accreditation_id  uuid NOT NULL CONSTRAINT badges_accreditation_key UNIQUE REFERENCES accreditations (id) ON DELETE CASCADE,
    event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    number            text NOT NULL CONSTRAINT badges_number_key UNIQUE,
    zones             text[] NOT NULL,
    valid_days        date[] NOT NULL,
    -- The signed QR payload (compact JWS, EdDSA) and the key that signed it.
    key_id            text NOT NULL,
    token             text NOT NULL,
    expires_at        timestamptz NOT NULL,
    prints            integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Who is inside, for anti-passback.
CREATE TABLE badge_presence (
    badge_id    uuid PRIMARY KEY REFERENCES badges (id) ON DELETE CASCADE,
    inside      boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every scan at a gate; the id is the client's scan_id when given, so a retry counts once.
CREATE TABLE scans (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    badge_id    uuid REFERENCES badges (id) ON DELETE SET NULL,
    agent_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    gate        text NOT NULL CONSTRAINT scans_gate_length CHECK (length(gate) BETWEEN 1 AND 50),
    zone        text NOT NULL,
    direction   text NOT NULL CONSTRAINT scans_direction_known CHECK (direction IN ('in', 'out')),
    verdict     text NOT NULL CONSTRAINT scans_verdict_known CHECK (verdict IN ('allowed', 'denied')),
    reason      text,
    scanned_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scans_event_idx ON scans (event_id, scanned_at);

CREATE INDEX accreditations_event_category_idx ON accreditations (event_id, category, status);
CREATE INDEX participants_event_name_idx ON participants (event_id, search_key(last_name || ' ' || first_name), date_of_birth);

-- An approval email carries the badge as a PDF, rendered by the outbox worker when it sends.
ALTER TABLE outbox ADD COLUMN badge_accreditation_id uuid REFERENCES accreditations (id) ON DELETE SET NULL;
