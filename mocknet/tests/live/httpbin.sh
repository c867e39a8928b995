#!/usr/bin/env bash
# Record -> replay -> verify, once, against a real third-party service: httpbin from PyPI, served
# by gunicorn on 127.0.0.1. The traffic carries an Authorization header and a session cookie.
# Fails when either value reaches the catalog, when the replay (httpbin stopped by then) answers
# a secret-free request with other bytes than httpbin did, or when verify finds drift.
#
# Usage: mocknet/tests/live/httpbin.sh   (needs cargo, python3 with venv, and curl; .ci/run runs it)
set -euo pipefail
cd "$(dirname "$0")/../../.."

work="$(mktemp -d /tmp/steadfast-httpbin.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  rm -rf "${work}"
}
trap cleanup EXIT
fail() { echo "httpbin cycle: $*" >&2; exit 1; }

# Secrets the catalog must never hold.
token="tok-live-$$-d41d8cd9"
cookie="cookie-live-$$-8f00b204"

python3 -m venv "${work}/venv"
"${work}/venv/bin/pip" install --quiet --disable-pip-version-check httpbin==0.10.4 gunicorn==27.0.1
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
live="http://127.0.0.1:${port}"
"${work}/venv/bin/gunicorn" --bind "127.0.0.1:${port}" --workers 1 httpbin:app >"${work}/httpbin.log" 2>&1 &
httpbin=$!
pids+=("${httpbin}")
for _ in $(seq 100); do curl -sf -o /dev/null "${live}/get" && break; sleep 0.1; done
curl -sf -o /dev/null "${live}/get" || fail "httpbin did not start: $(cat "${work}/httpbin.log")"

cargo build --quiet -p steadfast-mocknet --bin steadfast-mocknet
cargo build --quiet --example cassette_replay
target="${CARGO_TARGET_DIR:-target}"
bin="${target}/debug/steadfast-mocknet"
catalog="${work}/httpbin.json"

# Starts a server writing its stdout to $1.out; sets `url` from its first line.
start() {
  local name=$1
  shift
  "$@" >"${work}/${name}.out" 2>"${work}/${name}.err" &
  pids+=($!)
  server=$!
  for _ in $(seq 100); do
    url="$(sed -n 's/^listening on //p' "${work}/${name}.out")"
    [[ -n "${url}" ]] && return
    sleep 0.1
  done
  fail "${name} did not start: $(cat "${work}/${name}.err")"
}

# The same requests every time; each body (and the teapot's status) saved under $2.
traffic() {
  local base=$1 dir=$2
  local secrets=(-H "Authorization: Bearer ${token}" -H "Cookie: session_id=${cookie}")
  mkdir -p "${dir}"
  curl -s -o "${dir}/headers" "${secrets[@]}" "${base}/headers"
  curl -s -o "${dir}/cookies" "${secrets[@]}" "${base}/cookies"
  curl -s -o "${dir}/post" "${secrets[@]}" -H 'content-type: application/json' \
    -d '{"user":"ann"}' "${base}/post"
  curl -s -o "${dir}/json" "${base}/json"
  curl -s -o "${dir}/gzip" "${base}/gzip"          # compressed bytes: no --compressed
  curl -s -o "${dir}/bytes" "${base}/bytes/64?seed=7" # not UTF-8
  curl -s -o "${dir}/stream" "${base}/stream/3"       # chunked
  curl -s -o "${dir}/teapot" -w '%{http_code}' "${base}/status/418" >"${dir}/teapot.status"
}

stop() {
  kill -INT "$1"
  wait "$1" || fail "$2 exited with $?: $(cat "${work}/$2.err")"
}

echo "record through steadfast-mocknet record"
start record "${bin}" record --upstream "${live}" --out "${catalog}" --scenario httpbin --mode all
traffic "${url}" "${work}/recorded"
stop "${server}" record
for secret in "${token}" "${cookie}"; do
  if grep -qF "${secret}" "${catalog}"; then fail "a secret reached the catalog: ${secret}"; fi
done
grep -q '"headers_present"' "${catalog}" || fail "no any-value header matcher in the catalog"
grep -qF "${token}" "${work}/recorded/headers" || fail "httpbin did not echo the token"

echo "verify against httpbin"
# httpbin echoes the request headers; the verifier's (no curl User-Agent) differ by design.
"${bin}" verify "${catalog}" --scenario httpbin --against "${live}" --ignore /headers \
  --header "Authorization: Bearer ${token}" --header "Cookie: session_id=${cookie}" \
  || fail "verify found drift or failed (exit $?)"

echo "replay with httpbin stopped"
kill "${httpbin}"
wait "${httpbin}" 2>/dev/null || true
start replay "${target}/debug/examples/cassette_replay" "${catalog}" httpbin
traffic "${url}" "${work}/replayed"
stop "${server}" replay
grep -q "served 8 requests, 0 unmatched" "${work}/replay.out" || fail "$(cat "${work}/replay.out")"
for file in json gzip bytes stream teapot teapot.status; do
  cmp -s "${work}/recorded/${file}" "${work}/replayed/${file}" || fail "replay of ${file} differs"
done
grep -qF '[REDACTED]' "${work}/replayed/headers" || fail "the replayed echo is not redacted"
echo "httpbin cycle: recorded, verified and replayed; no secret in the catalog"
