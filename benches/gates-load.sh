#!/usr/bin/env bash
# Gate scans and the review queue with 100,000 accreditations, next to PostgreSQL's own ceiling
# for one single-row INSERT per request. The data, the server and the loads' files come from
# benches/full-size-lib.sh (as for benches/full-size.sh, at another size and with oha's
# fixed-rate queue loads).
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
source benches/full-size-lib.sh

build_and_create_database
load_people 100000
settle
echo "== PostgreSQL ceiling: single-row INSERT, 32 clients: $(insert_ceiling) /s"

start_server
# 1,000 approved through the API, so their badges are really signed; the approval emails (each
# with its badge PDF) are written first, so that the loads below do not share the CPU with them.
first_accreditations 1000 > "$WORK/approve.ids"
approve "$WORK/approve.ids"
wait_for_outbox
settle
write_load_files

echo "== Scans, 32 connections ($(wc -l < "$WORK/scans.bodies") bodies)"
wrk_line "scans" 32 "$SECONDS_PER_RUN" scans /api/v1/events/bench/scans

quiet
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
