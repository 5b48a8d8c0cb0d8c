#!/usr/bin/env bash
# Which corrections for class imbalance earn a place in the search (issue 19, item 1): on each
# dataset, one fixed candidate (the `small` starting architecture) trained with the whole budget
# (`autovision train --candidate`) with each value of the class-imbalance gene — none, class
# weighting, square-root and balanced class sampling — for each seed, one run after another.
# Prints per run and per value: TEST accuracy, macro recall (the mean recall of the classes TEST
# has), VALIDATION accuracy; and each value's mean paired difference from none (the seed pairs the
# initialisation) with its standard error. Appends one JSON line per run to $RESULTS
# (docs/benchmarks/rebalancing.jsonl).
# Usage: Scripts/bench-rebalancing.sh [BUDGET] [DATASETS] [SEEDS]   (default 90s "desktop-art icons" "0 1")
#   DATASETS: names under Datasets/ (Scripts/make-suite.sh); jobs go to $JOBS_DIR (Jobs)
# Environment: AUTOVISION_BIN (a built binary; unset: `swift build -c release --product autovision`).
# Run it on a quiet machine: a budget is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-90s}
datasets=${2:-desktop-art icons}
seeds=${3:-0 1}
results=${RESULTS:-docs/benchmarks/rebalancing.jsonl}
jobs_dir=${JOBS_DIR:-Jobs}
bin=${AUTOVISION_BIN:-}
if [ -z "$bin" ]; then
  swift build -c release --product autovision >&2
  bin=.build/release/autovision
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
commit=$(git rev-parse --short HEAD)

# The `small` starting architecture (SearchSpace.startingArchitectures) as the search trains it on
# a small dataset (batch 32) under the long-training augmentation floor, with each gene value.
for value in none weighting square_root balanced; do
  python3 - "$value" > "$work/$value.json" <<'EOF'
import json, sys
value = sys.argv[1]
print(json.dumps({
    "architecture": {"stages": 2, "blocksPerStage": 1, "width": 32, "kernelSize": 3, "block": "plain", "batchNorm": True,
                     "downsample": "max_pool", "head": "dense", "denseUnits": 128, "dropout": 0.2},
    "optimizer": "adam", "learningRate": 0.002, "weightDecay": 0, "batchSize": 32,
    "cropPadding": 2, "horizontalFlip": True, "erasingProbability": 0.25, "labelSmoothing": 0,
    "classWeighting": value == "weighting",
    "classSampling": value if value in ("square_root", "balanced") else "natural",
    "origin": "starting:small"}))
EOF
done

lines="$work/runs.jsonl"
: > "$lines"
for dataset in $datasets; do
  manifest=Datasets/$dataset/manifest.csv
  [ -f "$manifest" ] || { echo "no $manifest: run Scripts/make-suite.sh $dataset" >&2; exit 2; }
  for seed in $seeds; do
    for value in none weighting square_root balanced; do
      summary=$("$bin" train "$manifest" --budget "$budget" --seed "$seed" --candidate "$work/$value.json" \
        --ensemble-members 1 --jobs-dir "$jobs_dir" --json 2>/dev/null | tail -1)
      python3 - "$summary" "$dataset" "$value" "$seed" "$budget" "$commit" >> "$lines" <<'EOF'
import json, sys, datetime
summary, dataset, value, seed, budget, commit = sys.argv[1:]
s = json.loads(summary)
report = json.load(open(s["report"]))
test = report["test"]
present = [c for c in test["per_class"] if c["support"] > 0]
print(json.dumps({
    "bench": "rebalancing", "dataset": dataset, "rebalancing": value, "seed": int(seed), "budget": budget,
    "commit": commit, "job_id": s["job_id"], "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "test_accuracy": test["accuracy"], "macro_recall": sum(c["recall"] for c in present) / len(present),
    "test_examples": test["examples"], "majority_baseline": test["baseline"]["accuracy"],
    "validation_accuracy": report["model"]["validation_accuracy"], "budget_used_seconds": s["budget_used_seconds"],
    "stop_reason": s.get("stop_reason")}))
EOF
      tail -1 "$lines"
    done
  done
done
cat "$lines" >> "$results"

python3 - "$lines" <<'EOF'
import json, sys, statistics
runs = [json.loads(l) for l in open(sys.argv[1])]
values = ["none", "weighting", "square_root", "balanced"]
def se(xs):
    return statistics.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else float("nan")
print("\n| dataset | rebalancing | TEST accuracy | macro recall | VALIDATION | TEST − none | macro recall − none |")
print("|---|---|---|---|---|---|---|")
for dataset in dict.fromkeys(r["dataset"] for r in runs):
    by = {(r["rebalancing"], r["seed"]): r for r in runs if r["dataset"] == dataset}
    seeds = sorted({s for _, s in by})
    for value in values:
        rs = [by[(value, s)] for s in seeds if (value, s) in by]
        if not rs: continue
        mean = lambda k: statistics.mean(r[k] for r in rs) * 100
        pairs = [(by[(value, s)], by[("none", s)]) for s in seeds if (value, s) in by and ("none", s) in by]
        diff = lambda k: [(a[k] - b[k]) * 100 for a, b in pairs]
        cell = lambda k: "" if value == "none" else f"{statistics.mean(diff(k)):+.2f} ± {se(diff(k)):.2f}"
        print(f"| {dataset} | {value} | {mean('test_accuracy'):.2f} % | {mean('macro_recall'):.2f} % | {mean('validation_accuracy'):.2f} % "
              f"| {cell('test_accuracy')} | {cell('macro_recall')} |")
EOF
