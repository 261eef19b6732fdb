-- Records a batch of gate scans (see src/gates/recorder.rs), one element of each array a scan.
-- A scan with a `reason` is a denial decided before presence; the others move their badge in or
-- out of their zone: an entry only when the badge is not inside that zone already (anti-passback,
-- atomic under concurrent batches), an exit always. A batch holds at most one passage per badge
-- and zone. Scans whose id exists already are skipped (not returned).
--
-- PL/pgSQL rather than a statement sent each time: its plan is prepared once per connection.
CREATE FUNCTION record_scans(
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
