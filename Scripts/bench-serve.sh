#!/usr/bin/env bash
# HTTP prediction benchmark (issue 5): wrk with 64 connections POSTing one Fashion-MNIST TEST image to
# a job's model, against the same model's in-process batched rate. This machine's speed drifts within
# minutes, so the two are interleaved: ROUNDS rounds (default 3) of 8 s in-process then 10 s of wrk,
# each round's ratio printed and the median ratio last.
# Usage: [JOBS_DIR=Jobs] [ROUNDS=3] Scripts/bench-serve.sh JOB_ID [IMAGE]. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
job=$1
image=${2:-Datasets/fashion-mnist/$(grep -m1 '^TEST,' Datasets/fashion-mnist/manifest.csv | cut -d, -f2)}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk >&2; }
[ -n "${AUTOVISION_BIN:-}" ] || swift build -c release --product autovision >&2
bin=${AUTOVISION_BIN:-.build/release/autovision}
jobs=${JOBS_DIR:-Jobs}
port=${PORT:-8181}
"$bin" serve --port "$port" --jobs-dir "$jobs" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.2; done
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<LUA
local f = io.open("$image", "rb"); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "image/png"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %.3f %.3f\n", summary.requests, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.duration, 0,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
url="http://localhost:$port/v1/models/$job/predict"
wrk -t2 -c64 -d2s -s "$lua" "$url" >/dev/null  # loads the model and warms the server
rounds=()
for _ in $(seq 1 "${ROUNDS:-3}"); do
  inprocess=$("$bin" bench predict "$job" "$image" --seconds 8 --jobs-dir "$jobs" --json | tail -1)
  out=$(wrk -t2 -c64 -d10s --latency -s "$lua" "$url")
  rounds+=("$inprocess|$(echo "$out" | grep '^RESULT')")
done
python3 - "${rounds[@]}" <<'PY'
import json, statistics, sys
ratios = []
for round_ in sys.argv[1:]:
    inprocess, result = round_.split("|")
    inproc = json.loads(inprocess)["images_per_second"]
    _, requests, errors, micros, _, p50, p99 = result.split()
    rate = int(requests) / (int(micros) / 1e6)
    ratios.append(rate / inproc)
    print(f"HTTP: {rate:.0f} requests/s, p50 {float(p50):.1f} ms, p99 {float(p99):.1f} ms, errors {errors}; "
          f"in-process batched: {inproc:.0f} images/s; ratio {rate / inproc:.2f}")
print(f"median ratio {statistics.median(ratios):.2f} over {len(ratios)} rounds (target >= 0.70), p99 target < 50 ms")
PY
