-- Foundation: accounts, events, the audit trail and the email outbox.
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    email              citext NOT NULL CONSTRAINT users_email_key UNIQUE
                       CONSTRAINT users_email_shape CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    -- NULL until the account's first password is set (accounts created by an admin).
    password_hash      text,
    full_name          text NOT NULL CONSTRAINT users_full_name_length CHECK (length(full_name) BETWEEN 1 AND 200),
    locale             text NOT NULL DEFAULT 'fr' CONSTRAINT users_locale_known CHECK (locale IN ('fr', 'en', 'tr')),
    roles              text[] NOT NULL DEFAULT '{visitor}'
                       CONSTRAINT users_roles_known CHECK (
                           roles <@ ARRAY['admin', 'organizer', 'gate_agent', 'exhibitor',
                                          'delegation_lead', 'visitor', 'media']::text[]
                           AND array_position(roles, NULL) IS NULL),
    email_verified_at  timestamptz,
    disabled_at        timestamptz,
    locked_until       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id                       uuid PRIMARY KEY,
    slug                     text NOT NULL CONSTRAINT events_slug_key UNIQUE
                             CONSTRAINT events_slug_shape CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name                     text NOT NULL CONSTRAINT events_name_length CHECK (length(name) BETWEEN 1 AND 200),
    venue                    text NOT NULL CONSTRAINT events_venue_length CHECK (length(venue) BETWEEN 1 AND 300),
    time_zone                text NOT NULL DEFAULT 'Africa/Bamako',
    starts_on                date NOT NULL,
    ends_on                  date NOT NULL,
    public_days              date[] NOT NULL DEFAULT '{}',
    status                   text NOT NULL DEFAULT 'draft' CONSTRAINT events_status_known CHECK (status IN ('draft', 'open', 'closed')),
    auto_approve_public      boolean NOT NULL DEFAULT false,
    registration_opens_at    timestamptz,
    registration_closes_at   timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_days_ordered CHECK (starts_on <= ends_on),
    CONSTRAINT events_window_ordered CHECK (registration_opens_at IS NULL OR registration_closes_at IS NULL
                                             OR registration_opens_at < registration_closes_at)
);

-- Who did what to which record, when, from where. Never updated, never deleted by the service.
CREATE TABLE audit_records (
    id           uuid PRIMARY KEY,
    actor_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    uuid,
    details      jsonb NOT NULL DEFAULT '{}',
    client_ip    text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_records_target_idx ON audit_records (target_type, target_id, created_at);
CREATE INDEX audit_records_actor_idx ON audit_records (actor_id, created_at);

-- Emails are written here in the transaction of the change that causes them and sent by a worker.
CREATE TABLE outbox (
    id               uuid PRIMARY KEY,
    recipient        text NOT NULL,
    template         text NOT NULL,
    locale           text NOT NULL,
    subject          text NOT NULL,
    body_text        text NOT NULL,
    body_html        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CONSTRAINT outbox_status_known CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CONSTRAINT outbox_attempts_positive CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CONSTRAINT outbox_sent_at_iff_sent CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- The worker's query: due pending messages, oldest first.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
