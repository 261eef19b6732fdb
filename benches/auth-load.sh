#!/usr/bin/env bash
# Login throughput, and the latency of cheap routes while logins saturate the CPU.
#
#   benches/auth-load.sh            (needs oha: cargo install oha)
#
# Starts the release build on a scratch database with the per-account login limit lifted (one
# account is signed in over and over), then runs three loads at once for $SECONDS_PER_RUN s:
# logins at concurrency 16 as fast as they go, and GET /api/v1/me and GET /healthz at 50/s each.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18080}
DB=bamex_bench_auth
export BAMEX_ENV=test BAMEX_CONFIG_DIR=$PWD/config
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export BAMEX__LOG__LEVEL=error BAMEX__APPLICATION__HOST=127.0.0.1 PORT
export BAMEX__RATE_LIMITS__LOGIN_PER_ACCOUNT_BURST=1000000 BAMEX__RATE_LIMITS__LOGIN_PER_ACCOUNT_PER_MINUTE=1000000
export BAMEX__RATE_LIMITS__PER_IP_BURST=1000000 BAMEX__RATE_LIMITS__PER_IP_PER_MINUTE=1000000
export BAMEX__APPLICATION__WORKERS=2 BAMEX__DATABASE__MAX_CONNECTIONS=16

./scripts/ensure-postgres
cargo build --release --quiet --bin bamex
cargo bench --quiet --bench argon2_hash
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
BIN=${CARGO_TARGET_DIR:-target}/release/bamex
echo 'Bench-password-Bamako-1' | "$BIN" create-admin --email bench@bamex.ml --name Bench >/dev/null
"$BIN" serve & SERVER=$!
trap 'kill $SERVER; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

LOGIN='{"email":"bench@bamex.ml","password":"Bench-password-Bamako-1"}'
TOKEN=$(curl -fs -H 'content-type: application/json' -d "$LOGIN" "http://127.0.0.1:$PORT/api/v1/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

OUT=$(mktemp -d)
oha -z "${SECONDS_PER_RUN}s" -c 16 --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$LOGIN" \
  "http://127.0.0.1:$PORT/api/v1/auth/login" > "$OUT/login.json" & L1=$!
# The probes send 50 requests a second each: enough for percentiles, too few to steal the CPU
# the logins are meant to saturate.
oha -z "${SECONDS_PER_RUN}s" -c 4 -q 50 --no-tui --output-format json -H "authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$PORT/api/v1/me" > "$OUT/me.json" & L2=$!
oha -z "${SECONDS_PER_RUN}s" -c 4 -q 50 --no-tui --output-format json "http://127.0.0.1:$PORT/healthz" > "$OUT/healthz.json" & L3=$!
wait $L1 $L2 $L3

for name in login me healthz; do
  python3 benches/oha_summary.py "$name" < "$OUT/$name.json"
done
