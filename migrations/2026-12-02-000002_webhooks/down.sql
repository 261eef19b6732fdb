-- record_scans as migration 2026-11-23-000007 made it, without the webhook deliveries.
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
        ORDER BY i.badge_id, i.zone
        ON CONFLICT (badge_id, zone) DO UPDATE
            SET inside = EXCLUDED.inside, updated_at = now()
            WHERE NOT badge_presence.inside OR NOT EXCLUDED.inside
        RETURNING badge_presence.badge_id, badge_presence.zone
    )
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
    RETURNING s.id, s.badge_id, s.verdict, s.reason;
END
$$;

DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
