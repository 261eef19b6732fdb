-- The database's share of a gate scan, as the service sends it (benches/gates-load.sh leaves
-- the data): pick a badge, read the event, read the badge with its holder, then record the
-- passage (presence upsert + scan insert in one statement). Run it with
--   pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T 10 -M prepared \
--           -f benches/scan-statements.sql bamex_bench_gates
\set n random(0, 999)
SELECT id AS bid FROM badges ORDER BY id OFFSET :n LIMIT 1 \gset
SELECT id AS evt FROM events WHERE slug = 'bench' \gset
SELECT id AS agent FROM users LIMIT 1 \gset
SELECT badges.id, badges.zones, badges.valid_days, badges.number, accreditations.status, accreditations.category, participants.first_name, participants.last_name, participants.organization, participants.nationality, participants.id, participant_photos.participant_id FROM badges JOIN (accreditations JOIN (participants LEFT JOIN participant_photos ON participant_photos.participant_id = participants.id) ON participants.id = accreditations.participant_id) ON accreditations.id = badges.accreditation_id WHERE badges.id = :bid::uuid AND badges.event_id = :evt::uuid LIMIT 1;
WITH presence AS (INSERT INTO badge_presence (badge_id, zone, inside) VALUES (:bid::uuid, 'static_display', random() < 0.5) ON CONFLICT (badge_id, zone) DO UPDATE SET inside = EXCLUDED.inside, updated_at = now() WHERE NOT badge_presence.inside OR NOT EXCLUDED.inside RETURNING 1), passed AS (SELECT EXISTS (SELECT 1 FROM presence) AS allowed) INSERT INTO scans (id, event_id, badge_id, agent_id, gate, zone, direction, verdict, reason, qr_digest) SELECT gen_random_uuid(), :evt::uuid, :bid::uuid, :agent::uuid, 'g', 'static_display', 'in', CASE WHEN allowed THEN 'allowed' ELSE 'denied' END, CASE WHEN allowed THEN NULL ELSE 'already_inside' END, sha256('x') FROM passed ON CONFLICT (id) DO NOTHING RETURNING verdict, reason;
