-- Offline scans (issue 14, item 3): a gate device decides offline and uploads its scans later
-- (`POST /api/v1/events/{event}/scans/batch`). `scanned_at` is then the real time of the scan,
-- given by the device; `received_at` is when the service got it (the same for online scans).
ALTER TABLE scans
    ADD COLUMN received_at timestamptz NOT NULL DEFAULT now(),
    -- The badge number a guard typed instead of scanning the QR (offline uploads only).
    ADD COLUMN entered_number text
        CONSTRAINT scans_entered_number_length CHECK (length(entered_number) BETWEEN 1 AND 50),
    -- What the device decided offline; null for a scan decided online.
    ADD COLUMN offline_verdict text
        CONSTRAINT scans_offline_verdict_known CHECK (offline_verdict IN ('allowed', 'denied')),
    -- Let in offline although the server refuses it at its `scanned_at` (revoked before, wrong
    -- zone …): an alert for organizers. Being inside already is no alert (the device cannot
    -- know about the other gates).
    ADD COLUMN flagged boolean NOT NULL GENERATED ALWAYS AS (
        offline_verdict IS NOT DISTINCT FROM 'allowed' AND verdict = 'denied'
        AND reason IS DISTINCT FROM 'already_inside'
    ) STORED,
    ADD CONSTRAINT scans_offline_received_after CHECK (offline_verdict IS NULL OR received_at >= scanned_at - interval '2 minutes'),
    ADD CONSTRAINT scans_one_badge_source CHECK (entered_number IS NULL OR qr_digest IS NULL);

-- The alerts of an event, in time order (GET …/gate-alerts, the stats).
CREATE INDEX scans_flagged_idx ON scans (event_id, scanned_at, id) WHERE flagged;
-- A badge's passages in a zone in time order: an upload rebuilds presence from them.
CREATE INDEX scans_passages_idx ON scans (badge_id, zone, scanned_at) WHERE verdict = 'allowed';

-- A `scan.denied` webhook for each of the scans `scan_ids` that was denied, to every endpoint of
-- its event that wants it. One message id per scan (a volatile function: computed once per row),
-- shared by its deliveries; the body holds ids and codes only (src/webhooks/kinds.rs).
CREATE FUNCTION queue_scan_denied_webhooks(scan_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    WITH denied AS (
        SELECT s.*, gen_random_uuid() AS message_id FROM scans s
        WHERE s.id = ANY (scan_ids) AND s.verdict = 'denied'
    )
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
$$;

-- record_scans (migration 2026-12-03-000400), its webhooks now queued by the function above,
-- which the offline upload shares. The scans it just recorded are visible to that next statement.
CREATE OR REPLACE FUNCTION record_scans(
    ids uuid[], event_ids uuid[], badge_ids uuid[], agent_ids uuid[], device_ids uuid[],
    gates text[], zones text[], directions text[], reasons text[], qr_digests bytea[]
) RETURNS TABLE (id uuid, badge_id uuid, verdict text, reason text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    recorded_ids uuid[];
    recorded_badges uuid[];
    recorded_verdicts text[];
    recorded_reasons text[];
BEGIN
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
        RETURNING s.id, s.badge_id, s.verdict, s.reason
    )
    SELECT coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.badge_id), '{}'),
           coalesce(array_agg(r.verdict), '{}'), coalesce(array_agg(r.reason), '{}')
    INTO recorded_ids, recorded_badges, recorded_verdicts, recorded_reasons
    FROM recorded r;
    PERFORM queue_scan_denied_webhooks(recorded_ids);
    RETURN QUERY SELECT * FROM unnest(recorded_ids, recorded_badges, recorded_verdicts, recorded_reasons);
END
$$;

-- Records an upload of one device's offline scans, judged beforehand without presence
-- (`reasons`: null for a passage presence decides), in one call:
-- 1. locks the presence of every badge and zone passed, in the order every writer uses, so that
--    the online recorder waits for the upload (and sees its outcome) rather than racing it;
-- 2. judges each passage against the previous one in time order (`scanned_at`), among the
--    passages recorded before and those of the upload: an entry right after an entry is
--    `already_inside`; an exit always passes. After a passage the badge is on its side;
-- 3. records the scans (a scan id recorded meanwhile is skipped: the caller sees fewer rows and
--    undoes the call), sets each presence to the direction of its latest passage by time,
--    and queues the `scan.denied` webhooks.
CREATE FUNCTION record_offline_scans(
    upload_event uuid, upload_device uuid, upload_agent uuid,
    ids uuid[], badge_ids uuid[], gates text[], zones text[], directions text[], reasons text[],
    qr_digests bytea[], entered_numbers text[], scanned_ats timestamptz[], offline_verdicts text[]
) RETURNS TABLE (id uuid, verdict text, reason text, flagged boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    recorded_ids uuid[];
    recorded_verdicts text[];
    recorded_reasons text[];
    recorded_flags boolean[];
BEGIN
    INSERT INTO badge_presence AS p (badge_id, zone, inside)
    SELECT DISTINCT t.badge_id, t.zone, false
    FROM unnest(badge_ids, zones, reasons) AS t(badge_id, zone, reason)
    WHERE t.reason IS NULL
    ORDER BY t.badge_id, t.zone
    ON CONFLICT (badge_id, zone) DO UPDATE SET inside = p.inside;

    WITH input AS (
        SELECT * FROM unnest(ids, badge_ids, gates, zones, directions, reasons, qr_digests,
                             entered_numbers, scanned_ats, offline_verdicts)
            AS t(id, badge_id, gate, zone, direction, reason, qr_digest, entered_number,
                 scanned_at, offline_verdict)
    ),
    passing AS (SELECT * FROM input i WHERE i.reason IS NULL),
    timeline AS (
        SELECT p.id, p.badge_id, p.zone, p.direction, p.scanned_at, true AS uploaded
        FROM passing p
        UNION ALL
        SELECT s.id, s.badge_id, s.zone, s.direction, s.scanned_at, false
        FROM scans s
        WHERE s.verdict = 'allowed'
          AND (s.badge_id, s.zone) IN (SELECT DISTINCT p.badge_id, p.zone FROM passing p)
    ),
    ordered AS (
        SELECT t.*, lag(t.direction) OVER (PARTITION BY t.badge_id, t.zone
                                           ORDER BY t.scanned_at, t.id) AS previous
        FROM timeline t
    ),
    decided AS (
        SELECT i.*,
               CASE WHEN i.reason IS NOT NULL THEN i.reason
                    WHEN i.direction = 'in' AND o.previous = 'in' THEN 'already_inside' END
                   AS decided_reason
        FROM input i
        LEFT JOIN ordered o ON o.uploaded AND o.id = i.id
    ),
    latest AS (
        SELECT DISTINCT ON (o.badge_id, o.zone) o.badge_id, o.zone, o.direction
        FROM ordered o
        LEFT JOIN decided d ON o.uploaded AND d.id = o.id
        WHERE NOT o.uploaded OR d.decided_reason IS NULL
        ORDER BY o.badge_id, o.zone, o.scanned_at DESC, o.id DESC
    ),
    moved AS (
        UPDATE badge_presence p SET inside = l.direction = 'in', updated_at = now()
        FROM latest l
        WHERE p.badge_id = l.badge_id AND p.zone = l.zone AND p.inside <> (l.direction = 'in')
    ),
    recorded AS (
        INSERT INTO scans AS s (id, event_id, badge_id, agent_id, device_id, gate, zone,
                                direction, verdict, reason, qr_digest, entered_number,
                                scanned_at, offline_verdict)
        SELECT d.id, upload_event, d.badge_id, upload_agent, upload_device, d.gate, d.zone,
               d.direction, CASE WHEN d.decided_reason IS NULL THEN 'allowed' ELSE 'denied' END,
               d.decided_reason, d.qr_digest, d.entered_number, d.scanned_at, d.offline_verdict
        FROM decided d
        ON CONFLICT (id) DO NOTHING
        RETURNING s.id, s.verdict, s.reason, s.flagged
    )
    SELECT coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.verdict), '{}'),
           coalesce(array_agg(r.reason), '{}'), coalesce(array_agg(r.flagged), '{}')
    INTO recorded_ids, recorded_verdicts, recorded_reasons, recorded_flags
    FROM recorded r;
    PERFORM queue_scan_denied_webhooks(recorded_ids);
    RETURN QUERY SELECT * FROM unnest(recorded_ids, recorded_verdicts, recorded_reasons, recorded_flags);
END
$$;
