#!/usr/bin/env bash
# Builds the libFuzzer targets of FuzzTesting/ (debug, AddressSanitizer) and runs each for SECONDS
# (default 30), printing each target's final coverage line (cov: blocks, ft: features). Exits non-zero
# when any target crashes, leaks, times out or runs out of memory; the input is saved under
# .build-fuzz/artifacts/TARGET/ (and printed in base64 when small). Corpora grow in .build-fuzz/corpus/.
#
#   Scripts/fuzz.sh [SECONDS] [TARGET…]     e.g. Scripts/fuzz.sh 300 FuzzZip
#
# Seeds: the intake fixtures (images, manifests, request bodies), every regression input under
# Tests/Fixtures/fuzz/TARGET/, a few JSON request bodies written here, and checkpoints and zips that
# FuzzCheckpoint and FuzzZip generate themselves at start (FUZZ_SEED_DIR).
# FUZZ_JOBS (default: the number of cores) targets run at a time; each gets its SECONDS of wall time.
# FUZZ_SCRATCH (default .build-fuzz) is where the build, corpora, logs and artifacts go.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzImageDecoder FuzzManifest FuzzVertexJSONL FuzzZip FuzzCheckpoint FuzzPredictionRequest)
jobs=${FUZZ_JOBS:-$(nproc)}
scratch=${FUZZ_SCRATCH:-$PWD/.build-fuzz}  # build, corpora, logs, artifacts
intake=Tests/Fixtures/intake

# Only the fuzz package's products and the root's parsing libraries they use are built.
# SwiftPM passes its sanitizers to swiftc as separate -sanitize= flags, in an order that changes from
# run to run (a Set), and swiftc keeps only the last one: a build had either coverage (libFuzzer ran
# blind to ASan in Swift code) or ASan (no coverage, so no feedback). The combined -Xswiftc flag comes
# last and wins; --sanitize still instruments the C targets and links the runtimes.
build=(swift build -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch")
mkdir -p "$scratch/logs"
start=$(date +%s)
if ! (cd FuzzTesting && "${build[@]}") >"$scratch/logs/build.log" 2>&1; then
  tail -n 40 "$scratch/logs/build.log" >&2
  echo "fuzz: the build failed (log: $scratch/logs/build.log)" >&2
  exit 1
fi
bin=$(cd FuzzTesting && "${build[@]}" --show-bin-path)
echo "fuzz: built in $(( $(date +%s) - start )) s" >&2
# Each harness must carry both coverage counters (SanitizerCoverage sections) and ASan checks.
for t in "${targets[@]}"; do
  object=$bin/$t.build/$t.swift.o
  sections=$(objdump -h "$object") symbols=$(nm "$object")
  if [[ $sections != *sancov* || $symbols != *__asan_* ]]; then
    echo "fuzz: $t is not built with both coverage and AddressSanitizer ($object)" >&2
    exit 1
  fi
done

# Seeds of each target: files copied into .build-fuzz/seeds/TARGET (rebuilt every run).
seed() {  # seed TARGET FILE… (nothing when TARGET is not being run)
  local dir=$scratch/seeds/$1; shift
  [ -d "$dir" ] || return 0
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"; done
  return 0
}
rm -rf "$scratch/seeds"
for t in "${targets[@]}"; do
  mkdir -p "$scratch/seeds/$t" "$scratch/corpus/$t" "$scratch/artifacts/$t"
  seed "$t" Tests/Fixtures/fuzz/"$t"/*
done
shopt -s nullglob
seed FuzzImageDecoder "$intake"/*/images/* "$intake"/*/requests/*.png "$intake"/*/requests/*.jpg
seed FuzzManifest "$intake"/*/*.csv
if [ -d "$scratch/seeds/FuzzVertexJSONL" ]; then
  printf '%s\n' \
    '{"imageGcsUri": "gs://b/a.png", "classificationAnnotation": {"displayName": "cat, tabby"}, "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}}' \
    '' \
    '{"imageGcsUri": "gs://b/b.png", "classificationAnnotations": [{"displayName": "x"}, {"displayName": "y\"z"}]}' \
    'not json' \
    '{"imageGcsUri": "gs://b/c\r.png", "classificationAnnotation": {"displayName": "line\nbreak"}}' \
    > "$scratch/seeds/FuzzVertexJSONL/generated.jsonl"
fi
seed FuzzPredictionRequest "$intake"/*/requests/*.json "$intake"/*/requests/*.txt
if [ -d "$scratch/seeds/FuzzPredictionRequest" ]; then
  requests=(
    '{"instances":[{"content":"iVBORw0KGgo="},{"b64":"/9j/4A"}],"parameters":{"confidenceThreshold":0.25,"maxPredictions":3}}'
    '{"instances":["iVBORw0KGgo"],"parameters":{"confidenceThreshold":"0.5","maxPredictions":1e19}}'
    '{"payload":{"image":{"imageBytes":"data:image/png;base64,iVBORw0KGgo="}},"params":{"score_threshold":"0.5","max_predictions":"5"}}'
    '{"payload":{"image":{"imageBytes":"iVBORw0KGgo-_"}},"params":{"score_threshold":0,"max_predictions":"1e19"}}'
    '{"id":"1","inputs":[{"name":"image","shape":[2,1],"datatype":"BYTES","data":[["iVBORw0KGgo="],["/9j/4A"]]}],"outputs":[{"name":"probabilities","parameters":{"classification":3,"binary_data":true}}]}'
    '{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}'
  )
  for i in "${!requests[@]}"; do printf '%s' "${requests[$i]}" > "$scratch/seeds/FuzzPredictionRequest/generated-$i.json"; done
fi

# Runs one target; its log is .build-fuzz/logs/TARGET.log.
run() {
  local t=$1 log=$scratch/logs/$1.log
  # Swift's own backtracer off: libFuzzer and ASan report the crash (with the input) themselves.
  SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$PWD/FuzzTesting/lsan-suppressions.txt:print_suppressions=0 \
    FUZZ_SEED_DIR=$scratch/seeds/$t "$bin/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$t/" "$scratch/corpus/$t" "$scratch/seeds/$t" >"$log" 2>&1
}
declare -A pids=()
failed=()
finish() {  # finish TARGET PID
  local t=$1 status=0
  wait "$2" || status=$?
  local log=$scratch/logs/$t.log
  local final; final=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  printf 'fuzz: %-22s %s\n' "$t" "${final:-no coverage line}"
  if [ $status -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); log $log; input saved in $scratch/artifacts/$t/:" >&2
    grep -E 'ERROR:|SUMMARY:|Fatal error|Test unit written|Base64:|==[0-9]+== ?(ERROR|WARNING)' "$log" | head -n 12 >&2 || true
  fi
}
running=()
for t in "${targets[@]}"; do
  run "$t" & pids[$t]=$!
  running+=("$t")
  if [ ${#running[@]} -ge "$jobs" ]; then finish "${running[0]}" "${pids[${running[0]}]}"; running=("${running[@]:1}"); fi
done
for t in "${running[@]}"; do finish "$t" "${pids[$t]}"; done
echo "fuzz: ${#targets[@]} target(s), ${seconds} s each, $jobs at a time: $(( $(date +%s) - start )) s in all" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
