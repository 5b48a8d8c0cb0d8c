#!/usr/bin/env bash
# Checks `autovision export` against the real runtimes (issue 23, item 4): onnx.checker (full_check),
# onnxruntime against `autovision predict --json` (argmax agreement >= 99.9 %, max |dp| <= 1e-4), the
# Triton repository, and the Core ML spec loaded by coremltools (Scripts/export/check_export.py says
# what is checked), and GET /v1/models/{id}/export of `autovision serve` (with a token) against the CLI's
# files. Models, each trained for 10 s:
#   - Fashion-MNIST (gray 28x28, `small`), on 1,000 TEST images, without TTA and with the mirror view in the graph;
#   - the first with GELU, SiLU and average pooling in place of its ReLUs and max pools (the weights kept);
#   - a two-member ensemble checkpoint made from it (the second member's class rows rotated), on the same images;
#   - a residual network (`resnet`) on the same images, without TTA and with the five shifted views in the graph;
#   - a colour letterboxed model on a generated 3-class shapes dataset (mixed sizes → 32x32 letterbox), as trained.
# The Fashion-MNIST cases are copies of the two jobs whose checkpoints name the TTA policy (check_export.py),
# since which policy a 10-second training keeps varies from run to run.
# The first run creates .venv-export with the pinned packages of Scripts/export/requirements.txt
# (recreated when that file changes); the script owns that folder.
#
#   Scripts/export-check.sh     # after `swift build -c release`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "export-check.sh: build first (swift build -c release)" >&2; exit 1; }

source Scripts/lib/checks.sh
venv=.venv-export
ensure_venv "$venv" Scripts/export/requirements.txt
make_scratch
started=$(date +%s)
jobs="$scratch/jobs"

# In fp32: an exported graph computes in fp32, and a bf16 model's served probabilities differ from it by
# more than the 1e-4 checked here (docs/export.md#precision).
train() { # train MANIFEST ARCHITECTURE [IMPORT OPTIONS…] → the job ID
  local manifest=$1 architecture=$2
  shift 2
  "$bin" train "$manifest" --budget 10s --architecture "$architecture" --precision fp32 --jobs-dir "$jobs" --json "$@" \
    >"$scratch/train.out" 2>"$scratch/train.log" || { cat "$scratch/train.log" >&2; exit 1; }
  tail -n 1 "$scratch/train.out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])'
}
test_images() { # test_images DATASET_DIR OUTPUT_FILE: the manifest's TEST images, one path a line
  python3 - "$1" >"$2" <<'PY'
import os, sys
root = sys.argv[1]
for line in open(os.path.join(root, "manifest.csv")):
    split, path = line.split(",")[:2]
    if split == "TEST":
        print(os.path.join(root, path))
PY
}

# The models train on a 20-per-class slice (a 10-second budget holds a resnet trial even on a loaded
# machine) and are checked on the 1,000 TEST images of a 100-per-class one.
"$bin" datasets prepare fashion-mnist --output "$scratch/fm-train" --per-class 20 >/dev/null
"$bin" datasets prepare fashion-mnist --output "$scratch/fm" --per-class 100 >/dev/null
test_images "$scratch/fm" "$scratch/fm-test.txt"
"$venv/bin/python" Scripts/export/make_colour_dataset.py "$scratch/colour" 32 60
test_images "$scratch/colour" "$scratch/colour-test.txt"

small=$(train "$scratch/fm-train/manifest.csv" small)
resnet=$(train "$scratch/fm-train/manifest.csv" resnet)
colour=$(train "$scratch/colour/manifest.csv" small --working-size 32)
echo "export-check.sh: trained $small (small), $resnet (resnet), $colour (colour) in $(( $(date +%s) - started )) s" >&2

# The HTTP route, on the server's usual auth: a token, loopback only.
token=$(new_token)
start_server --jobs-dir "$jobs" --api-token "$token" --workers 0

status=0
"$venv/bin/python" Scripts/export/check_export.py --bin "$bin" --scratch "$scratch" \
  --http "http://127.0.0.1:$port" "$token" "$jobs" "$colour" \
  --case fashion-mnist-small-no-tta "$jobs" "$small" "$scratch/fm-test.txt" none \
  --case fashion-mnist-small-mirror-tta "$jobs" "$small" "$scratch/fm-test.txt" horizontal_flip \
  --case fashion-mnist-small-gelu-silu-avgpool "$jobs" "$small@other-layers" "$scratch/fm-test.txt" none \
  --case fashion-mnist-ensemble-of-two-small "$jobs" "$small@ensemble" "$scratch/fm-test.txt" none \
  --case fashion-mnist-resnet-no-tta "$jobs" "$resnet" "$scratch/fm-test.txt" none \
  --case fashion-mnist-resnet-shifts-tta "$jobs" "$resnet" "$scratch/fm-test.txt" shifts \
  --case colour-letterbox "$jobs" "$colour" "$scratch/colour-test.txt" || status=$?
check_server || status=1
echo "export-check.sh: $(( $(date +%s) - started )) s in all, exit $status" >&2
exit $status
