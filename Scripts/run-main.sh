#!/usr/bin/env bash
# The main job on the default dataset: installs what is missing, builds, prepares Fashion-MNIST
# from the Debian package as an AutoML Vision manifest, imports it, trains within a compute budget
# (BUDGET, default 10m), and prints the evaluation report.
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
