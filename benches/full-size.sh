#!/usr/bin/env bash
# BAMEX at full size (issue "BAMEX at full size"): 130,000 accreditations, then, in one run and
# next to the ceilings measured in the same run (PostgreSQL's single-row INSERT rate, the
# service's `GET /healthz` rate):
#
# 1. bulk approval of APPROVE accreditations through the API, timed until every approval email
#    (each with its badge PDF) is written by the outbox worker;
# 2. one batch PDF of 500 badges with photos: time, and how far the server's peak RSS rose;
# 3. at 32 connections (wrk): one accreditation as an organizer reads it, queue pages of 50 with
#    a mix of filters, the stats, gate scans;
# 4. the server's RSS, sampled every second throughout, and its peak.
#
#   benches/full-size.sh     # PEOPLE=130000 APPROVE=10000 SECONDS_PER_RUN=20 by default
#
# Emails go to the outbox folder (no SMTP server in the loop); set BAMEX__EMAIL__SMTP_URL to
# send them to a mail server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${PEOPLE:-130000}
APPROVE=${APPROVE:-10000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
source benches/full-size-lib.sh

build_and_create_database
load_people "$PEOPLE"
settle
echo "== $PEOPLE accreditations; $(nproc) cores; $(date -u '+%F %H:%M') UTC; load average $(cut -d' ' -f1-3 /proc/loadavg)"
INSERTS=$(insert_ceiling)
echo "PostgreSQL single-row INSERT, 32 clients      $INSERTS /s"

start_server
sample_rss 1 "$WORK/rss"
echo "service RSS at start                         $(rss_mib) MiB"
wrk_line "GET /healthz, 32 connections" 32 "$SECONDS_PER_RUN" - /healthz

# The 500 people of the pavilion get photos while their accreditations are still pending.
sql "SELECT id FROM participants WHERE organization = 'The Peak Defense Pavilion'" > "$WORK/photos.ids"
upload_photos "$WORK/photos.ids"

first_accreditations "$APPROVE" > "$WORK/approve.ids"
started=$(date +%s.%N)
approve "$WORK/approve.ids"
decided=$(date +%s.%N)
wait_for_outbox
written=$(date +%s.%N)
python3 - "$APPROVE" "$started" "$decided" "$written" "$(find "$WORK/outbox" -name '*.eml' | wc -l)" <<'PY'
import sys
n, started, decided, written, files = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5])
print(f"bulk approval of {n}: decisions {decided - started:.1f} s; every email written after "
      f"{written - started:.1f} s = {n / (written - started):.0f} a second ({files} .eml files)")
PY
echo "service RSS after the approvals               $(rss_mib) MiB (peak so far $(peak_rss_mib) MiB)"

settle
write_load_files
reset_peak_rss
before=$(rss_mib)
curl -fs -o "$WORK/batch.pdf" -w '%{time_total} %{size_download}\n' -H "authorization: Bearer $TOKEN" \
  "$BASE/badges.pdf?q=peak+defense&status=approved" > "$WORK/batch.timing"
read -r seconds bytes < "$WORK/batch.timing"
pages=$(pdfinfo "$WORK/batch.pdf" 2>/dev/null | awk '/^Pages/ {print $2}')
echo "batch PDF of 500 badges: $seconds s, $((bytes / 1048576)) MiB, ${pages:-?} pages; RSS $before MiB, peak $(peak_rss_mib) MiB: +$(($(peak_rss_mib) - before)) MiB"

quiet
wrk_line "one accreditation, organizer" 32 "$SECONDS_PER_RUN" reads /
# Not measured: the first count of each people filter's total (src/accreditations/totals.rs)
# and the connections' prepared statements, as after a service's first minute.
wrk -t 2 -c 32 -d 5s -s "$WORK/queue.lua" "$HOST" > /dev/null
quiet
wrk_line "queue page of 50, mixed filters" 32 "$SECONDS_PER_RUN" queue /
echo /api/v1/events/bench/stats > "$WORK/stats.paths"
lua_gets stats
quiet
wrk_line "stats" 32 "$SECONDS_PER_RUN" stats /
quiet
scans=$(wrk_line "gate scans" 32 "$SECONDS_PER_RUN" scans /api/v1/events/bench/scans)
echo "$scans"
echo "$scans" | awk -v inserts="$INSERTS" '{printf "gate scans: %.0f %% of the INSERT rate\n", 100 * $3 / inserts}'

echo "service RSS at the end                        $(rss_mib) MiB; highest of the samples every second $(sort -k2 -n "$WORK/rss" | tail -1 | cut -d' ' -f2) MiB; peak since the batch PDF $(peak_rss_mib) MiB"
