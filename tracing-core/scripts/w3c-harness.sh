#!/usr/bin/env bash
# Runs the official W3C trace-context test harness (w3c/trace-context,
# test/test.py) against examples/tracecontext_service.rs, the way the spec's
# conformance reports are made. The harness is not part of this repository:
# pass a checkout of https://github.com/w3c/trace-context. Its Python needs
# aiohttp, installed into a virtual environment under $TMPDIR, never into the
# repository or the system Python.
#
# Usage: tracing-core/scripts/w3c-harness.sh PATH/TO/trace-context [STRICT_LEVEL [SPEC_LEVEL]]
#        (both default to 2, so the Level 2 suite runs too; from anywhere in
#        the repo). The harness revision is printed first when PATH is a git
#        checkout.
set -euo pipefail

usage="usage: $0 PATH/TO/trace-context [STRICT_LEVEL [SPEC_LEVEL]]"
checkout=${1:?$usage}
level=${2:-2}
spec_level=${3:-2}
harness=$checkout/test
[ -f "$harness/test.py" ] || harness=$checkout
[ -f "$harness/test.py" ] || { echo "no test/test.py under $checkout" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
venv=${TMPDIR:-/tmp}/steadfast-w3c-harness-venv
port=5055

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet aiohttp
fi

(cd "$repo" && cargo build --quiet --example tracecontext_service --all-features)
"$target/debug/examples/tracecontext_service" --port "$port" &
service=$!
trap 'kill "$service" 2>/dev/null' EXIT

# Wait until the service accepts connections (at most 10 s).
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    kill -0 "$service" 2>/dev/null || { echo "tracecontext_service exited" >&2; exit 1; }
    sleep 0.1
done

if revision=$(git -C "$checkout" log -1 --format='%h %s' 2>/dev/null); then
    echo "harness: $revision"
fi
cd "$harness"
STRICT_LEVEL=$level SPEC_LEVEL=$spec_level SERVICE_ENDPOINT=http://127.0.0.1:$port/test \
    "$venv/bin/python" test.py
