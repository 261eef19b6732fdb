#!/usr/bin/env bash
# Ten minutes of a show day on the full-size data (issue "BAMEX at full size"): gate scans, reads
# of one accreditation and queue pages, 8 connections each (wrk), while the accreditation office
# enters 2 people a second through the API. The server's RSS is sampled every 30 s and printed:
# it should be flat, not just low. At the end: every registration answered 201 is in the
# database, and how many requests were not answered with a 2xx.
#
#   benches/soak.sh     # PEOPLE=130000 APPROVE=2000 SOAK_SECONDS=600 by default
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${PEOPLE:-130000}
APPROVE=${APPROVE:-2000}
SOAK_SECONDS=${SOAK_SECONDS:-600}
DB=bamex_bench_soak
source benches/full-size-lib.sh

build_and_create_database
load_people "$PEOPLE"
start_server
first_accreditations "$APPROVE" > "$WORK/approve.ids"
approve "$WORK/approve.ids"
wait_for_outbox
settle
write_load_files
# A fresh process, so that the samples start from what the service holds before any load.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
start_server
echo "== soak: $PEOPLE accreditations, $SOAK_SECONDS s; $(date -u '+%F %H:%M') UTC; RSS at start $(rss_mib) MiB"
sample_rss 30 "$WORK/rss"

wrk_line "gate scans, 8 connections" 8 "$SOAK_SECONDS" scans /api/v1/events/bench/scans > "$WORK/scans.out" & LOADS=($!)
wrk_line "one accreditation, 8 connections" 8 "$SOAK_SECONDS" reads / > "$WORK/reads.out" & LOADS+=($!)
wrk_line "queue pages, 8 connections" 8 "$SOAK_SECONDS" queue / > "$WORK/queue.out" & LOADS+=($!)
python3 - "$BASE/accreditations" "$TOKEN" "$SOAK_SECONDS" > "$WORK/registrations.out" <<'PY' &
import json, sys, time, urllib.error, urllib.request
url, token, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
answered = {}
start = time.monotonic()
for n in range(2 * seconds):
    time.sleep(max(0.0, start + n / 2 - time.monotonic()))
    person = {"first_name": "Aminata", "last_name": f"Soak{n}", "email": f"soak{n}@example.ml",
              "organization": "Ministère de la Défense", "function": "Officier", "nationality": "ML",
              "date_of_birth": "1984-02-29", "id_document_type": "passport",
              "id_document_number": f"SK{n:07d}", "place_of_birth": "Ségou",
              "id_document_expires_on": "2031-06-30"}
    request = urllib.request.Request(url, method="POST", headers={
        "content-type": "application/json", "authorization": "Bearer " + token},
        data=json.dumps({"participant": person, "category": "vip"}).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = "no answer"
    answered[status] = answered.get(status, 0) + 1
print(json.dumps(answered))
PY
LOADS+=($!)
wait "${LOADS[@]}"
stored=$(sql "SELECT count(*) FROM participants WHERE last_name LIKE 'Soak%'")

echo "RSS (MiB) every 30 s: $(cut -d' ' -f2 "$WORK/rss" | paste -sd' ')"
cat "$WORK/scans.out" "$WORK/reads.out" "$WORK/queue.out"
echo "registrations: answers $(cat "$WORK/registrations.out"), $stored stored"
