#!/usr/bin/env bash
# The browser console (issue 25) in a real browser: Debian's chromium driven by Selenium through
# /usr/bin/chromedriver (chromium-driver), against the real `autovision serve` on loopback with an API
# token and a 10-per-class Fashion-MNIST slice uploaded as a zip. Scripts/console/console_check.py says
# what it checks: the token prompt, upload and per-partition counts, a short job's trials, the
# score-threshold slider against report.json, a prediction, axe-core on every page, no overflow at 390 px,
# no JavaScript error. Screenshots of every page go to the scratch folder, or to --artifacts DIR (kept).
# About a minute; the first run also installs chromium and chromium-driver (apt) when missing, and
# creates .venv-console with the pinned packages of Scripts/console/requirements.txt (the script owns it).
#
#   Scripts/console-check.sh [--artifacts DIR] [--readme-screenshot PNG]     # after `swift build -c release`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/autovision
[ -x "$bin" ] || { echo "console-check.sh: build first (swift build -c release)" >&2; exit 1; }
artifacts="" readme_shot=""
while [ $# -gt 0 ]; do
  case $1 in
    --artifacts) artifacts=$2; shift 2 ;;
    --readme-screenshot) readme_shot=$2; shift 2 ;;
    *) echo "usage: console-check.sh [--artifacts DIR] [--readme-screenshot PNG]" >&2; exit 2 ;;
  esac
done

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "console-check.sh: installing chromium and chromium-driver" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >&2
fi

source Scripts/lib/checks.sh
venv=.venv-console
ensure_venv "$venv" Scripts/console/requirements.txt
make_scratch
started=$(date +%s)
[ -n "$artifacts" ] || artifacts="$scratch/artifacts"
mkdir -p "$artifacts"
[ -z "$readme_shot" ] || readme_shot=$(realpath -m "$readme_shot")

# The slice as a zip (manifest.csv at its top level, the PNGs under it), and one TEST image to predict.
"$bin" datasets prepare fashion-mnist --output "$scratch/fm" --per-class 10 >/dev/null
image=$(python3 - "$scratch/fm" "$scratch/fm.zip" <<'PY'
import csv, os, sys, zipfile
root, target = sys.argv[1:3]
rows = list(csv.reader(open(os.path.join(root, "manifest.csv"))))
# The first row without its label: an unlabeled image for the image browser to label.
unlabeled = [rows[0][:2]] + rows[1:]
with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
    archive.writestr("manifest.csv", "".join(",".join(row) + "\n" for row in unlabeled))
    for _, path, _ in rows:
        archive.write(os.path.join(root, path), path)
print(os.path.join(root, next(path for split, path, _ in rows if split == "TEST")))
PY
)

# A multi-label model for the evaluation page's multi-label view, trained from the command line.
"$bin" datasets prepare fashion-mnist-pairs --output "$scratch/pairs" --per-class 15 >/dev/null
multi_label_job=$("$bin" train --multi-label "$scratch/pairs/manifest.csv" --budget 12s --jobs-dir "$scratch/jobs" --json 2>"$scratch/multi-label.log" \
  | tail -n 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])') || { tail -n 20 "$scratch/multi-label.log" >&2; exit 1; }

token=$(new_token)
start_server --jobs-dir "$scratch/jobs" --api-token "$token" --max-budget 40s
echo "console-check.sh: server on 127.0.0.1:$port, setup $(( $(date +%s) - started )) s" >&2

status=0
MULTI_LABEL_JOB=$multi_label_job SE_OFFLINE=true "$venv/bin/python" Scripts/console/console_check.py "$base" "$token" "$scratch/fm.zip" "$image" "$artifacts" $readme_shot || status=$?
check_server || status=1
echo "console-check.sh: screenshots in $artifacts$([ "$artifacts" = "$scratch/artifacts" ] && echo ' (removed on exit; keep them with --artifacts DIR)')" >&2
echo "console-check.sh: $(( $(date +%s) - started )) s in all, exit $status" >&2
exit $status
