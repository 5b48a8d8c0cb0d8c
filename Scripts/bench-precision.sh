#!/usr/bin/env bash
# bf16 against fp32 (issue 26, item 1), one run after another on this machine's cores:
#   parity   for each model and seed, `autovision bench train --model M --epochs E --seed S` in fp32
#            and in bf16; prints each TEST accuracy, the means, and the mean paired difference
#            bf16 − fp32 with its standard error (seeds pair the initialisation and the batch order).
#            The issue's criterion: the bf16 mean within the fp32 mean ± one standard error of the difference.
#   speed    `autovision bench train --model M` in fp32 and bf16, and the ratio of their throughputs.
#   suite    for each dataset, the whole job (`autovision train MANIFEST --budget B`) in fp32, then in
#            bf16: TEST accuracy, the majority-class baseline, trials, final epochs, and bf16 − fp32 with
#            the two-proportion standard error (the runs share the TEST images but not the model).
# Usage: Scripts/bench-precision.sh parity [MODELS] [SEEDS] [EPOCHS]   (default "small medium" "0 1 2" 5)
#        Scripts/bench-precision.sh speed [MODELS]                      (default "small medium")
#        Scripts/bench-precision.sh suite [BUDGET] [DATASETS]           (default 3m "letters icons digits desktop-art")
#          DATASETS: names under Datasets/ (Scripts/make-suite.sh); jobs go to $JOBS_DIR (Jobs)
# Environment: AUTOVISION_BIN (a built binary; unset: `swift build -c release --product autovision`).
# Run it on a quiet machine for `speed` and `suite` (a budget is wall time); `parity` measures accuracy
# only and may share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-parity}
models=${2:-small medium}
[ "$mode" != suite ] || models=""
bin=${AUTOVISION_BIN:-}
if [ -z "$bin" ]; then
  swift build -c release --product autovision >&2
  bin=.build/release/autovision
fi
grep -q avx512_bf16 /proc/cpuinfo || echo "note: this CPU has no AVX512_BF16: bf16 runs emulated (rounded operands through sgemm)" >&2

case "$mode" in
parity)
  seeds=${3:-0 1 2}
  epochs=${4:-5}
  for model in $models; do
    for seed in $seeds; do
      for precision in fp32 bf16; do
        line=$("$bin" bench train --model "$model" --epochs "$epochs" --seed "$seed" --precision "$precision" --json 2>/dev/null)
        echo "$line" | python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'model':r['model'],'seed':$seed,'precision':r['precision'],'test_accuracy':r['test_accuracy'],'train_img_s':round(r['train_images_per_second'])}))"
      done
    done
  done | tee >(cat >&2) | python3 -c '
import json, sys, statistics as st
runs = [json.loads(l) for l in sys.stdin if l.strip()]
for model in dict.fromkeys(r["model"] for r in runs):
    acc = {(r["seed"], r["precision"]): r["test_accuracy"] for r in runs if r["model"] == model}
    seeds = sorted({s for s, _ in acc})
    fp32 = [acc[s, "fp32"] for s in seeds]; bf16 = [acc[s, "bf16"] for s in seeds]
    diff = [b - f for f, b in zip(fp32, bf16)]
    se = st.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
    print(f"{model}: fp32 mean {st.mean(fp32):.4f}, bf16 mean {st.mean(bf16):.4f} over seeds {seeds}; "
          f"bf16 - fp32 = {st.mean(diff):+.4f} +- {se:.4f} (standard error of the paired difference)")
'
  ;;
speed)
  for model in $models; do
    fp32=$("$bin" bench train --model "$model" --precision fp32 --json 2>/dev/null)
    bf16=$("$bin" bench train --model "$model" --precision bf16 --json 2>/dev/null)
    python3 -c '
import json, sys
f, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
train, infer = "train_images_per_second", "inference_images_per_second"
print("%s: train fp32 %.0f img/s, bf16 %.0f img/s (%.2fx); inference fp32 %.0f, bf16 %.0f (%.2fx); peak RSS %.0f / %.0f MB" % (
    f["model"], f[train], b[train], b[train] / f[train], f[infer], b[infer], b[infer] / f[infer], f["peak_rss_mb"], b["peak_rss_mb"]))
' "$fp32" "$bf16"
  done
  ;;
suite)
  budget=${2:-3m}
  jobs=${JOBS_DIR:-Jobs}
  for name in ${3:-letters icons digits desktop-art}; do
    manifest=Datasets/$name/manifest.csv
    [ -f "$manifest" ] || { echo "bench-precision: no $manifest: build it with Scripts/make-suite.sh $name" >&2; exit 2; }
    "$bin" import "$manifest" --cache-dir "$jobs/cache" > /dev/null  # decode once, outside both budgets
    for precision in fp32 bf16; do
      summary=$("$bin" train "$manifest" --budget "$budget" --precision "$precision" --jobs-dir "$jobs" --json 2>/dev/null | tail -1)
      python3 - "$name" "$precision" "$summary" "$jobs" <<'PY'
import json, sys
name, precision, summary, jobs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
if summary["state"] != "succeeded":
    print(json.dumps({"dataset": name, "precision": precision, "job": summary["job_id"], "state": summary["state"]}))
    sys.exit(0)
report = json.load(open(f"{jobs}/{summary['job_id']}/report.json"))
print(json.dumps({"dataset": name, "precision": precision, "job": summary["job_id"], "state": summary["state"],
                  "test_accuracy": summary["test_accuracy"], "test_examples": report["test"]["examples"],
                  "majority": report["test"]["baseline"]["accuracy"], "trials": summary["trials"],
                  "architecture": report["model"]["architecture"], "stop": summary["stop_reason"],
                  "used_s": round(summary["budget_used_seconds"])}))
PY
    done
  done | tee >(cat >&2) | python3 -c '
import json, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
for name in dict.fromkeys(r["dataset"] for r in runs):
    f, b = (next(r for r in runs if r["dataset"] == name and r["precision"] == p) for p in ("fp32", "bf16"))
    if f["state"] != "succeeded" or b["state"] != "succeeded":
        print("%s: fp32 %s, bf16 %s (jobs %s, %s)" % (name, f["state"], b["state"], f["job"], b["job"]))
        continue
    n, fa, ba = f["test_examples"], f["test_accuracy"], b["test_accuracy"]
    se = (fa * (1 - fa) / n + ba * (1 - ba) / n) ** 0.5
    print("%s (%d TEST, majority %.2f %%): fp32 %.2f %% (%d trials), bf16 %.2f %% (%d trials); bf16 - fp32 = %+.2f +- %.2f points"
          % (name, n, 100 * f["majority"], 100 * fa, f["trials"], 100 * ba, b["trials"], 100 * (ba - fa), 100 * se))
'
  ;;
*) echo "usage: $0 parity|speed|suite …" >&2; exit 2 ;;
esac
