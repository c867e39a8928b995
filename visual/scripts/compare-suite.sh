#!/usr/bin/env bash
# Side-by-side timing of `steadfast-visual diff-dir` against odiff 4.5 run once per pair and
# against reg-cli 0.18 on a generated suite of 500 screenshot pairs (1280x720, a fifth
# changed), and of `steadfast-visual diff` against odiff on one 37-megapixel pair, in one run
# with the criterion bench `visual_suite` (which generates the images).
#
# Needs node and npm: installs odiff-bin@4.5.0 (whose @odiff/<platform> package ships the
# odiff binary) and reg-cli@0.18 into a temporary folder, never into the repository. Every
# tool counts anti-aliased pixels with threshold 0.1 (odiff's defaults; `--include-aa` and
# reg-cli `-M 0.1`), and every run is checked to have found the 100 changed pairs.
#
# Usage: visual/scripts/compare-suite.sh [RUNS]  (from anywhere in the repo; RUNS default 3)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=${CARGO_TARGET_DIR:-$repo/target}
suite=${STEADFAST_VISUAL_SUITE_DIR:-$target/tmp/steadfast-visual-suite}

npm install --silent --no-audit --no-fund --prefix "$work/npm" odiff-bin@4.5.0 reg-cli@0.18 >/dev/null
odiff=$(cd "$work/npm" && node -e 'console.log(require("odiff-bin/binary.js").findBinary())')
if [ ! -x "$odiff" ]; then
  echo "odiff-bin installed no odiff binary for this platform" >&2
  exit 1
fi
reg_cli="$work/npm/node_modules/reg-cli/dist/cli.js"
echo "odiff $("$odiff" --version 2>&1 | head -1) ($odiff), reg-cli $(node -e 'console.log(require(process.argv[1]).version)' "$work/npm/node_modules/reg-cli/package.json"), node $(node --version)"

(cd "$repo" && STEADFAST_VISUAL_SUITE_DIR="$suite" cargo bench --bench visual_suite -- \
    --warm-up-time 1 --measurement-time 5 >"$work/bench.log" 2>&1) || { cat "$work/bench.log"; exit 1; }
grep '^visual suite' "$work/bench.log"
(cd "$repo" && cargo build --release --quiet -p steadfast-visual)
sv="$target/release/steadfast-visual"

mapfile -t pairs < <(cd "$suite/expected" && find . -name '*.png' | sort)
[ "${#pairs[@]}" -eq 500 ] || { echo "expected 500 pairs in $suite, found ${#pairs[@]}" >&2; exit 1; }

# Each command gets a fresh output folder, created (with its subfolders) before the clock starts.
fresh() {
  rm -rf "$1"
  mkdir -p "$1"
  (cd "$suite/expected" && find . -type d) | (cd "$1" && xargs mkdir -p)
}

# odiff exits 22 when a pair differs; count those to check the run.
odiff_loop() {
  local actual=$1 out=$2 different=0 f code
  for f in "${pairs[@]}"; do
    code=0
    "$odiff" "$suite/expected/$f" "$actual/$f" "$out/$f" >/dev/null 2>&1 || code=$?
    case $code in
      0) ;;
      22) different=$((different + 1)) ;;
      *) echo "odiff failed ($code) on $f" >&2; return 1 ;;
    esac
  done
  echo "$different" >"$out.count"
}

diff_dir() {
  local code=0
  "$sv" diff-dir "$suite/expected" "$1" -o "$2" --include-aa --json >"$2.json" || code=$?
  [ "$code" -le 1 ] || { echo "diff-dir failed ($code)" >&2; return 1; }
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).totals.different)' \
    "$2.json" >"$2.count"
}

# reg-cli takes ACTUAL EXPECTED DIFF; -I so that changes do not fail the command.
reg() {
  node "$reg_cli" "$1" "$suite/expected" "$2" -I -M 0.1 -J "$2.json" >/dev/null 2>&1
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).failedItems.length)' \
    "$2.json" >"$2.count"
}

large_sv() { "$sv" diff "$suite/large/a.png" "$suite/large/b.png" -o "$1/large.png" --include-aa >"$1.count" || [ $? -eq 1 ]; }
large_odiff() {
  "$odiff" "$suite/large/a.png" "$suite/large/b.png" "$1/large.png" --parsable-stdout >"$1.count" 2>/dev/null ||
    [ $? -eq 22 ]
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# User + system time of all finished children so far, in ms (from /proc/self/stat of this shell:
# fields 16 and 17 are the children's user and system ticks).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($16 + $17) * 1000 / hz)}' /proc/$$/stat; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

jobs=(diff_dir:actual odiff_loop:actual reg:actual
  diff_dir:actual-reencoded odiff_loop:actual-reencoded reg:actual-reencoded
  large_sv:- large_odiff:-)
# Round robin over the jobs, so that a change in the machine's load hits every tool alike.
for ((r = 1; r <= runs; r++)); do
  for job in "${jobs[@]}"; do
    fn=${job%%:*}
    actual=${job#*:}
    out="$work/out/$fn-$actual"
    fresh "$out"
    cpu0=$(cpu_ms)
    start=$(now_ms)
    if [ "$actual" = - ]; then "$fn" "$out"; else "$fn" "$suite/$actual" "$out"; fi
    echo $(($(now_ms) - start)) >>"$work/$fn-$actual.ms"
    echo $(($(cpu_ms) - cpu0)) >>"$work/$fn-$actual.cpu"
    if [ "$actual" != - ] && [ "$(cat "$out.count")" != 100 ]; then
      echo "$fn on $actual found $(cat "$out.count") changed pairs, not 100" >&2
      exit 1
    fi
  done
done

ms() { median <"$work/$1.ms"; }
cpu() { median <"$work/$1.cpu"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t) ? "met" : "missed"}'; }
echo "medians of $runs runs (ms wall, ms CPU), load $(cut -d' ' -f1-3 /proc/loadavg):"
for form in actual actual-reencoded; do
  d=$(ms "diff_dir-$form") o=$(ms "odiff_loop-$form") g=$(ms "reg-$form")
  # reg-cli's CPU time is left out: its worker processes' time does not reach this shell.
  echo "suite $form: diff-dir $d ($(cpu "diff_dir-$form") CPU), odiff loop $o ($(cpu "odiff_loop-$form") CPU)," \
    "reg-cli $g;" \
    "diff-dir/odiff $(ratio "$d" "$o") (target 0.3: $(verdict "$(ratio "$d" "$o")" 0.3))," \
    "diff-dir/reg-cli $(ratio "$d" "$g") (target 0.1: $(verdict "$(ratio "$d" "$g")" 0.1))"
done
s=$(ms large_sv--) o=$(ms large_odiff--)
echo "37 MP pair: diff $s ($(cpu large_sv--) CPU), odiff $o ($(cpu large_odiff--) CPU); diff/odiff $(ratio "$s" "$o") (target 0.7: $(verdict "$(ratio "$s" "$o")" 0.7));" \
  "counts: diff $(cat "$work/out/large_sv--.count"), odiff $(cat "$work/out/large_odiff--.count")"
echo "criterion (library calls, same run):"
# Criterion puts a long name on a line of its own, a short one before `time:`.
awk '/^visual_(suite|codec|37mp)/ {name = $1} /time:/ && name {sub(/.*time: */, ""); print name, $0; name = ""}' \
  "$work/bench.log"
