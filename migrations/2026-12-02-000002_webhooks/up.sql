-- Webhooks: endpoints that admins register per event, and the outbox of their deliveries (see
-- src/webhooks/). A delivery is written in the transaction of the change that causes it; the
-- worker claims due ones with a lease, exactly as the email outbox does.

CREATE TABLE webhook_endpoints (
    id                 uuid PRIMARY KEY,
    event_id           uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    url                text NOT NULL CONSTRAINT webhook_endpoints_url_http
                           CHECK (url ~ '^https?://' AND length(url) <= 2000),
    kinds              text[] NOT NULL CONSTRAINT webhook_endpoints_kinds_known
                           CHECK (cardinality(kinds) >= 1 AND kinds <@ ARRAY[
                               'accreditation.decided', 'badge.revoked', 'exhibitor.reviewed',
                               'scan.denied']::text[]),
    description        text CONSTRAINT webhook_endpoints_description_length
                           CHECK (length(description) BETWEEN 1 AND 500),
    -- The signing secret, sealed with AES-256-GCM under a document key (it must be read back to
    -- sign, so it cannot be hashed); bound to the endpoint id.
    secret_ciphertext  bytea NOT NULL,
    secret_nonce       bytea NOT NULL CONSTRAINT webhook_endpoints_nonce_size CHECK (length(secret_nonce) = 12),
    secret_key_id      text NOT NULL,
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
-- Who subscribes to what happens at an event: read in the transaction of every change.
CREATE INDEX webhook_endpoints_event_idx ON webhook_endpoints (event_id);

CREATE TABLE webhook_deliveries (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id           uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id              uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- The `webhook-id` header: one per occurrence, the same for every endpoint, every retry and
    -- every redelivery, so that receivers can tell a copy.
    message_id            uuid NOT NULL,
    kind                  text NOT NULL CONSTRAINT webhook_deliveries_kind_known
                              CHECK (kind IN ('accreditation.decided', 'badge.revoked',
                                              'exhibitor.reviewed', 'scan.denied')),
    -- The JSON body exactly as it is sent and signed.
    body                  text NOT NULL,
    status                text NOT NULL DEFAULT 'pending' CONSTRAINT webhook_deliveries_status_known
                              CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts              integer NOT NULL DEFAULT 0 CONSTRAINT webhook_deliveries_attempts_positive CHECK (attempts >= 0),
    next_attempt_at       timestamptz NOT NULL DEFAULT now(),
    leased_until          timestamptz,
    last_attempt_at       timestamptz,
    last_response_status  integer CONSTRAINT webhook_deliveries_http_status CHECK (last_response_status BETWEEN 100 AND 599),
    last_error            text,
    delivered_at          timestamptz,
    redelivery_of         uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_delivered_at_iff_delivered CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The worker's query: due pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log of an endpoint, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
-- The retention purge.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_redelivery_idx ON webhook_deliveries (redelivery_of) WHERE redelivery_of IS NOT NULL;

-- record_scans (migration 2026-11-23-000007) as it was, plus one INSERT … SELECT: every denied
-- scan it records is queued for the endpoints of its event that subscribe to `scan.denied`, in
-- the same statement, so a scan and its deliveries are committed together or not at all. With
-- no denial, or no subscriber, the extra join finds nothing.
CREATE OR REPLACE FUNCTION record_scans(
    ids uuid[], event_ids uuid[], badge_ids uuid[], agent_ids uuid[], gates text[],
    zones text[], directions text[], reasons text[], qr_digests bytea[]
) RETURNS TABLE (id uuid, badge_id uuid, verdict text, reason text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(ids, event_ids, badge_ids, agent_ids, gates, zones, directions,
                             reasons, qr_digests)
            AS t(id, event_id, badge_id, agent_id, gate, zone, direction, reason, qr_digest)
    ),
    moved AS (
        INSERT INTO badge_presence (badge_id, zone, inside)
        SELECT i.badge_id, i.zone, i.direction = 'in' FROM input i WHERE i.reason IS NULL
        -- One order for every writer: two instances' batches lock the same badges in the same
        -- order, so they wait for each other rather than deadlock.
        ORDER BY i.badge_id, i.zone
        ON CONFLICT (badge_id, zone) DO UPDATE
            SET inside = EXCLUDED.inside, updated_at = now()
            WHERE NOT badge_presence.inside OR NOT EXCLUDED.inside
        RETURNING badge_presence.badge_id, badge_presence.zone
    ),
    recorded AS (
        INSERT INTO scans AS s (id, event_id, badge_id, agent_id, gate, zone, direction, verdict,
                                reason, qr_digest)
        SELECT i.id, i.event_id, i.badge_id, i.agent_id, i.gate, i.zone, i.direction,
               CASE WHEN i.reason IS NULL AND m.badge_id IS NOT NULL THEN 'allowed' ELSE 'denied' END,
               CASE WHEN i.reason IS NOT NULL THEN i.reason
                    WHEN m.badge_id IS NULL THEN 'already_inside' END,
               i.qr_digest
        FROM input i
        LEFT JOIN moved m ON i.reason IS NULL AND m.badge_id = i.badge_id AND m.zone = i.zone
        ON CONFLICT (id) DO NOTHING
        RETURNING s.id, s.event_id, s.badge_id, s.gate, s.zone, s.direction, s.verdict, s.reason,
                  s.scanned_at
    ),
    -- One message id per denied scan (a volatile function: computed once per row, not per
    -- endpoint), shared by its deliveries. The body holds ids and codes only (src/webhooks/kinds.rs).
    denied AS (
        SELECT r.*, gen_random_uuid() AS message_id FROM recorded r WHERE r.verdict = 'denied'
    ),
    queued AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_id, message_id, kind, body)
        SELECT w.id, d.event_id, d.message_id, 'scan.denied',
               jsonb_build_object(
                   'type', 'scan.denied',
                   'id', d.message_id,
                   'timestamp', to_char(d.scanned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'data', jsonb_build_object(
                       'event', e.slug, 'event_id', d.event_id, 'scan_id', d.id,
                       'badge_id', d.badge_id, 'gate', d.gate, 'zone', d.zone,
                       'direction', d.direction, 'reason', d.reason))::text
        FROM denied d
        JOIN webhook_endpoints w ON w.event_id = d.event_id AND 'scan.denied' = ANY (w.kinds)
        JOIN events e ON e.id = d.event_id
    )
    SELECT r.id, r.badge_id, r.verdict, r.reason FROM recorded r;
END
$$;
