#!/usr/bin/env bash
# Runs NVIDIA's tritonclient.http, an Open Inference Protocol v2 client, against the real
# `autovision serve` (issue 22, item 3): health, model metadata, and inference on two Fashion-MNIST
# PNGs as BYTES, with binary data and JSON, FP32 probabilities and the classification extension
# (Scripts/triton/client_check.py says what is checked). The server holds a model trained for 10 s on
# a 10-per-class slice and has an API token (the health probes go without one). About a minute; the
# first run also creates .venv-triton with the pinned client of Scripts/triton/requirements.txt.
#
#   Scripts/triton-client-check.sh     # after `swift build -c release`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "triton-client-check.sh: build first (swift build -c release)" >&2; exit 1; }

venv=.venv-triton
requirements=Scripts/triton/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "triton-client-check.sh: creating $venv with $(grep -c '==' "$requirements") pinned packages" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/autovision-triton.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
started=$(date +%s)

# A Fashion-MNIST slice and a model trained on it (the CLI and the server share the job store).
"$bin" datasets prepare fashion-mnist --output "$scratch/data/fm" --per-class 10 >/dev/null
"$bin" train "$scratch/data/fm/manifest.csv" --budget 10s --architecture small --jobs-dir "$scratch/jobs" --json \
  >"$scratch/train.out" 2>"$scratch/train.log" || { cat "$scratch/train.log" >&2; exit 1; }
model=$(tail -n 1 "$scratch/train.out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])')
# Two TEST images of the slice.
images=()
while IFS=, read -r split path _; do
  [ "$split" = TEST ] && images+=("$scratch/data/fm/$path")
  [ ${#images[@]} -eq 2 ] && break
done <"$scratch/data/fm/manifest.csv"
[ ${#images[@]} -eq 2 ] || { echo "triton-client-check.sh: no two TEST images in the slice's manifest" >&2; exit 1; }

token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --host 127.0.0.1 --port "$port" --jobs-dir "$scratch/jobs" --api-token "$token" 2>"$scratch/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$scratch/serve.log" >&2; exit 1; }
echo "triton-client-check.sh: server on 127.0.0.1:$port, model $model, setup $(( $(date +%s) - started )) s" >&2

status=0
"$venv/bin/python" Scripts/triton/client_check.py "127.0.0.1:$port" "$model" "$token" "${images[@]}" || status=$?
if ! kill -0 "$server" 2>/dev/null; then
  echo "triton-client-check.sh: the server died" >&2; tail -n 40 "$scratch/serve.log" >&2; exit 1
fi
if grep -E "Fatal error|serve: .*internal" "$scratch/serve.log" >&2; then
  echo "triton-client-check.sh: the server logged internal errors (above)" >&2; status=1
fi
echo "triton-client-check.sh: $(( $(date +%s) - started )) s in all, exit $status" >&2
exit $status
