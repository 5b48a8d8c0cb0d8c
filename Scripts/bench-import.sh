#!/usr/bin/env bash
# Import benchmark (issue 2): `autovision import` on a manifest vs a single-threaded Pillow decode
# loop over the same files, back to back in one run. Prints both rates, their ratio, and our
# peak RSS. Usage: Scripts/bench-import.sh [MANIFEST]   (default: the full Fashion-MNIST manifest)
# Run it on a quiet machine: no build or other job beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=${1:-Datasets/fashion-mnist/manifest.csv}
Scripts/setup.sh
swift build -c release --product autovision >&2
bin=.build/release/autovision
[ -f "$manifest" ] || "$bin" datasets prepare fashion-mnist --output "$(dirname "$manifest")" >&2
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench && .venv-bench/bin/pip install -q pillow >&2
fi
# Warm the page cache so both sides read from memory.
cat "$(dirname "$manifest")"/*/* > /dev/null 2>&1 || true
pillow=$(.venv-bench/bin/python Scripts/bench_pillow_decode.py "$manifest")
cache=$(mktemp -d)
/usr/bin/time -f '%e %M' -o /tmp/autovision-import-rss "$bin" import "$manifest" --cache-dir "$cache" --json 2>/dev/null | tail -1 > /tmp/autovision-import.json
rm -rf "$cache"
python3 - "$pillow" /tmp/autovision-import.json /tmp/autovision-import-rss <<'PY'
import json, sys
pillow = json.loads(sys.argv[1]); ours = json.load(open(sys.argv[2])); wall, rss_kb = open(sys.argv[3]).read().split()[-2:]
wall, rss_kb = float(wall), int(rss_kb)
rate = ours["images"] / wall
print(f"pillow (1 thread, decode only): {pillow['images_per_second']:.0f} images/s over {pillow['images']} images")
print(f"autovision import, whole command (parse, read, hash, full decode, cache write; all cores): {rate:.0f} images/s "
      f"({wall:.1f} s; import step alone {ours['images'] / ours['import_seconds']:.0f} images/s); peak RSS {rss_kb/1024:.0f} MiB")
print(f"ratio: {rate / pillow['images_per_second']:.2f}x Pillow (target >= 2x), peak RSS {'under' if rss_kb < 1024*1024 else 'OVER'} 1 GiB")
print(json.dumps({"pillow_images_per_second": pillow["images_per_second"], "autovision_images_per_second": rate,
                  "ratio": rate / pillow["images_per_second"], "peak_rss_mib": rss_kb / 1024}))
PY
