#!/usr/bin/env bash
# Gate scans and the review queue with 100,000 accreditations, next to PostgreSQL's own ceiling
# for one single-row INSERT per request.
#
#   benches/gates-load.sh        (needs oha: cargo install oha; wrk and pgbench from Debian)
#
# 1. pgbench: single-row INSERTs at 32 clients — the database's ceiling for one write a request.
# 2. Scans at 32 concurrent clients (wrk, bodies drawn at random from 1,000 real badges, half
#    entries, half exits): verify the signature, check revocation, day, zone and presence,
#    record the scan.
# 3. Review-queue pages over 100,000 accreditations, a mix of filters: latency at a steady
#    100 pages/s (oha -q, up to 32 connections) and one client at a time; then 32 clients
#    sending as fast as they can, which measures saturation (throughput), not page latency.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18082}
DB=bamex_bench_gates
export BAMEX_ENV=test BAMEX_CONFIG_DIR=$PWD/config
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export BAMEX__LOG__LEVEL=error BAMEX__APPLICATION__HOST=127.0.0.1 PORT
export BAMEX__APPLICATION__WORKERS=2 BAMEX__DATABASE__MAX_CONNECTIONS=32
# The bench account is an admin and organizer without a second factor: require one of a role it
# does not have only.
export BAMEX__AUTH__MFA_REQUIRED_ROLES=vetting_officer
OUTBOX=$(mktemp -d)
export BAMEX__EMAIL__OUTBOX_DIR=$OUTBOX
PSQL="psql -q -X -h 127.0.0.1 -U postgres"
BASE="http://127.0.0.1:$PORT/api/v1/events/bench"

./scripts/ensure-postgres
cargo build --release --quiet --bin bamex
BIN=${CARGO_TARGET_DIR:-target}/release/bamex
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
"$BIN" migrate >/dev/null
echo 'Bench-password-Bamako-1' | "$BIN" create-admin --email bench@bamex.ml --name Bench >/dev/null
$PSQL "$DB" <<'SQL'
UPDATE users SET roles = '{admin,gate_agent,organizer}';
-- No category vetted: approval issues the badge at once.
INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days, vetting_categories)
VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bamako', current_date, current_date + 2, 'open', '{}', '{}');
INSERT INTO participants (id, event_id, registered_by, first_name, last_name, organization, nationality,
                          date_of_birth, id_document_type, id_document_ciphertext, id_document_nonce,
                          id_document_key_id, id_document_hash)
SELECT gen_random_uuid(), e.id, u.id, 'Prénom' || g, 'Nom' || md5(g::text), 'Organisation ' || (g % 500),
       (ARRAY['ML', 'TR', 'FR', 'SN', 'CN', 'BF', 'NE', 'MA'])[1 + g % 8], date '1980-01-01' + (g % 9000),
       'passport', decode(md5(g::text), 'hex'), decode(substr(md5(g::text), 1, 24), 'hex'), 'dev1',
       decode(md5((g * 3)::text), 'hex')
FROM generate_series(1, 100000) g, events e, users u;
INSERT INTO accreditations (id, event_id, participant_id, category)
SELECT gen_random_uuid(), p.event_id, p.id,
       (ARRAY['trade_visitor', 'exhibitor_staff', 'public_visitor', 'contractor'])[1 + (abs(hashtext(p.id::text)) % 4)]
FROM participants p;
ANALYZE;
CREATE TABLE IF NOT EXISTS pgbench_single_row (id bigserial PRIMARY KEY, value integer NOT NULL);
SQL

$PSQL -c CHECKPOINT "$DB"
echo "== PostgreSQL ceiling: single-row INSERT, 32 clients"
echo 'INSERT INTO pgbench_single_row (value) VALUES (1);' > /tmp/bamex-insert.sql
pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T "$SECONDS_PER_RUN" -f /tmp/bamex-insert.sql "$DB" \
  | grep -E '^(tps|latency average)'

"$BIN" serve & SERVER=$!
trap 'kill $SERVER; wait $SERVER 2>/dev/null || true; rm -rf "$OUTBOX"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -fs -H 'content-type: application/json' \
  -d '{"email":"bench@bamex.ml","password":"Bench-password-Bamako-1"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# 1,000 trade visitors approved through the API, so their badges are really signed.
IDS=$($PSQL -t -A "$DB" -c "SELECT string_agg('\"' || id || '\"', ',') FROM (SELECT id FROM accreditations WHERE category = 'trade_visitor' LIMIT 1000) a")
IFS=',' read -r -a ALL <<< "$IDS"
for start in 0 500; do
  CHUNK=$(IFS=','; echo "${ALL[*]:$start:500}")
  curl -fs -o /dev/null -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"ids\": [$CHUNK], \"decision\": \"approve\"}" "$BASE/accreditations/decisions"
done

# The approval emails (each with its badge PDF) are rendered and written by the outbox worker:
# let it finish first, so that the loads below do not share the CPU with it.
for _ in $(seq 600); do
  [ "$($PSQL -t -A "$DB" -c "SELECT count(*) FROM outbox WHERE status = 'pending'")" = 0 ] && break
  sleep 0.5
done
if [ "$($PSQL -t -A "$DB" -c "SELECT count(*) FROM outbox WHERE status = 'pending'")" != 0 ]; then
  echo "warning: the outbox still has emails to write; the loads below share the CPU with it" >&2
fi

# This machine's PostgreSQL runs with autovacuum off: vacuum once the data is loaded, as
# autovacuum would have by then, so that the planner sees real row counts.
$PSQL -c "SELECT fold_accreditation_counts()" -c "VACUUM ANALYZE" "$DB" >/dev/null

LUA=$(mktemp --suffix .lua)
{
  echo 'bodies = {'
  $PSQL -t -A "$DB" -c "SELECT token FROM badges" | while read -r qr; do
    echo "  '{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"in\"}',"
    echo "  '{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"out\"}',"
  done
  echo '}'
  cat <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
request = function() return wrk.format(nil, nil, nil, bodies[math.random(#bodies)]) end
LUA
} > "$LUA"
# Each load starts from a checkpoint, so that it does not pay for writing out the pages the
# previous step dirtied.
$PSQL -c CHECKPOINT "$DB"
echo "== Scans, 32 connections ($(grep -c qr "$LUA") bodies)"
wrk -t 2 -c 32 -d "${SECONDS_PER_RUN}s" --latency -s "$LUA" "$BASE/scans" \
  | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx'

$PSQL -c CHECKPOINT "$DB"
echo "== Review queue over 100,000 accreditations"
QUEUE="$BASE/accreditations\?(status=pending|status=approved|category=exhibitor_staff|country=(TR|ML|SN)|sort=name|q=organisation\\+12)"
queue() {
  local label=$1; shift
  oha -z "${SECONDS_PER_RUN}s" "$@" --no-tui --output-format json --rand-regex-url \
    -H "authorization: Bearer $TOKEN" "$QUEUE" | python3 benches/oha_summary.py "$label"
}
# Warm-up, not measured: the pool's connections, their prepared statements and the first count
# of each people filter's total (see src/accreditations/totals.rs), as after a service's first
# minute.
oha -n 400 -c 4 --no-tui --rand-regex-url -H "authorization: Bearer $TOKEN" "$QUEUE" >/dev/null
queue "queue pages, 100/s" -c 32 -q 100 --latency-correction
queue "queue pages, 1 client" -c 1
queue "queue pages, 32 clients" -c 32
# Text searches mostly never made before ("organisation 1" to "organisation 999": from a fifth
# of the names to one in 500): their first page counts its total, the cost the warm-up spared
# the mix above.
QUEUE="$BASE/accreditations\?q=organisation\\+[1-9][0-9]{0,2}"
queue "new text searches, 10/s" -c 4 -q 10 --latency-correction
rm -f "$LUA"
