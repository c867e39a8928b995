#!/bin/sh
# Runs the links bench (criterion) and prints its medians and ratios side by side: a no-fault
# steadfast Link against a direct loopback connection and against socat, then the rate of
# virtual time of replicated_kv's leader-crash scenario with 1,000 writes.
#
#   benches/links.sh            # needs socat (apt-get install socat) and python3
set -eu
command -v socat >/dev/null || { echo "links.sh: socat is not installed (apt-get install socat)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "links.sh: python3 is not installed" >&2; exit 2; }
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
log="$target/links-bench.log"
mkdir -p "$target"
cargo bench -p steadfast --all-features --bench links 2>&1 | tee "$log"
python3 - "$target/criterion" "$log" <<'PY'
import json, os, re, sys
root, log = sys.argv[1], sys.argv[2]
def median(group, name):
    with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]  # nanoseconds
mib = 16.0
bulk = {n: mib / (median("link_bulk", n) / 1e9) for n in ("direct", "link", "socat")}
rtt = {n: median("link_round_trip", n) / 1e3 for n in ("direct", "link", "socat")}
print("\nbulk throughput, 16 MiB per connection (median):")
for n, v in bulk.items():
    print(f"  {n:7} {v:9.0f} MiB/s")
print(f"  link / direct = {bulk['link'] / bulk['direct']:.2f} (target >= 0.60)")
print(f"  link / socat  = {bulk['link'] / bulk['socat']:.2f} (target >= 1.00)")
print("\n64-byte round trip (median):")
for n, v in rtt.items():
    print(f"  {n:7} {v:8.1f} us")
added_link, added_socat = rtt["link"] - rtt["direct"], rtt["socat"] - rtt["direct"]
print(f"  added by link {added_link:.1f} us, by socat {added_socat:.1f} us"
      f" (ratio {added_link / added_socat:.2f}, target <= 1.00)")
rates = [float(m.group(1)) for m in re.finditer(r"= (\d+)x", open(log).read())]
rates.sort()
if rates:
    print(f"\nreplicated_kv leader-crash, 1,000 writes: median {rates[len(rates) // 2]:.0f}x"
          f" virtual time per wall time over {len(rates)} runs (target >= 100)")
PY
