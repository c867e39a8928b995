#!/usr/bin/env bash
# Side-by-side timing of steadfast-visual against pixelmatch 7.2.0 on Node,
# on the same 4K pair the criterion bench draws (decode excluded on both
# sides, diff image on, the diff buffer reused across runs on both sides). Needs node and npm; installs pixelmatch@7.2.0 and
# pngjs into a temporary folder, never into the repository.
#
# Usage: visual/scripts/compare-pixelmatch-js.sh  (from anywhere in the repo)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=${CARGO_TARGET_DIR:-$repo/target}

npm install --silent --no-audit --no-fund --prefix "$work" pixelmatch@7.2.0 pngjs@7 >/dev/null

(cd "$repo" && STEADFAST_VISUAL_BENCH_DUMP="$work/img" cargo bench --bench visual -- \
    --warm-up-time 1 --measurement-time 3 >"$work/bench.log" 2>&1) || { cat "$work/bench.log"; exit 1; }
grep '^visual bench:' "$work/bench.log"

cat >"$work/time.mjs" <<'JS'
import fs from 'node:fs';
import pixelmatch from 'pixelmatch';
import {PNG} from 'pngjs';
const [dir, runs] = [process.argv[2], Number(process.argv[3])];
const a = PNG.sync.read(fs.readFileSync(`${dir}/a.png`));
const b = PNG.sync.read(fs.readFileSync(`${dir}/b.png`));
const times = [];
const cpu = [];
let count = 0;
// One output buffer for all runs, as the Rust side reuses its diff image.
const out = new Uint8Array(a.data.length);
for (let i = 0; i < runs + 2; i++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  count = pixelmatch(a.data, b.data, out, a.width, a.height, {});
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  if (i >= 2) {
    times.push(Number(t1 - t0) / 1e6);
    cpu.push((c1.user + c1.system) / 1e3);
  }
}
const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
console.log(JSON.stringify({count, median_ms: median(times), cpu_median_ms: median(cpu)}));
JS
js=$(cd "$work" && node time.mjs "$work/img" 15)

median_ms() {
  node -e 'const e=require(process.argv[1]);console.log((e.median.point_estimate/1e6).toFixed(3))' \
    "$target/criterion/$1/new/estimates.json"
}
ratio() { node -e 'console.log((process.argv[1]/process.argv[2]).toFixed(2))' "$1" "$2"; }
js_ms=$(node -e 'console.log(JSON.parse(process.argv[1]).median_ms.toFixed(3))' "$js")
echo "pixelmatch 7.2.0 (node $(node --version)): $js"
one=$(median_ms visual_4k_1pct/steadfast_1_thread)
for bench in steadfast_1_thread steadfast_2_threads steadfast_1_thread_fresh_buffer \
    steadfast_1_thread_no_image blazediff pixelmatch_rs_with_png_decode; do
  ms=$(median_ms "visual_4k_1pct/$bench")
  echo "1%: $bench median ${ms} ms; pixelmatch-js / this = $(ratio "$js_ms" "$ms")x;" \
    "this / steadfast_1_thread = $(ratio "$ms" "$one")x"
done
memcmp=$(median_ms visual_4k_identical/memcmp)
for bench in memcmp steadfast_no_image steadfast_with_image; do
  ms=$(median_ms "visual_4k_identical/$bench")
  echo "identical: $bench median ${ms} ms; this / memcmp = $(ratio "$ms" "$memcmp")x"
done
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
