"""One line per wrk --latency report: throughput, p50/p99 latency, and what was not a 2xx."""
import re
import sys

label = sys.argv[1]
report = sys.stdin.read()


def milliseconds(percentile):
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", report, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


rate = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))
requests = int(re.search(r"(\d+) requests in", report).group(1))
failed = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
errors = re.search(r"Socket errors: (.*)", report)
print(
    f"{label:34} {rate:8.0f} req/s  p50 {milliseconds(50):7.2f} ms  p99 {milliseconds(99):7.2f} ms  "
    f"{requests} requests, {failed.group(1) if failed else 0} not 2xx"
    + (f", socket errors: {errors.group(1)}" if errors else "")
)
