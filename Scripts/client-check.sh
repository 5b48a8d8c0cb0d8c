#!/usr/bin/env bash
# Runs the real clients of the APIs `autovision serve` speaks against a real server on loopback
# (issue 22): Google's Vertex AI SDK (dataset → AutoML training job → evaluation → deploy → predict →
# batch prediction, Scripts/clients/vertex_check.py), Google's AutoML v1 client on the model it trained
# (automl_check.py), and NVIDIA's tritonclient.http on the same model (Open Inference Protocol v2,
# triton_check.py). Each script says what it checks. The server has an API token (the clients send it
# as a bearer token) and maps gs://bucket to a scratch folder holding a 10-per-class Fashion-MNIST
# slice. About 1.5 minutes; the first run also creates .venv-clients with the pinned clients of
# Scripts/clients/requirements.txt (about a minute more).
#
#   Scripts/client-check.sh     # after `swift build -c release`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "client-check.sh: build first (swift build -c release)" >&2; exit 1; }

venv=.venv-clients
requirements=Scripts/clients/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "client-check.sh: creating $venv with $(grep -c '==' "$requirements") pinned packages" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/autovision-clients.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
started=$(date +%s)

# The bucket: the slice's images, the dataset as Vertex's CSV (ML_USE,gs://URI,LABEL), and three TEST
# images as a Vertex batch (JSON lines) and an AutoML batch (CSV).
bucket="$scratch/bucket"
"$bin" datasets prepare fashion-mnist --output "$bucket/fm" --per-class 10 >/dev/null
python3 - "$bucket" <<'PY'
import csv, json, os, sys
bucket = sys.argv[1]
rows = list(csv.reader(open(os.path.join(bucket, "fm", "manifest.csv"))))
ml_use = {"TRAIN": "training", "VALIDATION": "validation", "TEST": "test"}
with open(os.path.join(bucket, "vertex.csv"), "w") as out:
    out.writelines(f"{ml_use[split]},gs://bucket/fm/{path},{label}\n" for split, path, label in rows)
tests = [path for split, path, _ in rows if split == "TEST"][:3]
with open(os.path.join(bucket, "batch.jsonl"), "w") as out:
    out.writelines(json.dumps({"content": f"gs://bucket/fm/{path}", "mimeType": "image/png"}) + "\n" for path in tests)
with open(os.path.join(bucket, "batch.csv"), "w") as out:
    out.writelines(f"gs://bucket/fm/{path}\n" for path in tests)
with open(os.path.join(bucket, "tests.txt"), "w") as out:
    out.writelines(os.path.join(bucket, "fm", path) + "\n" for path in tests)
PY
mapfile -t images <"$bucket/tests.txt"

token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --host 127.0.0.1 --port "$port" --jobs-dir "$scratch/jobs" --api-token "$token" --map "gs://bucket=$bucket" \
  2>"$scratch/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$scratch/serve.log" >&2; exit 1; }
echo "client-check.sh: server on 127.0.0.1:$port, setup $(( $(date +%s) - started )) s" >&2

status=0
model=$("$venv/bin/python" Scripts/clients/vertex_check.py "127.0.0.1:$port" "$token" "$bucket" "${images[0]}" 2>"$scratch/vertex.log" | tail -n 1) \
  || status=$?
grep -E "^ok |FAILED|Error|error" "$scratch/vertex.log" >&2 || true
if [ $status -eq 0 ]; then
  "$venv/bin/python" Scripts/clients/automl_check.py "127.0.0.1:$port" "$token" "$model" "$bucket" "${images[0]}" || status=$?
fi
if [ $status -eq 0 ]; then
  "$venv/bin/python" Scripts/clients/triton_check.py "127.0.0.1:$port" "$model" "$token" "${images[0]}" "${images[1]}" || status=$?
fi
if ! kill -0 "$server" 2>/dev/null; then
  echo "client-check.sh: the server died" >&2; tail -n 40 "$scratch/serve.log" >&2; exit 1
fi
if grep -E "Fatal error|serve: .*internal" "$scratch/serve.log" >&2; then
  echo "client-check.sh: the server logged internal errors (above)" >&2; status=1
fi
[ $status -eq 0 ] || tail -n 30 "$scratch/vertex.log" >&2
echo "client-check.sh: $(( $(date +%s) - started )) s in all, exit $status" >&2
exit $status
