#!/usr/bin/env bash
# The main job on the default dataset: installs what is missing, builds, prepares Fashion-MNIST
# from the Debian package as an AutoML Vision manifest, imports it, trains within a compute budget
# (BUDGET, default 10m), prints the evaluation report, then serves the model over HTTP and shows one
# prediction with curl. The server stays up until Ctrl-C (KEEP_SERVING=0 stops it after the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${BUDGET:-10m}
Scripts/setup.sh
swift build -c release --product autovision
bin=.build/release/autovision
if [ ! -f Datasets/fashion-mnist/manifest.csv ]; then
  "$bin" datasets prepare fashion-mnist --output Datasets/fashion-mnist
fi
"$bin" import Datasets/fashion-mnist/manifest.csv
job=$("$bin" train Datasets/fashion-mnist/manifest.csv --budget "$budget" --json | tail -1 \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])')
echo
"$bin" report "$job"
echo "HTML report: Jobs/$job/report.html"

port=${PORT:-8080}
"$bin" serve --port "$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.2; done
image=$(grep -m1 '^TEST,' Datasets/fashion-mnist/manifest.csv | cut -d, -f2)
label=$(grep -m1 '^TEST,' Datasets/fashion-mnist/manifest.csv | cut -d, -f3-)
echo
echo "\$ curl -X POST --data-binary @Datasets/fashion-mnist/$image -H 'Content-Type: image/png' localhost:$port/v1/models/$job/predict"
curl -s -X POST --data-binary "@Datasets/fashion-mnist/$image" -H 'Content-Type: image/png' "localhost:$port/v1/models/$job/predict"
echo
echo "(true label: $label)"
if [ "${KEEP_SERVING:-1}" = "1" ]; then
  echo "Serving job $job at http://localhost:$port — Ctrl-C to stop."
  wait "$server"
fi
