-- Back to record_scans as migration 2026-12-03-000400 made it, without offline scans.
DROP FUNCTION record_offline_scans(uuid, uuid, uuid, uuid[], uuid[], text[], text[], text[], text[], bytea[], text[], timestamptz[], text[]);

-- record_scans (migration 2026-12-02-000002) with one more array: the device of each scan.

CREATE OR REPLACE FUNCTION record_scans(
    ids uuid[], event_ids uuid[], badge_ids uuid[], agent_ids uuid[], device_ids uuid[],
    gates text[], zones text[], directions text[], reasons text[], qr_digests bytea[]
) RETURNS TABLE (id uuid, badge_id uuid, verdict text, reason text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(ids, event_ids, badge_ids, agent_ids, device_ids, gates, zones,
                             directions, reasons, qr_digests)
            AS t(id, event_id, badge_id, agent_id, device_id, gate, zone, direction, reason,
                 qr_digest)
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
        INSERT INTO scans AS s (id, event_id, badge_id, agent_id, device_id, gate, zone,
                                direction, verdict, reason, qr_digest)
        SELECT i.id, i.event_id, i.badge_id, i.agent_id, i.device_id, i.gate, i.zone, i.direction,
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

DROP FUNCTION queue_scan_denied_webhooks(uuid[]);
DROP INDEX scans_passages_idx;
DROP INDEX scans_flagged_idx;
ALTER TABLE scans DROP CONSTRAINT scans_one_badge_source, DROP CONSTRAINT scans_offline_received_after,
    DROP COLUMN flagged, DROP COLUMN offline_verdict, DROP COLUMN entered_number, DROP COLUMN received_at;
