#!/bin/sh
# Runs the tower bench (criterion) and prints each variant's median and its ratio to the bare
# handler; then, when valgrind is installed, counts the instructions of one request of each
# variant with callgrind (the same bench binary, one variant per run) and prints those with
# their ratios too. Instruction counts repeat from run to run; times on a shared machine do not.
#
#   benches/tower.sh              # criterion, then callgrind if valgrind is on PATH
#   benches/tower.sh --callgrind  # callgrind only
set -eu
command -v python3 >/dev/null || { echo "tower.sh: python3 is not installed" >&2; exit 2; }
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
variants="bare identity_layer disabled_layer disabled_route_layer enabled_layer_no_switch disabled_layer_wrap_body disabled_around_router"
if [ "${1:-}" != "--callgrind" ]; then
  cargo bench -p steadfast --all-features --bench tower
  python3 - "$target/criterion/fault_layer" $variants <<'PY'
import json, os, sys
root, names = sys.argv[1], sys.argv[2:]
def median(name):
    with open(os.path.join(root, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]  # nanoseconds
bare = median("bare")
print("\nmedian time per request (criterion), ratio to bare:")
for name in names:
    m = median(name)
    print(f"  {name:24} {m:8.1f} ns  {m / bare:6.3f}  ({(m / bare - 1) * 100:+.1f} %)")
PY
fi
command -v valgrind >/dev/null || { echo "tower.sh: valgrind is not installed; no instruction counts" >&2; exit 0; }
binary="$(cargo bench -p steadfast --all-features --bench tower --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "tower" and m.get("executable"):
        print(m["executable"])')"
out="$(mktemp -d /tmp/steadfast-tower-callgrind.XXXXXX)"
for name in $variants; do
  valgrind --tool=callgrind --callgrind-out-file="$out/$name.out" \
    "$binary" --bench --profile-time 2 "^fault_layer/$name\$" >/dev/null 2>"$out/$name.log"
done
python3 - "$out" $variants <<'PY'
import re, sys
out, names = sys.argv[1], sys.argv[2:]
def per_request(path):
    """Inclusive instructions per call of serve_one_request, from callgrind's call records."""
    ids, calls, cost, target = {}, 0, 0, None
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                ids[m.group(1)] = m.group(2)
            target = ids.get(m.group(1), "") if line.startswith("cfn=") else None
        elif line.startswith("calls=") and target and "serve_one_request" in target:
            calls += int(line.split("=")[1].split()[0])
            cost += int(lines[i + 1].split()[-1])
    return cost / calls, calls
counts = {name: per_request(f"{out}/{name}.out") for name in names}
bare = counts["bare"][0]
print("\ninstructions per request (callgrind), ratio to bare:")
for name, (n, calls) in counts.items():
    print(f"  {name:24} {n:8.0f}  {n / bare:6.3f}  ({(n / bare - 1) * 100:+.1f} %, {calls} requests)")
PY
