# Steps the load scripts share; source it from the repository's root after setting DB and PORT:
#   DB=bamex_bench_x PORT=18090 . benches/load-steps.sh
# It builds the release binary and exports the service's settings; each step is a function.
# The service runs with settings for measuring: errors-only logs, 2 HTTP workers, 32
# connections, and no second factor for the bench account (the roles needing one get 403
# until enrolled).
set -euo pipefail
export BAMEX_ENV=test BAMEX_CONFIG_DIR=$PWD/config
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export BAMEX__LOG__LEVEL=error BAMEX__APPLICATION__HOST=127.0.0.1 PORT
export BAMEX__APPLICATION__WORKERS=2 BAMEX__DATABASE__MAX_CONNECTIONS=32
export BAMEX__AUTH__MFA_REQUIRED_ROLES=vetting_officer
# The test settings poll the outbox and webhooks every 50 ms; production's once a second.
export BAMEX__EMAIL__POLL_INTERVAL_MS=1000 BAMEX__WEBHOOKS__POLL_INTERVAL_MS=1000
OUTBOX=$(mktemp -d)
export BAMEX__EMAIL__OUTBOX_DIR=$OUTBOX
PSQL="psql -q -X -h 127.0.0.1 -U postgres"
API="http://127.0.0.1:$PORT/api/v1"
BASE="$API/events/bench"
BENCH_EMAIL=bench@bamex.ml
BENCH_PASSWORD=Bench-password-Bamako-1

./scripts/ensure-postgres
cargo build --release --quiet --bin bamex
BIN=${CARGO_TARGET_DIR:-target}/release/bamex

# A fresh database with the bench account (admin, organizer and gate agent) and the event
# `bench` holding $1 pending accreditations (benches/accreditations.sql).
load_accreditations() {
  $PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
  "$BIN" migrate >/dev/null
  echo "$BENCH_PASSWORD" | "$BIN" create-admin --email "$BENCH_EMAIL" --name Bench >/dev/null
  $PSQL -c "UPDATE users SET roles = '{admin,gate_agent,organizer}'" "$DB"
  $PSQL -v accreditations="$1" -f benches/accreditations.sql "$DB"
}

# Starts the service (SERVER is its pid) and waits until it answers; TOKEN is the bench
# account's access token.
start_service() {
  "$BIN" serve & SERVER=$!
  trap 'kill $SERVER; wait $SERVER 2>/dev/null || true; rm -rf "$OUTBOX"' EXIT
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  TOKEN=$(curl -fs -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" \
    "$API/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}

# Approves $1 trade visitors through the API (their badges really signed), waits for the
# outbox worker to write the approval emails (each renders a badge PDF) so that the loads do
# not share the CPU with it, then folds the queue counts and vacuums (autovacuum is off here).
approve_through_the_api() {
  local ids all chunk start
  ids=$($PSQL -t -A "$DB" -c "SELECT string_agg('\"' || id || '\"', ',') FROM (SELECT id FROM accreditations WHERE category = 'trade_visitor' LIMIT $1) a")
  IFS=',' read -r -a all <<< "$ids"
  for ((start = 0; start < ${#all[@]}; start += 500)); do
    chunk=$(IFS=','; echo "${all[*]:$start:500}")
    curl -fs -o /dev/null -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d "{\"ids\": [$chunk], \"decision\": \"approve\"}" "$BASE/accreditations/decisions"
  done
  for _ in $(seq 600); do
    [ "$($PSQL -t -A "$DB" -c "SELECT count(*) FROM outbox WHERE status = 'pending'")" = 0 ] && break
    sleep 0.5
  done
  if [ "$($PSQL -t -A "$DB" -c "SELECT count(*) FROM outbox WHERE status = 'pending'")" != 0 ]; then
    echo "warning: the outbox still has emails to write; the loads below share the CPU with it" >&2
  fi
  $PSQL -c "SELECT fold_accreditation_counts()" -c "VACUUM ANALYZE" "$DB" >/dev/null
}

# PostgreSQL's single-row INSERT rate at 32 clients for $1 seconds: the ceiling for one
# durable write a request.
insert_ceiling() {
  $PSQL -c "CREATE TABLE IF NOT EXISTS pgbench_single_row (id bigserial PRIMARY KEY, value integer NOT NULL)" "$DB"
  $PSQL -c CHECKPOINT "$DB"
  echo 'INSERT INTO pgbench_single_row (value) VALUES (1);' > /tmp/bamex-insert.sql
  pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T "$1" -f /tmp/bamex-insert.sql "$DB" \
    | grep -E '^(tps|latency average)'
}

# A wrk script (its path on stdout) that sends, authenticated, requests drawn at random:
# GETs of the paths on stdin, or with $1 = post, POSTs of the JSON bodies on stdin.
wrk_script() {
  local script
  script=$(mktemp --suffix .lua)
  {
    echo 'items = {'
    while read -r item; do echo "  '$item',"; done
    echo '}'
    echo "wrk.headers[\"authorization\"] = \"Bearer $TOKEN\""
    if [ "${1:-get}" = post ]; then
      echo 'wrk.method = "POST"'
      echo 'wrk.headers["content-type"] = "application/json"'
      echo 'request = function() return wrk.format(nil, nil, nil, items[math.random(#items)]) end'
    else
      echo 'request = function() return wrk.format("GET", items[math.random(#items)]) end'
    fi
  } > "$script"
  echo "$script"
}

# wrk at 32 connections for $2 seconds with the script $1 against the URL $3, from a
# checkpoint (so as not to pay for the pages the previous load dirtied): requests a second,
# p50, p99 and errors on one line.
measure() {
  $PSQL -c CHECKPOINT "$DB"
  wrk -t 2 -c 32 -d "${2}s" --latency ${1:+-s "$1"} "$3" \
    | awk '/Requests\/sec/ {rate = $2} /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
           /Non-2xx/ {failed = $NF} /Socket errors/ {sub(/^ +/, ""); socket = ", " $0}
           END {printf "%8.0f /s  p50 %8s  p99 %8s  non-2xx %d%s\n", rate, p50, p99, failed, socket}'
}

# The service's resident memory now, in MiB.
rss_mib() {
  echo $(( $(ps -o rss= -p "$SERVER") / 1024 ))
}
