#!/usr/bin/env bash
# Differential test against pixelmatch 7.2.0 on Node: random image pairs
# (sizes, translucency, anti-aliasing-prone shapes) and random options; the
# `steadfast-visual` CLI must print the same count and write the same diff
# bytes. Installs pixelmatch@7.2.0 and pngjs into a temporary folder.
#
# Usage: visual/scripts/differential-pixelmatch-js.sh [CASES] [SEED]
set -euo pipefail

cases=${1:-300}
seed=${2:-1}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm install --silent --no-audit --no-fund --prefix "$work" pixelmatch@7.2.0 pngjs@7 >/dev/null
(cd "$repo" && cargo build --quiet --release -p steadfast-visual --bin steadfast-visual)
bin=${CARGO_TARGET_DIR:-$repo/target}/release/steadfast-visual

cat >"$work/diff.mjs" <<'JS'
import fs from 'node:fs';
import {execFileSync} from 'node:child_process';
import pixelmatch from 'pixelmatch';
import {PNG} from 'pngjs';

const [dir, bin, cases, seed0] = [process.argv[2], process.argv[3], +process.argv[4], +process.argv[5]];
let s = seed0 >>> 0;
const rnd = () => { s = (s + 0x6D2B79F5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

function image(w, h) {
  const png = new PNG({width: w, height: h});
  const bg = [pick([0, 255, 128]), pick([0, 255, 60]), pick([0, 255, 200]), pick([255, 255, 128, 0])];
  for (let i = 0; i < w * h; i++) png.data.set(bg, i * 4);
  const shapes = Math.floor(rnd() * 6);
  for (let k = 0; k < shapes; k++) {
    const [cx, cy, r] = [rnd() * w, rnd() * h, 1 + rnd() * Math.max(w, h) / 3];
    const col = [255 * rnd(), 255 * rnd(), 255 * rnd()].map(Math.floor);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const cov = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy)));
      if (cov <= 0) continue;
      const p = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) png.data[p + c] = Math.round(png.data[p + c] + (col[c] - png.data[p + c]) * cov);
      png.data[p + 3] = Math.max(png.data[p + 3], Math.round(255 * cov));
    }
  }
  return png;
}

let failures = 0;
for (let n = 0; n < cases; n++) {
  const [w, h] = [1 + Math.floor(rnd() * 48), 1 + Math.floor(rnd() * 48)];
  const a = image(w, h);
  const b = new PNG({width: w, height: h});
  a.data.copy(b.data);
  const edits = Math.floor(rnd() * 40);
  for (let k = 0; k < edits; k++) {
    const p = Math.floor(rnd() * w * h) * 4;
    for (let c = 0; c < 4; c++) if (rnd() < 0.6) b.data[p + c] = Math.floor(rnd() * 256);
  }
  const opts = {threshold: pick([0, 0.01, 0.05, 0.1, 0.3, 1]), includeAA: rnd() < 0.3,
    alpha: pick([0, 0.1, 0.5, 1, rnd()]), diffMask: rnd() < 0.2, checkerboard: rnd() < 0.7};
  if (rnd() < 0.3) opts.diffColorAlt = [0, 255, 0];
  const out = new PNG({width: w, height: h});
  const count = pixelmatch(a.data, b.data, out.data, w, h, opts);
  fs.writeFileSync(`${dir}/a.png`, PNG.sync.write(a));
  fs.writeFileSync(`${dir}/b.png`, PNG.sync.write(b));
  const args = ['diff', `${dir}/a.png`, `${dir}/b.png`, '-o', `${dir}/d.png`,
    '--threshold', String(opts.threshold), '--alpha', String(opts.alpha)];
  if (opts.includeAA) args.push('--include-aa');
  if (opts.diffMask) args.push('--diff-mask');
  if (!opts.checkerboard) args.push('--background', 'white');
  if (opts.diffColorAlt) args.push('--diff-color-alt', '0,255,0');
  let stdout;
  try { stdout = execFileSync(bin, args).toString(); } catch (e) { stdout = e.stdout.toString(); }
  const ours = PNG.sync.read(fs.readFileSync(`${dir}/d.png`)).data;
  if (Number(stdout) !== count || !ours.equals(out.data)) {
    failures++;
    console.log(`case ${n}: ${w}x${h} ${JSON.stringify(opts)}: js ${count}, ours ${stdout.trim()}, bytes ${ours.equals(out.data) ? 'equal' : 'differ'}`);
  }
}
console.log(`${cases - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
JS
mkdir -p "$work/img"
node "$work/diff.mjs" "$work/img" "$bin" "$cases" "$seed"
