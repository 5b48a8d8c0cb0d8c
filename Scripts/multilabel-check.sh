#!/usr/bin/env bash
# A multi-label job end to end from the command line (issue 24, item 5), on a slice of the dataset
# suite's multi-label set: `Scripts/make-suite.sh multi-shapes` (its venv, .venv-suite, and about 5 s),
# then the first 600 TRAIN, 150 VALIDATION and 150 TEST rows trained for 30 s with `autovision train
# --multi-label --json`, the report's multi-label keys and its mean AP against the prevalence baseline,
# and `autovision predict --json` on TEST images: each answer's labels are the scores over their
# thresholds. About 1.5 minutes (the first run also creates .venv-suite, ~30 s).
#
#   Scripts/multilabel-check.sh     # after `swift build -c release`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "multilabel-check.sh: build first (swift build -c release)" >&2; exit 1; }

source Scripts/lib/checks.sh
make_scratch
started=$(date +%s)
Scripts/make-suite.sh multi-shapes >"$scratch/suite.log" 2>&1 || { cat "$scratch/suite.log" >&2; exit 1; }
slice="$scratch/slice"
mkdir -p "$slice"
ln -s "$(pwd)/Datasets/multi-shapes/images" "$slice/images"
awk -F, '($1 == "TRAIN" && t++ < 600) || ($1 == "VALIDATION" && v++ < 150) || ($1 == "TEST" && s++ < 150)' \
  Datasets/multi-shapes/manifest.csv >"$slice/manifest.csv"

"$bin" train --multi-label "$slice/manifest.csv" --allow-root "$(pwd)/Datasets/multi-shapes" --budget 30s --seed 1 --jobs-dir "$scratch/jobs" --json \
  >"$scratch/train.log" 2>&1 || { tail -n 30 "$scratch/train.log" >&2; exit 1; }
job=$(tail -n 1 "$scratch/train.log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])')
mapfile -t images < <(awk -F, -v dir="$slice" '$1 == "TEST" && n++ < 5 { print dir "/" $2 }' "$slice/manifest.csv")
"$bin" predict "$job" "${images[@]}" --top-k 6 --jobs-dir "$scratch/jobs" --json >"$scratch/predict.log" 2>&1 \
  || { cat "$scratch/predict.log" >&2; exit 1; }

python3 - "$scratch/jobs/$job/report.json" "$scratch/predict.log" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
test = report["test"]
def check(condition, what):
    print(("ok  " if condition else "FAILED: ") + what, file=sys.stderr)
    if not condition:
        sys.exit(1)
check(report["multi_label"] is True, "report.json says multi_label")
for key in ["mean_average_precision", "per_label", "hamming_loss", "baseline", "micro_f1", "macro_f1", "subset_accuracy",
            "label_cardinality", "co_occurrence", "confidence_metrics"]:
    check(key in test, f"test.{key}")
labels = [row["label"] for row in test["per_label"]]
check(sorted(labels) == ["circle", "cross", "ring", "square", "star", "triangle"], "one per_label row per shape")
mean_ap, baseline = test["mean_average_precision"], test["baseline"]["mean_average_precision"]
check(mean_ap > baseline + 0.05, f"TEST mean AP {mean_ap:.3f} above the prevalence baseline's {baseline:.3f}")
thresholds = {row["label"]: row["threshold"] for row in test["per_label"]}
results = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["results"]
for result in results:
    over = sorted(p["label"] for p in result["predictions"] if p["score"] >= thresholds[p["label"]])
    shown = sorted(p["label"] for p in result["labels"])
    check(len(result["predictions"]) == 6 and over == shown,
          f"predict --json {result['image'].split('/')[-1]}: labels {shown} are the scores over their thresholds")
PY
check_status=$?
echo "multilabel-check.sh: $(( $(date +%s) - started )) s in all, exit $check_status" >&2
exit $check_status
