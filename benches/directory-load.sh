#!/usr/bin/env bash
# Exhibitor directory with 10,000 approved exhibitors: pages of 20 at 32 concurrent clients.
#
#   benches/directory-load.sh        (needs oha: cargo install oha)
#
# Runs the release build on a scratch database filled by SQL, then for $SECONDS_PER_RUN s each:
#  1. anonymous pages — the public path, with the short-lived page cache — mixing filters and q;
#  2. the same pages as an organizer, which bypasses the cache: every request hits PostgreSQL.
# Prints the query plans of the directory queries on the full table.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18081}
DB=bamex_bench_directory
export BAMEX_ENV=test BAMEX_CONFIG_DIR=$PWD/config
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export BAMEX__LOG__LEVEL=error BAMEX__APPLICATION__HOST=127.0.0.1 PORT
export BAMEX__APPLICATION__WORKERS=2 BAMEX__DATABASE__MAX_CONNECTIONS=16
PSQL="psql -q -X -h 127.0.0.1 -U postgres"

./scripts/ensure-postgres
cargo build --release --quiet --bin bamex
BIN=${CARGO_TARGET_DIR:-target}/release/bamex
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
"$BIN" migrate >/dev/null
echo 'Bench-password-Bamako-1' | "$BIN" create-admin --email bench@bamex.ml --name Bench >/dev/null
$PSQL "$DB" <<'SQL'
INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status)
VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bamako', '2026-11-24', '2026-11-27', 'open');
INSERT INTO exhibitors (id, event_id, owner_id, legal_name, display_name, country, city, description,
                        sectors, status, decided_at)
SELECT gen_random_uuid(), e.id, u.id,
       'Company ' || g || ' ' || (ARRAY['Défense', 'Savunma', 'Sécurité', 'Systems', 'Aérospatiale'])[1 + g % 5],
       (ARRAY['Défense', 'Savunma', 'Sécurité', 'Systems', 'Aérospatiale'])[1 + g % 5] || ' ' || md5(g::text),
       (ARRAY['TR', 'ML', 'FR', 'SN', 'CN', 'RU', 'MA', 'NG'])[1 + g % 8], 'City',
       'Fabricant ' || md5((g * 7)::text) || ' de systèmes',
       ARRAY[(ARRAY['land_systems', 'air_systems', 'naval_systems', 'weapons_munitions', 'communications',
                    'space_satellites', 'heavy_weapons', 'cyber_security', 'civil_protection_policing',
                    'training_services'])[1 + g % 10]],
       'approved', now()
FROM generate_series(1, 10000) g, events e, users u;
ANALYZE exhibitors;
SQL

"$BIN" serve & SERVER=$!
trap 'kill $SERVER; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -fs -H 'content-type: application/json' \
  -d '{"email":"bench@bamex.ml","password":"Bench-password-Bamako-1"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

URLS="http://127.0.0.1:$PORT/api/v1/events/bench/exhibitors\?(limit=20|country=(TR|ML|FR|SN)|sector=(naval_systems|cyber_security|land_systems)|q=(defense|savunma|securite|aerospatiale|company\\+12)|country=TR&sector=land_systems|q=systems&country=ML)"
summary() { python3 benches/oha_summary.py "$1"; }
oha -z "${SECONDS_PER_RUN}s" -c 32 --no-tui --output-format json --rand-regex-url "$URLS" | summary "anonymous (public, cached)"
oha -z "${SECONDS_PER_RUN}s" -c 32 --no-tui --output-format json --rand-regex-url -H "authorization: Bearer $TOKEN" "$URLS" | summary "organizer (uncached)"

echo; echo "Query plans on 10,000 rows:"
$PSQL "$DB" <<'SQL'
\pset pager off
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) SELECT id FROM exhibitors
 WHERE event_id = (SELECT id FROM events WHERE slug = 'bench') AND status = 'approved'
 ORDER BY sort_key, id LIMIT 21;
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) SELECT id FROM exhibitors
 WHERE event_id = (SELECT id FROM events WHERE slug = 'bench') AND status = 'approved' AND country = 'TR'
 ORDER BY sort_key, id LIMIT 21;
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) SELECT id FROM exhibitors
 WHERE event_id = (SELECT id FROM events WHERE slug = 'bench') AND status = 'approved'
   AND search_text LIKE '%' || search_key('Défense') || '%'
 ORDER BY sort_key, id LIMIT 21;
SQL
