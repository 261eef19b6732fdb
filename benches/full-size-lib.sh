# Shared by benches/full-size.sh and benches/soak.sh (sourced, not run): a scratch database
# loaded with an event of PEOPLE accreditations, the release service started on it, and the
# measuring helpers. Needs wrk and pgbench (Debian) and Python 3.
#
# Data: benches/accreditations.sql (an open event `bench` running from today, PEOPLE pending
# accreditations; the first 500 people work for "The Peak Defense Pavilion"). The admin account
# `bench@bamex.ml` is also organizer and gate agent.

PORT=${PORT:-18090}
DB=${DB:-bamex_bench_full}
export BAMEX_ENV=test BAMEX_CONFIG_DIR=$PWD/config
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export BAMEX__LOG__LEVEL=error BAMEX__APPLICATION__HOST=127.0.0.1 PORT
export BAMEX__APPLICATION__WORKERS=2 BAMEX__DATABASE__MAX_CONNECTIONS=32
# As the Dockerfile runs the service (README, Memory); MALLOC_ARENA_MAX= measures glibc's default.
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX-2}
# The bench account is an admin and organizer without a second factor: require one of a role it
# does not have only.
export BAMEX__AUTH__MFA_REQUIRED_ROLES=vetting_officer
# The test settings poll the outbox and webhooks every 50 ms; production's once a second.
export BAMEX__EMAIL__POLL_INTERVAL_MS=1000 BAMEX__WEBHOOKS__POLL_INTERVAL_MS=1000
PSQL="psql -q -X -h 127.0.0.1 -U postgres"
HOST="http://127.0.0.1:$PORT"
BASE="$HOST/api/v1/events/bench"
PASSWORD='Bench-password-Bamako-1'
WORK=$(mktemp -d)
export BAMEX__EMAIL__OUTBOX_DIR=$WORK/outbox
BIN=${CARGO_TARGET_DIR:-target}/release/bamex
SERVER=

bench_cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

sql() { $PSQL -t -A "$DB" -c "$1"; }

build_and_create_database() {
  ./scripts/ensure-postgres
  cargo build --release --quiet --bin bamex
  $PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
  "$BIN" migrate >/dev/null
  echo "$PASSWORD" | "$BIN" create-admin --email bench@bamex.ml --name Bench >/dev/null
}

# load_people N: N participants with pending accreditations (benches/accreditations.sql).
load_people() {
  $PSQL -c "UPDATE users SET roles = '{admin,gate_agent,organizer}'" "$DB"
  $PSQL -v accreditations="$1" -f benches/accreditations.sql "$DB"
  $PSQL -c "CREATE TABLE IF NOT EXISTS pgbench_single_row (id bigserial PRIMARY KEY, value integer NOT NULL)" "$DB"
}

# The accreditation ids of the first N people, by number.
first_accreditations() {
  sql "SELECT a.id FROM accreditations a JOIN participants p ON p.id = a.participant_id
       ORDER BY substr(p.first_name, 7)::int LIMIT $1"
}

start_server() {
  "$BIN" serve & SERVER=$!
  for _ in $(seq 100); do curl -fs "$HOST/healthz" >/dev/null && break; sleep 0.2; done
  TOKEN=$(curl -fs -H 'content-type: application/json' \
    -d "{\"email\":\"bench@bamex.ml\",\"password\":\"$PASSWORD\"}" \
    "$HOST/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
peak_rss_mib() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
# Linux resets the peak (VmHWM) to the current RSS on writing 5 here.
reset_peak_rss() { echo 5 > "/proc/$SERVER/clear_refs"; }

pending_emails() { sql "SELECT count(*) FROM outbox WHERE status = 'pending'"; }

# approve IDS_FILE: every id in the file approved through the API, 500 to a request.
approve() {
  python3 - "$1" "$BASE/accreditations/decisions" "$TOKEN" <<'PY'
import json, sys, urllib.request
ids = open(sys.argv[1]).read().split()
for start in range(0, len(ids), 500):
    request = urllib.request.Request(sys.argv[2], method="POST", data=json.dumps(
        {"ids": ids[start:start + 500], "decision": "approve"}).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer " + sys.argv[3]})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, response.status
PY
}

wait_for_outbox() {
  while [ "$(pending_emails)" != 0 ]; do sleep 0.2; done
}

# This machine's PostgreSQL runs with autovacuum off: vacuum once the data is loaded, as
# autovacuum would have by then, so that the planner sees real row counts; then a checkpoint,
# so that the next load does not pay for writing out the pages the previous step dirtied.
settle() {
  $PSQL -c "SELECT fold_accreditation_counts()" -c "VACUUM ANALYZE" -c CHECKPOINT "$DB" >/dev/null
}

# quiet: waits until the database runs none of the service's queries (a load's requests that
# wrk gave up on may still run there), then a checkpoint, so that each load starts from rest.
quiet() {
  while [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND state = 'active' AND pid <> pg_backend_pid()")" != 0 ]; do
    sleep 0.2
  done
  $PSQL -c CHECKPOINT "$DB"
}

insert_ceiling() {
  echo 'INSERT INTO pgbench_single_row (value) VALUES (1);' > "$WORK/insert.sql"
  pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T "$SECONDS_PER_RUN" -f "$WORK/insert.sql" "$DB" 2>/dev/null \
    | awk '/^tps/ {printf "%.0f", $3}'
}

# lua_bodies NAME: a wrk script POSTing, at random, the lines of $WORK/NAME.bodies (JSON).
lua_posts() {
  {
    echo 'bodies = {'
    sed -e "s/'/\\\\'/g" -e "s/.*/  '&',/" "$WORK/$1.bodies"
    echo '}'
    cat <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
request = function() return wrk.format(nil, nil, nil, bodies[math.random(#bodies)]) end
LUA
  } > "$WORK/$1.lua"
}

# lua_gets NAME: a wrk script GETting, at random, the paths in $WORK/NAME.paths.
lua_gets() {
  {
    echo 'paths = {'
    sed -e "s/.*/  '&',/" "$WORK/$1.paths"
    echo '}'
    cat <<LUA
wrk.headers["authorization"] = "Bearer $TOKEN"
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
  } > "$WORK/$1.lua"
}

# The load files: scans of the approved badges (half entries, half exits), reads of approved
# accreditations, queue pages of 50 with a mix of filters.
write_load_files() {
  sql "SELECT token FROM badges WHERE token IS NOT NULL LIMIT 2000" | while read -r qr; do
    echo "{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"in\"}"
    echo "{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"out\"}"
  done > "$WORK/scans.bodies"
  lua_posts scans
  # Approved ones (with badges) and pending ones.
  sql "(SELECT '/api/v1/events/bench/accreditations/' || id FROM accreditations WHERE status = 'approved' LIMIT 4000)
       UNION ALL (SELECT '/api/v1/events/bench/accreditations/' || id FROM accreditations WHERE status = 'pending' LIMIT 1000)" \
    > "$WORK/reads.paths"
  lua_gets reads
  for filter in '' status=pending status=approved category=exhibitor_staff \
      'category=trade_visitor&status=pending' country=TR 'country=ML&status=pending' \
      'country=SN&category=contractor' sort=name 'sort=name&status=pending' 'q=organisation+12' \
      q=nom1a2 'status=pending&q=organisation+7' 'q=peak+defense'; do
    echo "/api/v1/events/bench/accreditations?limit=50&$filter"
  done > "$WORK/queue.paths"
  lua_gets queue
}

# wrk_line LABEL CONNECTIONS SECONDS SCRIPT PATH: one line with rate, p50, p99 and errors
# (SCRIPT `-` for plain GETs of PATH).
wrk_line() {
  local script=()
  [ "$4" = - ] || script=(-s "$WORK/$4.lua")
  wrk -t 2 -c "$2" -d "${3}s" --latency "${script[@]}" "$HOST$5" | python3 benches/wrk_summary.py "$1"
}

# sample_rss SECONDS FILE: the server's RSS every SECONDS, one "elapsed-seconds MiB" line each,
# until it stops.
sample_rss() {
  local start=$SECONDS
  while kill -0 "$SERVER" 2>/dev/null; do
    echo "$((SECONDS - start)) $(rss_mib)" >> "$2"
    sleep "$1"
  done &
}

# upload_photos IDS_FILE: a distinct 400 × 500 PNG for each participant of the file, through
# the API as a registrant uploads it (decoded, checked and stored as a JPEG by the service).
upload_photos() {
  python3 - "$1" "$BASE/participants" "$TOKEN" <<'PY'
import struct, sys, urllib.request, zlib
def png(n):
    # The pattern of benches/badge_batch.rs: red runs along x, green along y, blue names the photo.
    line = bytearray(1200)
    line[0::3] = bytes((x + n) % 256 for x in range(400))
    line[2::3] = bytes([n % 256]) * 400
    rows = []
    for y in range(500):
        line[1::3] = bytes([(y * 3 + n) % 256]) * 400
        rows.append(b"\0" + line)
    rows = b"".join(rows)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data
                                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 400, 500, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
for n, participant in enumerate(open(sys.argv[1]).read().split()):
    request = urllib.request.Request(f"{sys.argv[2]}/{participant}/photo", method="PUT", data=png(n),
        headers={"content-type": "image/png", "authorization": "Bearer " + sys.argv[3]})
    with urllib.request.urlopen(request) as response:
        assert response.status == 204, response.status
PY
}
