#!/usr/bin/env bash
# The reads an accreditation office makes all day and the gate scans, at 32 connections (wrk),
# next to PostgreSQL's single-row INSERT rate and /healthz in the same run (issue 17, item 3):
#
#   benches/reads-load.sh        ACCREDITATIONS=130000 SECONDS_PER_RUN=15 by default
#
# 1. the ceilings: pgbench single-row INSERTs at 32 clients, and GET /healthz;
# 2. GET …/accreditations/{id} as an organizer, ids drawn from 2,000 (the approved ones among
#    them, with badges, and pending ones);
# 3. review-queue pages of 50 with mixed filters (status, category, country, sort=name, a
#    text search, combinations), after a warm-up that counts each people filter's total once;
# 4. GET …/stats;
# 5. scans, QR codes drawn from the 1,000 badges, half entries and half exits.
# After each load, the service's resident memory (RSS); at the end, its peak (VmHWM).
# Extra environment is passed to the service (e.g. MALLOC_ARENA_MAX=2 to compare allocators).
set -euo pipefail
cd "$(dirname "$0")/.."
ACCREDITATIONS=${ACCREDITATIONS:-130000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
DB=bamex_bench_reads PORT=${PORT:-18083}
. benches/load-steps.sh

started=$(date +%s)
load_accreditations "$ACCREDITATIONS"
start_service
approve_through_the_api 1000
echo "== $ACCREDITATIONS accreditations, 1,000 approved, loaded in $(( $(date +%s) - started )) s; RSS $(rss_mib) MiB"

echo "== PostgreSQL ceiling: single-row INSERT, 32 clients"
insert_ceiling "$SECONDS_PER_RUN"
printf '%-34s' "GET /healthz"; measure "" "$SECONDS_PER_RUN" "http://127.0.0.1:$PORT/healthz"

ONE=$($PSQL -t -A "$DB" -c "(SELECT '/api/v1/events/bench/accreditations/' || accreditation_id FROM badges)
  UNION ALL (SELECT '/api/v1/events/bench/accreditations/' || id FROM accreditations WHERE status = 'pending' LIMIT 1000)" \
  | wrk_script)
printf '%-34s' "GET one accreditation"; measure "$ONE" "$SECONDS_PER_RUN" "$BASE"
echo "   RSS $(rss_mib) MiB"

QUEUE=$(for filters in '' 'status=pending' 'status=approved' 'category=exhibitor_staff' \
    'category=trade_visitor&status=pending' 'country=TR' 'country=ML&status=pending' \
    'country=SN&category=contractor' 'sort=name' 'sort=name&status=pending' 'q=organisation+12' \
    'q=nom1a2' 'status=pending&q=organisation+7'; do
  echo "/api/v1/events/bench/accreditations?limit=50&$filters"
done | wrk_script)
# Not measured: the pool's connections and their prepared statements, and the first count of
# each people filter's total (see src/accreditations/totals.rs), as after a service's first
# minute.
wrk -t 2 -c 32 -d 5s -s "$QUEUE" "$BASE" >/dev/null
printf '%-34s' "queue pages of 50, mixed filters"; measure "$QUEUE" "$SECONDS_PER_RUN" "$BASE"
echo "   RSS $(rss_mib) MiB"

STATS=$(echo /api/v1/events/bench/stats | wrk_script)
printf '%-34s' "GET stats"; measure "$STATS" "$SECONDS_PER_RUN" "$BASE"

SCANS=$($PSQL -t -A "$DB" -c "SELECT token FROM badges" | while read -r qr; do
  echo "{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"in\"}"
  echo "{\"qr\":\"$qr\",\"gate\":\"north-1\",\"zone\":\"exhibition_halls\",\"direction\":\"out\"}"
done | wrk_script post)
printf '%-34s' "scans"; measure "$SCANS" "$SECONDS_PER_RUN" "$BASE/scans"
echo "   RSS $(rss_mib) MiB, peak $(( $(awk '/VmHWM/ {print $2}' /proc/$SERVER/status) / 1024 )) MiB"
rm -f "$ONE" "$QUEUE" "$STATS" "$SCANS"
