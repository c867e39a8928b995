#!/usr/bin/env bash
# Side-by-side timing of steadfast-visual against pixelmatch 7.2.0 on Node,
# on the same 4K pair the criterion bench draws (decode excluded on both
# sides, diff image on). Needs node and npm; installs pixelmatch@7.2.0 and
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
    --warm-up-time 1 --measurement-time 3 visual_4k_1pct >/dev/null)

cat >"$work/time.mjs" <<'JS'
import fs from 'node:fs';
import pixelmatch from 'pixelmatch';
import {PNG} from 'pngjs';
const [dir, runs] = [process.argv[2], Number(process.argv[3])];
const a = PNG.sync.read(fs.readFileSync(`${dir}/a.png`));
const b = PNG.sync.read(fs.readFileSync(`${dir}/b.png`));
const times = [];
let count = 0;
for (let i = 0; i < runs + 2; i++) {
  const out = new Uint8Array(a.data.length);
  const t0 = process.hrtime.bigint();
  count = pixelmatch(a.data, b.data, out, a.width, a.height, {});
  const t1 = process.hrtime.bigint();
  if (i >= 2) times.push(Number(t1 - t0) / 1e6);
}
times.sort((x, y) => x - y);
console.log(JSON.stringify({count, median_ms: times[times.length >> 1]}));
JS
js=$(cd "$work" && node time.mjs "$work/img" 15)

median_ms() {
  node -e 'const e=require(process.argv[1]);console.log((e.median.point_estimate/1e6).toFixed(3))' \
    "$target/criterion/visual_4k_1pct/$1/new/estimates.json"
}
js_ms=$(node -e 'console.log(JSON.parse(process.argv[1]).median_ms.toFixed(3))' "$js")
echo "pixelmatch 7.2.0 (node $(node --version)): $js"
for bench in steadfast_1_thread steadfast_2_threads blazediff; do
  ms=$(median_ms "$bench")
  ratio=$(node -e 'console.log((process.argv[1]/process.argv[2]).toFixed(1))' "$js_ms" "$ms")
  echo "$bench: median ${ms} ms, pixelmatch-js / this = ${ratio}x"
done
