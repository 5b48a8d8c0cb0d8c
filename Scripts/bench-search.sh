#!/usr/bin/env bash
# Search benchmark (issue 4): the search against seed architectures trained alone
# (`train --architecture`), each with the same budget, back to back on this machine. Prints each
# TEST accuracy, the time used, and the search's margin over the best seed, with the standard error
# of that margin. Usage:
#   Scripts/bench-search.sh [BUDGET] [SEEDS] [MANIFEST]
#   (defaults: 10m, "vgg-bn" — the strongest seed on Fashion-MNIST —, the full Fashion-MNIST manifest)
# SEEDS may include `pick`: the search's own best trial's candidate trained alone (`train --candidate`),
# which shows what the search's time cost its pick (the margin is still taken over the seeds).
# Takes (1 + number of seeds) × BUDGET. Run it on a quiet machine: no build or other job beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-10m}
seeds=${2:-vgg-bn}
manifest=${3:-Datasets/fashion-mnist/manifest.csv}
jobs=${JOBS_DIR:-Jobs}
Scripts/setup.sh
swift build -c release --product autovision >&2
bin=.build/release/autovision
[ -f "$manifest" ] || "$bin" datasets prepare fashion-mnist --output "$(dirname "$manifest")" >&2
"$bin" import "$manifest" --cache-dir "$jobs/cache" >/dev/null  # decode once (import time is not charged anyway)
out=$(mktemp -d)
echo "search, then each of: $seeds; $budget each; logs in $out" >&2
"$bin" train "$manifest" --budget "$budget" --jobs-dir "$jobs" --json 2> "$out/search.log" | tail -1 > "$out/search.json"
for seed in $seeds; do
  if [ "$seed" = pick ]; then
    job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["job_id"])' "$out/search.json")
    trial=$(grep -o 'best: trial [0-9]*' "$out/search.log" | tail -1 | grep -o '[0-9]*$')
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    if json.loads(line)["id"] == int(sys.argv[2]): print(line.strip())' "$jobs/$job/search.jsonl" "$trial" > "$out/pick-candidate.json"
    "$bin" train "$manifest" --budget "$budget" --jobs-dir "$jobs" --candidate "$out/pick-candidate.json" --json 2> "$out/pick.log" \
      | tail -1 > "$out/pick.json"
    continue
  fi
  "$bin" train "$manifest" --budget "$budget" --jobs-dir "$jobs" --architecture "$seed" --json 2> "$out/$seed.log" \
    | tail -1 > "$out/$seed.json"
done
python3 - "$out" "$budget" $seeds <<'PY'
import json, math, sys
out, budget, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(name):
    return json.load(open(f"{out}/{name}.json"))
def line(name, summary):
    return (f"{name:>10}: TEST {100 * summary['test_accuracy']:.2f} % in {summary['budget_used_seconds']:.0f} s of "
            f"{summary['budget_requested_seconds']:.0f} s (job {summary['job_id']}, {summary['trials']} trials)")
search = load("search")
print(line("search", search))
alone = {seed: load(seed) for seed in seeds}
for seed, summary in alone.items():
    print(line(seed, summary))
named = [seed for seed in seeds if seed != "pick"] or seeds
best = max(named, key=lambda seed: alone[seed]["test_accuracy"])
a, b = search["test_accuracy"], alone[best]["test_accuracy"]
# Both are accuracies of independent models on the same TEST images: the standard error of the
# difference is at most that of two independent proportions.
n = json.load(open(search["report"]))["test"]["examples"]
se = math.sqrt(a * (1 - a) / n + b * (1 - b) / n)
print(f"search - best seed ({best}): {100 * (a - b):+.2f} points (standard error ≤ {100 * se:.2f}); "
      f"{'the search beats it' if a > b else 'the search does NOT beat it'} at {budget}")
print(json.dumps({"budget": budget, "search_test_accuracy": a, "best_seed": best, "best_seed_test_accuracy": b,
                  "margin": a - b, "margin_standard_error": se}))
PY
