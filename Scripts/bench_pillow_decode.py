#!/usr/bin/env python3
"""Single-threaded Pillow decode loop over the images of an AutoML Vision manifest.

The reference for `Scripts/bench-import.sh`: reads every image path of the manifest (second
field, or first when it is not a set name) and fully decodes it with Pillow (`Image.load()`).
Prints one JSON line: {"images": N, "seconds": S, "images_per_second": R}.
"""
import csv
import json
import os
import sys
import time

from PIL import Image

SETS = {"TRAIN", "TRAINING", "VALIDATION", "VALIDATE", "TEST", "UNASSIGNED"}


def main(manifest):
    folder = os.path.dirname(os.path.abspath(manifest))
    with open(manifest, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r]
    paths = [os.path.join(folder, r[1] if r[0].upper() in SETS else r[0]) for r in rows]
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.load()
    seconds = time.perf_counter() - start
    print(json.dumps({"images": len(paths), "seconds": seconds, "images_per_second": len(paths) / seconds}))


if __name__ == "__main__":
    main(sys.argv[1])
