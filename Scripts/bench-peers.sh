#!/usr/bin/env bash
# A peer side by side (issue 19, item 4): for each dataset, on this machine's 2 cores, one run after
# another (never two at once):
#   1. our search                       autovision train MANIFEST --budget BUDGET --json
#   2. each starting architecture alone autovision train MANIFEST --budget BUDGET --architecture vgg-bn|resnet|small
#   3. AutoKeras 3.0.0 (Keras 3.9.2, torch backend, in .venv-peers: Scripts/setup-peers.sh)
# and prints per dataset: TEST accuracy of each, the majority-class baseline on TEST, wall times, peak
# RSS (/usr/bin/time -v), and the margins search − best starting architecture and search − AutoKeras
# with standard errors (paired bootstrap over the TEST examples). Generalises Scripts/bench-search.sh.
#
# Usage:
#   Scripts/bench-peers.sh BUDGET DATASET…     DATASET: a manifest path, a folder holding manifest.csv,
#                                              a folder under Datasets/ (Datasets/NAME/manifest.csv),
#                                              or fashion-mnist (prepared from the Debian package if missing)
#   Scripts/bench-peers.sh --table [FILE]      the table of a results file alone (it fills across sessions)
# Environment: AUTOVISION_BIN (a built binary; unset: `swift build -c release --product autovision`),
#   JOBS_DIR (Jobs), PEERS_RESULTS (docs/benchmarks/peers.jsonl: one JSON line per run, appended),
#   PEERS_STARTS ("vgg-bn resnet small"), PEERS_AUTOKERAS (1; 0 skips it), AK_MAX_TRIALS (3), AK_SEED (0),
#   AK_TOLERANCE (0.15), AK_MAX_ATTEMPTS (4), PEERS_VENV (.venv-peers), PEERS_TORCH (2.15.0).
# Takes about (4 + 2 to 4) × BUDGET per dataset. Run it on a quiet machine: no build or other job beside it.
#
# How AutoKeras is kept comparable:
# - Same data, same split. Our search's job decides the partition; `bench_peers.py split` reads it back
#   exactly from the job's decoded-dataset cache (Jobs/cache/*.avcache holds, per image, its label,
#   partition and manifest line), and when the manifest had no VALIDATION or TEST it carves them from
#   TRAIN as TrainingSplits does (the same FNV-1a hash of the cached pixels). It checks the result
#   against the job's report (TEST count, and every "manifest line N" the report lists is in TEST).
#   AutoKeras gets TRAIN as x, VALIDATION as validation_data (its trial selection on val_loss and its
#   early stopping), and is scored on the same TEST images; every job of the run must have the same TEST.
#   Our jobs' per-example TEST answers (for the paired bootstrap) come from `autovision predict` on the
#   TEST files after each timed run: the model as served, with the report's test-time augmentation; a
#   warning is printed if they do not give the report's TEST accuracy.
# - Same pixels. Images are decoded with Pillow (JPEG EXIF orientation, alpha/tRNS onto white, 16-bit gray
#   scaled) and brought to our working resolution and channel count (from the job's import summary) by a
#   port of our letterbox (area averaging down, bilinear up, edge-mean padding) and BT.601 luma, fed as
#   value / 255 like ours. `prepare` compares every image with our cache and the record keeps the count
#   of identical images (Pillow's handling of 16-bit colour PNG and CMYK JPEG can differ from ours).
# - A search space that fits 2 cores and this data. AutoKeras 3's ImageClassifier tries a small CNN
#   first, then a ResNet-50 resized to 224×224 (hours per epoch here) and an EfficientNet-B7 with ImageNet
#   weights (which cannot be downloaded here). So the model is AutoModel(ImageInput →
#   ImageBlock(block_type="vanilla") → ClassificationHead) with AutoKeras's greedy tuner starting from
#   ImageClassifier's own first trial: the ConvBlock's kernel, blocks, layers, filters, separable,
#   pooling, dropout, plus normalisation, augmentation, head, optimiser and learning rate are searched
#   by AutoKeras; no pretrained weights anywhere (the vanilla block has none). max_trials = 3 (AK_MAX_TRIALS),
#   batch size 32 (AutoKeras's default), seed 0, 2 torch threads.
# - The same wall time. AutoKeras has no time budget; its `epochs` (per trial, and for its final fit of
#   the best trial, which AutoKeras runs itself) is chosen by measurement so that the wall time of the
#   whole AutoKeras process (imports, search, final fit, TEST predictions) is within ±15 % of our
#   search's whole process measured just before in this run: a probe at 1 epoch, then
#   epochs = (target − fixed time) / (fit time per epoch), corrected proportionally and rerun until
#   inside the band (at most AK_MAX_ATTEMPTS runs). When E epochs fall short of the band and E + 1
#   overshoot it, more trials at E epochs fill the gap (max_trials 4, 5, …; each adds one training of E
#   epochs). Only wall time steers it, never an accuracy; the
#   first run inside the band is kept (else the closest, flagged "time off band" in the table). Decoding
#   the images for AutoKeras is done once beforehand and not timed, as our import is run once
#   beforehand (the cache) and timed apart.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${PEERS_RESULTS:-docs/benchmarks/peers.jsonl}
if [ "${1:-}" = --table ]; then
  exec python3 Scripts/bench_peers.py table "${2:-$results}"
fi
if [ $# -lt 2 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
budget=$1; shift
jobs=${JOBS_DIR:-Jobs}
venv=${PEERS_VENV:-.venv-peers}
starts=${PEERS_STARTS:-vgg-bn resnet small}
Scripts/setup-peers.sh
if [ -n "${AUTOVISION_BIN:-}" ]; then
  bin=$AUTOVISION_BIN
else
  Scripts/setup.sh
  swift build -c release --product autovision >&2
  bin=.build/release/autovision
fi
bin=$(realpath "$bin")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
groups=()

for dataset in "$@"; do
  if [ -f "$dataset" ]; then
    manifest=$dataset; name=$(basename "$(dirname "$(realpath "$dataset")")")
  elif [ -f "$dataset/manifest.csv" ]; then
    manifest=$dataset/manifest.csv; name=$(basename "$(realpath "$dataset")")
  elif [ -f "Datasets/$dataset/manifest.csv" ]; then
    manifest=Datasets/$dataset/manifest.csv; name=$dataset
  elif [ "$dataset" = fashion-mnist ]; then
    "$bin" datasets prepare fashion-mnist --output Datasets/fashion-mnist >&2
    manifest=Datasets/fashion-mnist/manifest.csv; name=fashion-mnist
  else
    echo "bench-peers: $dataset is neither a manifest, a folder with manifest.csv, nor Datasets/$dataset" >&2
    exit 2
  fi
  group="$stamp-$name"
  groups+=("$group")
  out=$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")
  echo "bench-peers: $name ($manifest), $budget each; logs in $out; results in $results (group $group)" >&2
  "$bin" import "$manifest" --cache-dir "$jobs/cache" > /dev/null  # decode once (import time is not charged anyway)
  common=(--results "$results" --group "$group" --dataset "$name" --budget "$budget")

  for system in search $starts; do
    flags=(); [ "$system" = search ] || flags=(--architecture "$system")
    echo "bench-peers: $name: $system…" >&2
    /usr/bin/time -v -o "$out/$system.time" "$bin" train "$manifest" --budget "$budget" --jobs-dir "$jobs" "${flags[@]}" --json \
      2> "$out/$system.log" | tail -1 > "$out/$system.json" || true
    state=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read() or "{}").get("state", "none"))' "$out/$system.json")
    if [ "$state" = succeeded ]; then
      job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["job_id"])' "$out/$system.json")
      python3 Scripts/bench_peers.py split "$jobs" "$job" "$out/$system.split.json"
      if [ "$system" != search ] && ! cmp -s <(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_lines_sha256"])' "$out/$system.split.json") \
                                            <(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_lines_sha256"])' "$out/search.split.json"); then
        echo "bench-peers: $system's job has another TEST partition than the search's; not comparable" >&2
        exit 1
      fi
    elif [ "$system" = search ]; then
      echo "bench-peers: the search did not succeed (state: $state); see $out/search.log" >&2
      exit 1
    else
      echo "bench-peers: $system did not succeed (state: $state); recorded as failed; see $out/$system.log" >&2
      cp "$out/search.split.json" "$out/$system.split.json"
    fi
    python3 Scripts/bench_peers.py record "${common[@]}" --system "$system" --split "$out/$system.split.json" \
      --summary "$out/$system.json" --time "$out/$system.time" --bin "$bin" --jobs-dir "$jobs"
  done

  if [ "${PEERS_AUTOKERAS:-1}" != 0 ]; then
    echo "bench-peers: $name: AutoKeras…" >&2
    "$venv/bin/python" Scripts/bench_peers.py prepare "$out/search.split.json" "$out/data.npz"
    python3 Scripts/bench_peers.py autokeras "${common[@]}" --split "$out/search.split.json" --data "$out/data.npz" \
      --python "$venv/bin/python" --workdir "$out" --max-trials "${AK_MAX_TRIALS:-3}" --seed "${AK_SEED:-0}" \
      --tolerance "${AK_TOLERANCE:-0.15}" --max-attempts "${AK_MAX_ATTEMPTS:-4}"
    rm -rf "$out"/ak-e*/  # AutoKeras's trial checkpoints; its logs and results stay
  fi
done

python3 Scripts/bench_peers.py table "$results" --groups "${groups[@]}"
