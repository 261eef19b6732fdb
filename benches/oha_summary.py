"""One line per oha JSON report: throughput, p50/p99 latency and status codes."""
import json
import sys

label = sys.argv[1]
report = json.load(sys.stdin)
summary, percentiles = report["summary"], report["latencyPercentiles"]
print(
    f"{label:28} {summary['requestsPerSec']:8.0f} req/s  "
    f"p50 {percentiles['p50'] * 1e3:6.2f} ms  p99 {percentiles['p99'] * 1e3:6.2f} ms  "
    f"statuses {report.get('statusCodeDistribution')}"
)
