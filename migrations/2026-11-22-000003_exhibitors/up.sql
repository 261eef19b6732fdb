-- Exhibitors, pavilions, booths, and the people badges are for (participants) with their
-- accreditation applications.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The text a search matches: lower case, accents removed, spaces collapsed.
CREATE FUNCTION search_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT regexp_replace(f_unaccent(lower(btrim($1))), '\s+', ' ', 'g') $$;

CREATE TABLE pavilions (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT pavilions_name_length CHECK (length(name) BETWEEN 1 AND 200),
    country         text CONSTRAINT pavilions_country_shape CHECK (country ~ '^[A-Z]{2}$'),
    description     text NOT NULL DEFAULT '' CONSTRAINT pavilions_description_length CHECK (length(description) <= 4000),
    coordinator_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pavilions_event_name_key ON pavilions (event_id, search_key(name));

CREATE TABLE exhibitors (
    id                    uuid PRIMARY KEY,
    event_id              uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- The account that applied; it manages the company's profile and staff.
    owner_id              uuid NOT NULL REFERENCES users (id),
    legal_name            text NOT NULL CONSTRAINT exhibitors_legal_name_length CHECK (length(legal_name) BETWEEN 1 AND 200),
    display_name          text NOT NULL CONSTRAINT exhibitors_display_name_length CHECK (length(display_name) BETWEEN 1 AND 200),
    country               text NOT NULL CONSTRAINT exhibitors_country_shape CHECK (country ~ '^[A-Z]{2}$'),
    city                  text NOT NULL CONSTRAINT exhibitors_city_length CHECK (length(city) BETWEEN 1 AND 100),
    website               text CONSTRAINT exhibitors_website_shape CHECK (website ~ '^https?://' AND length(website) <= 500),
    description           text NOT NULL DEFAULT '' CONSTRAINT exhibitors_description_length CHECK (length(description) <= 4000),
    sectors               text[] NOT NULL CONSTRAINT exhibitors_sectors_known CHECK (
                              cardinality(sectors) BETWEEN 1 AND 10
                              AND sectors <@ ARRAY['land_systems', 'air_systems', 'naval_systems', 'weapons_munitions',
                                  'communications', 'space_satellites', 'heavy_weapons', 'cyber_security',
                                  'civil_protection_policing', 'training_services']::text[]),
    pavilion_id           uuid REFERENCES pavilions (id) ON DELETE SET NULL,
    contact_name          text CONSTRAINT exhibitors_contact_name_length CHECK (length(contact_name) <= 200),
    contact_email         citext,
    contact_phone         text CONSTRAINT exhibitors_contact_phone_length CHECK (length(contact_phone) <= 40),
    status                text NOT NULL DEFAULT 'pending' CONSTRAINT exhibitors_status_known CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_reason       text CONSTRAINT exhibitors_decision_reason_length CHECK (length(decision_reason) <= 2000),
    decided_by            uuid REFERENCES users (id),
    decided_at            timestamptz,
    booth_hall            text CONSTRAINT exhibitors_booth_hall_length CHECK (length(booth_hall) BETWEEN 1 AND 50),
    booth_stand           text CONSTRAINT exhibitors_booth_stand_length CHECK (length(booth_stand) BETWEEN 1 AND 50),
    booth_area_m2         double precision CONSTRAINT exhibitors_booth_area_range CHECK (booth_area_m2 > 0 AND booth_area_m2 <= 100000),
    staff_quota_override  integer CONSTRAINT exhibitors_quota_override_range CHECK (staff_quota_override BETWEEN 0 AND 500),
    -- The quota in force (from the booth, or the override) and the staff registered against it.
    -- The check below is what guarantees the quota, whatever races the application has.
    staff_quota           integer NOT NULL DEFAULT 0,
    staff_count           integer NOT NULL DEFAULT 0,
    sort_key              text GENERATED ALWAYS AS (search_key(display_name)) STORED,
    search_text           text GENERATED ALWAYS AS (search_key(legal_name || ' ' || display_name || ' ' || description)) STORED,
    -- One application per company and event: same legal name (case, accents, spaces aside) and country.
    company_key           text GENERATED ALWAYS AS (search_key(legal_name) || '|' || country) STORED,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT exhibitors_company_key UNIQUE (event_id, company_key),
    CONSTRAINT exhibitors_staff_within_quota CHECK (staff_count >= 0 AND staff_count <= staff_quota),
    CONSTRAINT exhibitors_booth_complete CHECK (
        (booth_hall IS NULL) = (booth_stand IS NULL) AND (booth_stand IS NULL) = (booth_area_m2 IS NULL)),
    CONSTRAINT exhibitors_decision_recorded CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX exhibitors_stand_key ON exhibitors (event_id, search_key(booth_stand));
-- The public directory: approved exhibitors of an event in name order, and its filters.
CREATE INDEX exhibitors_directory_idx ON exhibitors (event_id, status, sort_key, id);
CREATE INDEX exhibitors_country_idx ON exhibitors (event_id, country, status, sort_key, id);
CREATE INDEX exhibitors_pavilion_idx ON exhibitors (pavilion_id, status, sort_key, id);
CREATE INDEX exhibitors_sectors_idx ON exhibitors USING gin (sectors);
CREATE INDEX exhibitors_search_idx ON exhibitors USING gin (search_text gin_trgm_ops);
CREATE INDEX exhibitors_owner_idx ON exhibitors (owner_id);

-- The person a badge is for.
CREATE TABLE participants (
    id                     uuid PRIMARY KEY,
    event_id               uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- Who registered this person (an exhibitor, a delegation lead, or the person themselves).
    registered_by          uuid NOT NULL REFERENCES users (id),
    exhibitor_id           uuid REFERENCES exhibitors (id) ON DELETE CASCADE,
    first_name             text NOT NULL CONSTRAINT participants_first_name_length CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name              text NOT NULL CONSTRAINT participants_last_name_length CHECK (length(last_name) BETWEEN 1 AND 100),
    email                  citext,
    title                  text CONSTRAINT participants_title_length CHECK (length(title) <= 100),
    organization           text NOT NULL CONSTRAINT participants_organization_length CHECK (length(organization) BETWEEN 1 AND 200),
    function               text CONSTRAINT participants_function_length CHECK (length(function) <= 200),
    nationality            text NOT NULL CONSTRAINT participants_nationality_shape CHECK (nationality ~ '^[A-Z]{2}$'),
    date_of_birth          date NOT NULL,
    id_document_type       text NOT NULL CONSTRAINT participants_id_document_type_known CHECK (
                               id_document_type IN ('passport', 'national_id', 'diplomatic_passport', 'residence_permit')),
    -- The document number, encrypted (AES-256-GCM) under the key named by id_document_key_id;
    -- id_document_hash is an HMAC of the normalised number, for duplicate detection.
    id_document_ciphertext bytea NOT NULL,
    id_document_nonce      bytea NOT NULL,
    id_document_key_id     text NOT NULL,
    id_document_hash       bytea NOT NULL,
    search_text            text GENERATED ALWAYS AS (search_key(first_name || ' ' || last_name || ' ' || organization)) STORED,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participants_exhibitor_idx ON participants (exhibitor_id, created_at);
CREATE INDEX participants_document_idx ON participants (event_id, id_document_hash);
CREATE INDEX participants_search_idx ON participants USING gin (search_text gin_trgm_ops);

-- A participant's badge application for the event.
CREATE TABLE accreditations (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    participant_id   uuid NOT NULL CONSTRAINT accreditations_participant_key UNIQUE REFERENCES participants (id) ON DELETE CASCADE,
    category         text NOT NULL CONSTRAINT accreditations_category_known CHECK (category IN (
                         'exhibitor_staff', 'delegation_member', 'trade_visitor', 'public_visitor',
                         'media', 'vip', 'organizer_staff', 'contractor')),
    status           text NOT NULL DEFAULT 'pending' CONSTRAINT accreditations_status_known CHECK (
                         status IN ('pending', 'approved', 'rejected', 'info_requested', 'revoked')),
    -- Incremented by every change: decisions name the version they were made on.
    version          integer NOT NULL DEFAULT 1,
    decided_by       uuid REFERENCES users (id),
    decided_at       timestamptz,
    decision_reason  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accreditations_queue_idx ON accreditations (event_id, status, created_at, id);
