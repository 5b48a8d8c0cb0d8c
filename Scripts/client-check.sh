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

source Scripts/lib/checks.sh
venv=.venv-clients
ensure_venv "$venv" Scripts/clients/requirements.txt
make_scratch
started=$(date +%s)

# The bucket: the slice's images, the dataset as Vertex's CSV (ML_USE,gs://URI,LABEL), three TEST
# images as a Vertex batch (JSON lines) and an AutoML batch (CSV), and a multi-label set (pairs.csv).
bucket="$scratch/bucket"
"$bin" datasets prepare fashion-mnist --output "$bucket/fm" --per-class 10 >/dev/null
"$bin" datasets prepare fashion-mnist-pairs --output "$bucket/pairs" --per-class 15 >/dev/null
python3 - "$bucket" <<'PY'
import csv, json, os, sys
bucket = sys.argv[1]
ml_use = {"TRAIN": "training", "VALIDATION": "validation", "TEST": "test"}
with open(os.path.join(bucket, "pairs.csv"), "w") as out:  # multi-label: ML_USE,gs://URI,LABEL[,LABEL]
    for split, path, *labels in csv.reader(open(os.path.join(bucket, "pairs", "manifest.csv"))):
        out.write(",".join([ml_use[split], f"gs://bucket/pairs/{path}", *labels]) + "\n")
rows = list(csv.reader(open(os.path.join(bucket, "fm", "manifest.csv"))))
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

token=$(new_token)
start_server --jobs-dir "$scratch/jobs" --api-token "$token" --map "gs://bucket=$bucket"
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
check_server || status=1
[ $status -eq 0 ] || tail -n 30 "$scratch/vertex.log" >&2
echo "client-check.sh: $(( $(date +%s) - started )) s in all, exit $status" >&2
exit $status
