#!/usr/bin/env python3
"""Helpers of Scripts/bench-peers.sh (issue 19, item 4: a peer side by side). Subcommands:

  split     JOBS_DIR JOB_ID OUT.json   the exact TRAIN / VALIDATION / TEST partition of a finished job,
                                       by manifest line, read from the job's decoded-dataset cache
  record    ...                        one JSON line for one of our runs (search or a starting
                                       architecture), with per-example TEST correctness from
                                       `autovision predict` on the TEST images
  prepare   SPLIT.json OUT.npz         (venv) the job's images decoded with Pillow and brought to the
                                       working resolution the way our Preprocessing does
  autokeras ...                        (system python) AutoKeras, rerun at other numbers of epochs (and
                                       trials) until its wall time is within the tolerance of our
                                       search's; one JSON line
  ak-run    ...                        (venv) one AutoKeras run: search, final fit, TEST predictions
  table     [FILE]                     the side-by-side table of a results file

`split`, `record`, `autokeras` and `table` need only the standard library (numpy when present, for the
bootstrap and the carving hash); `prepare` and `ak-run` run in the peers' venv (Scripts/setup-peers.sh).
"""
import argparse
import csv
import datetime
import glob
import hashlib
import io
import json
import math
import os
import platform
import re
import struct
import subprocess
import sys
import time

PARTITIONS = {0: "TRAIN", 1: "VALIDATION", 2: "TEST"}


# ---------------------------------------------------------------------------------------------------
# The decoded-dataset cache (Sources/Datasets/DatasetCache.swift) and the job's split
# ---------------------------------------------------------------------------------------------------

def read_cache(path, pixels=True):
    """Header, labels, partitions, manifest lines (and pixels as a bytes object) of an .avcache file.
    Layout: "AVDSCACH", UInt32 version, UInt32 header length, header JSON, then at pixelOffset
    Int32 labels[n], UInt8 partitions[n], Int32 lines[n], padding to 64 bytes, UInt8 pixels[n,H,W,C]."""
    with open(path, "rb") as f:
        data = f.read() if pixels else f.read(1 << 20)
    if data[:8] != b"AVDSCACH":
        raise ValueError(f"{path}: not a dataset cache")
    version, header_length = struct.unpack_from("<II", data, 8)
    if version != 1:
        raise ValueError(f"{path}: cache version {version}, this script reads version 1")
    header = json.loads(data[16:16 + header_length])
    n, offset = header["count"], header["pixelOffset"]
    if not pixels and len(data) < offset + 9 * n:
        with open(path, "rb") as f:
            data = f.read(offset + 9 * n)
    labels = struct.unpack_from(f"<{n}i", data, offset)
    partitions = data[offset + 4 * n: offset + 5 * n]
    lines = struct.unpack_from(f"<{n}i", data, offset + 5 * n)
    start = (offset + 9 * n + 63) // 64 * 64
    return {"header": header, "labels": list(labels), "partitions": [PARTITIONS.get(p, "TEST") for p in partitions],
            "lines": list(lines), "pixels": data[start:-4] if pixels else None}


def find_cache(jobs_dir, imported):
    """The cache file of an import: same manifest hash and working resolution; the newest if several
    (the file name is a hash of the content too, so an edited image makes a new file)."""
    working = imported["working"]
    found = []
    for path in glob.glob(os.path.join(jobs_dir, "cache", "*.avcache")):
        try:
            header = read_cache(path, pixels=False)["header"]
        except (ValueError, OSError, struct.error):
            continue
        r = header["resolution"]
        if (header["manifestSHA256"] == imported["manifest_sha256"] and header["labels"] == imported["labels"]
                and (r["width"], r["height"], r["channels"]) == (working["width"], working["height"], working["channels"])):
            found.append((os.path.getmtime(path), path))
    if not found:
        raise SystemExit(f"no dataset cache under {jobs_dir}/cache matches the job's import")
    return max(found)[1]


def fnv1a(rows):
    """FNV-1a (64 bit) of each row of a uint8 matrix, as TrainingSplits.contentHash."""
    import numpy as np
    h = np.full(rows.shape[0], 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x00000100000001B3)
    with np.errstate(over="ignore"):
        for j in range(rows.shape[1]):
            h ^= rows[:, j].astype(np.uint64)
            h *= prime
    return [int(v) for v in h]


def fnv1a_python(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def training_splits(cache):
    """TrainingSplits (Sources/Training/TrainingData.swift): the cache's partitions, and when VALIDATION
    or TEST is empty, 10 % of TRAIN each carved off in order of a hash of the cached pixels."""
    parts = cache["partitions"]
    train = [i for i, p in enumerate(parts) if p == "TRAIN"]
    validation = [i for i, p in enumerate(parts) if p == "VALIDATION"]
    test = [i for i, p in enumerate(parts) if p == "TEST"]
    carve_validation, carve_test = not validation, not test
    notes = []
    if (carve_validation or carve_test) and len(train) >= 3:
        share = max(1, len(train) // 10)
        r = cache["header"]["resolution"]
        size = r["width"] * r["height"] * r["channels"]
        pixels = cache["pixels"]
        try:
            import numpy as np
            matrix = np.frombuffer(pixels, dtype=np.uint8).reshape(-1, size)[train]
            hashes = fnv1a(matrix)
        except ImportError:
            hashes = [fnv1a_python(pixels[i * size:(i + 1) * size]) for i in train]
        ordered = [index for _, index in sorted(zip(hashes, train))]
        if carve_validation:
            validation, ordered = sorted(ordered[:share]), ordered[share:]
            notes.append(f"VALIDATION carved from TRAIN ({len(validation)} images, by content hash)")
        if carve_test:
            test, ordered = sorted(ordered[:share]), ordered[share:]
            notes.append(f"TEST carved from TRAIN ({len(test)} images, by content hash)")
        train = sorted(ordered)
    return {"TRAIN": train, "VALIDATION": validation, "TEST": test}, notes


def manifest_rows(manifest):
    """Manifest line number → (path field, raw line), for `[SET,]path,label…` rows."""
    sets = {"TRAIN", "VALIDATION", "VALIDATE", "TEST", "UNASSIGNED"}
    with open(manifest, "rb") as f:
        text = f.read().decode("utf-8-sig", errors="replace")
    rows = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = next(csv.reader(io.StringIO(line)), [])
        if not fields:
            continue
        path = fields[1] if fields[0].strip().upper() in sets and len(fields) > 1 else fields[0]
        rows[number] = path.strip()
    return rows


def resolve(manifest, reference):
    if reference.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse
        return unquote(urlparse(reference).path)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", reference):
        raise SystemExit(f"{reference}: only local paths and file:// are supported by this benchmark (map gs:// yourself)")
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(manifest)), reference))


def cmd_split(args):
    folder = os.path.join(args.jobs_dir, args.job)
    imported = json.load(open(os.path.join(folder, "import.json")))
    report = json.load(open(os.path.join(folder, "report.json")))
    cache_path = find_cache(args.jobs_dir, imported)
    cache = read_cache(cache_path)
    splits, notes = training_splits(cache)
    rows = manifest_rows(imported["manifest"])
    labels = cache["header"]["labels"]
    out = {"manifest": imported["manifest"], "manifest_sha256": imported["manifest_sha256"], "cache": os.path.abspath(cache_path),
           "working": imported["working"], "labels": labels, "notes": notes, "job": args.job}
    for name, indices in splits.items():
        # TEST in manifest-line order (the cache is in manifest order already); the pairing key.
        out[name] = [{"cache_index": i, "line": cache["lines"][i], "label": labels[cache["labels"][i]],
                      "path": resolve(imported["manifest"], rows[cache["lines"][i]])} for i in indices]
    # Cross-checks against what the job itself reported.
    test_lines = {e["line"] for e in out["TEST"]}
    if len(out["TEST"]) != report["test"]["examples"]:
        raise SystemExit(f"split: {len(out['TEST'])} TEST images here, the report evaluated {report['test']['examples']}")
    for example in report["test"].get("misclassified", []):
        line = int(example["reference"].rsplit(" ", 1)[1])
        if line not in test_lines:
            raise SystemExit(f"split: the report's misclassified {example['reference']} is not in this TEST partition")
    out["test_lines_sha256"] = hashlib.sha256(",".join(str(e["line"]) for e in out["TEST"]).encode()).hexdigest()
    json.dump(out, open(args.out, "w"))
    print(f"split: TRAIN {len(out['TRAIN'])}, VALIDATION {len(out['VALIDATION'])}, TEST {len(out['TEST'])} "
          f"(from {os.path.basename(cache_path)}{'; ' + '; '.join(notes) if notes else ''})", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------
# /usr/bin/time -v, records, our runs
# ---------------------------------------------------------------------------------------------------

def parse_time_v(path):
    """Wall seconds, peak RSS (bytes) and exit status from GNU time -v output."""
    wall = rss = status = None
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            value = line.rsplit(": ", 1)[1]
            parts = [float(p) for p in value.split(":")]
            wall = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(": ", 1)[1]) * 1024
        elif line.startswith("Exit status"):
            status = int(line.rsplit(": ", 1)[1])
    return wall, rss, status


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "host": platform.node()}


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or None
    except OSError:
        return None


def base_record(args, split, system):
    return {"bench": "peers", "group": args.group, "dataset": args.dataset, "manifest": split["manifest"],
            "manifest_sha256": split["manifest_sha256"], "budget": args.budget, "system": system,
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": git_commit(), "machine": machine(), "test_examples": len(split["TEST"]),
            "test_lines_sha256": split["test_lines_sha256"],
            "working_resolution": {k: split["working"][k] for k in ("width", "height", "channels")}}


def append(path, record):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def cmd_record(args):
    """One of our runs: the job's summary, its TEST accuracy from the report, and per-example
    correctness from `autovision predict` on the TEST images (the model as served: same preprocessing,
    same test-time augmentation as the report's evaluation)."""
    split = json.load(open(args.split))
    text = open(args.summary).read().strip()
    summary = json.loads(text.splitlines()[-1]) if text else {"state": "no summary"}
    wall, rss, status = parse_time_v(args.time)
    record = base_record(args, split, args.system)
    record.update({"wall_seconds": wall, "peak_rss_bytes": rss, "exit_status": status, "job_id": summary.get("job_id"),
                   "state": summary.get("state"), "budget_used_seconds": summary.get("budget_used_seconds"),
                   "budget_requested_seconds": summary.get("budget_requested_seconds"), "trials": summary.get("trials"),
                   "test_accuracy": summary.get("test_accuracy")})
    if summary.get("state") == "succeeded":
        report = json.load(open(summary["report"]))
        record["majority_baseline"] = report["test"]["baseline"]["accuracy"]
        record["majority_class"] = report["test"]["baseline"].get("majority_class")
        record["architecture"] = report["model"]["architecture"]
        record["test_time_augmentation"] = report["model"].get("test_time_augmentation")
        correct = []
        tests = split["TEST"]
        for start in range(0, len(tests), 1000):
            chunk = tests[start:start + 1000]
            result = subprocess.run([args.bin, "predict", summary["job_id"], "--jobs-dir", args.jobs_dir, "--top-k", "1", "--json",
                                     *[e["path"] for e in chunk]], capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"record: autovision predict failed: {result.stderr[-2000:]}")
            results = json.loads(result.stdout.strip().splitlines()[-1])["results"]
            for example, r in zip(chunk, results):
                if r["image"] != example["path"]:
                    raise SystemExit(f"record: predict answered for {r['image']}, expected {example['path']}")
                correct.append("1" if r.get("predictions") and r["predictions"][0]["label"] == example["label"] else "0")
        record["test_correct"] = "".join(correct)
        again = correct.count("1") / max(1, len(correct))
        record["predict_test_accuracy"] = again
        if abs(again - record["test_accuracy"]) > 0.5 / max(1, len(correct)):
            print(f"record: WARNING {args.system}: `predict` scores {100 * again:.2f} % on TEST, the report "
                  f"{100 * record['test_accuracy']:.2f} % (the paired bootstrap uses predict's answers)", file=sys.stderr)
    append(args.results, record)
    if record["test_accuracy"] is None:
        print(f"{args.system}: no model (state {record['state']})", file=sys.stderr)
    else:
        print(f"{args.system}: TEST {100 * record['test_accuracy']:.2f} % in {wall:.0f} s, peak RSS {rss / 2**20:.0f} MiB",
              file=sys.stderr)


# ---------------------------------------------------------------------------------------------------
# Images for AutoKeras: Pillow decode + our letterbox (Sources/ImageIO/ImageResize.swift)
# ---------------------------------------------------------------------------------------------------

def _taps(inp, out):
    """ImageResize.Taps: (start, [weights]) per output index; area averaging down, bilinear up."""
    import numpy as np
    scale = inp / out
    taps = []
    if scale > 1:
        for i in range(out):
            lo = i * scale
            hi = min((i + 1) * scale, float(inp))
            first = min(int(math.floor(lo)), inp - 1)
            last = max(min(int(math.ceil(hi)) - 1, inp - 1), first)
            ws = [max(0.0, min(hi, j + 1.0) - max(lo, float(j))) for j in range(first, last + 1)]
            total = sum(ws)
            taps.append((first, [np.float32(w / total if total > 0 else 1 / len(ws)) for w in ws]))
    else:
        for i in range(out):
            centre = (i + 0.5) * scale - 0.5
            clamped = min(max(centre, 0.0), float(inp - 1))
            j0 = min(int(math.floor(clamped)), inp - 1)
            frac = clamped - j0
            if j0 + 1 < inp and frac > 0:
                taps.append((j0, [np.float32(1 - frac), np.float32(frac)]))
            else:
                taps.append((j0, [np.float32(1)]))
    return taps


def resize(pixels, width, height):
    """ImageResize.resize on an [H, W, C] uint8 array: rows then columns, Float32 sums in tap order,
    rounded by +0.5 and truncation, clamped to 0…255."""
    import numpy as np
    h, w, c = pixels.shape
    if (w, h) == (width, height):
        return pixels
    src = pixels.astype(np.float32)
    temp = np.zeros((h, width, c), dtype=np.float32)
    for x, (first, weights) in enumerate(_taps(w, width)):
        acc = np.zeros((h, c), dtype=np.float32)
        for t, weight in enumerate(weights):
            acc = acc + weight * src[:, first + t, :]
        temp[:, x, :] = acc
    out = np.zeros((height, width, c), dtype=np.float32)
    for y, (first, weights) in enumerate(_taps(h, height)):
        acc = np.zeros((width, c), dtype=np.float32)
        for t, weight in enumerate(weights):
            acc = acc + weight * temp[first + t]
        out[y] = acc
    return np.floor(np.clip(out + np.float32(0.5), 0, 255)).astype(np.uint8)


def letterbox(pixels, width, height):
    """ImageResize.letterbox: scale to fit (integer arithmetic, rounded), pad symmetrically (odd pixel
    bottom/right) with the rounded mean of the scaled image's pixels on the edges that touch the padding."""
    import numpy as np
    ih, iw, c = pixels.shape
    if iw * height >= ih * width:
        sw, sh = width, min(height, max(1, (2 * ih * width + iw) // (2 * iw)))
    else:
        sh, sw = height, min(width, max(1, (2 * iw * height + ih) // (2 * ih)))
    scaled = resize(pixels, sw, sh)
    if (sw, sh) == (width, height):
        return scaled
    sums, count = np.zeros(c, dtype=np.int64), 0
    if sh < height:
        sums += scaled[0].astype(np.int64).sum(0) + scaled[sh - 1].astype(np.int64).sum(0)
        count += 2 * sw
    if sw < width:
        sums += scaled[:, 0].astype(np.int64).sum(0) + scaled[:, sw - 1].astype(np.int64).sum(0)
        count += 2 * sh
    fill = (2 * sums + count) // (2 * count)
    out = np.empty((height, width, c), dtype=np.uint8)
    out[:, :] = fill.astype(np.uint8)
    left, top = (width - sw) // 2, (height - sh) // 2
    out[top:top + sh, left:left + sw] = scaled
    return out


def over(c, a, m):
    """PixelMath.over: (c·a + m·(255−a) + 127) / 255, integer."""
    import numpy as np
    c, a = c.astype(np.int32), a.astype(np.int32)
    return ((c * a + m * (255 - a) + 127) // 255).astype(np.uint8)


def luma(rgb):
    import numpy as np
    r, g, b = (rgb[..., k].astype(np.int32) for k in range(3))
    return ((299 * r + 587 * g + 114 * b + 500) // 1000).astype(np.uint8)[..., None]


def decode(path):
    """Pillow decode as close to ImageDecoder as Pillow allows: JPEG EXIF orientation applied (PNG eXIf
    not, as libpng's simplified API), alpha and tRNS composited onto white, gray sources kept gray,
    16-bit gray scaled v·255/65535 rounded. Returns [H, W, 1 or 3] uint8."""
    import numpy as np
    from PIL import Image, ImageOps
    image = Image.open(path)
    if image.format == "JPEG":
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        v = np.asarray(image).astype(np.int64)
        return ((v * 255 + 32767) // 65535).clip(0, 255).astype(np.uint8)[..., None]
    if mode == "1":
        image, mode = image.convert("L"), "L"
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "L" and "transparency" in image.info:
        image = image.convert("LA")
    elif mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, …: Pillow's own conversion (may differ from ours)
    a = np.asarray(image)
    if image.mode == "L":
        return a[..., None]
    if image.mode == "LA":
        return over(a[..., 0], a[..., 1], 255)[..., None]
    if image.mode == "RGBA":
        return np.stack([over(a[..., k], a[..., 3], 255) for k in range(3)], axis=-1)
    return a


def conform(pixels, working):
    """Preprocessing.conform: letterbox when the size differs, then 1 (BT.601 luma) or 3 (gray
    replicated) channels."""
    import numpy as np
    w, h, c = working["width"], working["height"], working["channels"]
    if pixels.shape[:2] != (h, w):
        if working.get("resized") and working.get("fit") == "center_crop":
            raise SystemExit("this dataset's working resolution uses the old centre crop; not reproduced here")
        pixels = letterbox(pixels, w, h)
    if pixels.shape[2] != c:
        pixels = np.repeat(pixels, 3, axis=2) if c == 3 else luma(pixels)
    return pixels


def cmd_prepare(args):
    import numpy as np
    split = json.load(open(args.split))
    working = split["working"]
    cache = read_cache(split["cache"])
    r = cache["header"]["resolution"]
    cached = np.frombuffer(cache["pixels"], dtype=np.uint8).reshape(-1, r["height"], r["width"], r["channels"])
    arrays, identical, differing, max_diff = {}, 0, 0, 0
    started = time.time()
    for name, key in (("TRAIN", "train"), ("VALIDATION", "val"), ("TEST", "test")):
        examples = split[name]
        x = np.empty((len(examples), working["height"], working["width"], working["channels"]), dtype=np.uint8)
        for i, e in enumerate(examples):
            x[i] = conform(decode(e["path"]), working)
            ours = cached[e["cache_index"]]
            if np.array_equal(x[i], ours):
                identical += 1
            else:
                differing += 1
                max_diff = max(max_diff, int(np.abs(x[i].astype(np.int16) - ours.astype(np.int16)).max()))
        arrays[f"x_{key}"] = x
        arrays[f"y_{key}"] = np.array([e["label"] for e in examples])
    np.savez(args.out, **arrays)
    stats = {"images": identical + differing, "identical_to_ours": identical, "differing": differing,
             "max_abs_difference": max_diff, "seconds": time.time() - started}
    json.dump(stats, open(args.out + ".json", "w"))
    print(f"prepare: {identical + differing} images with Pillow in {stats['seconds']:.1f} s; {identical} identical to our "
          f"cache's pixels, {differing} differ (largest difference {max_diff}/255)", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------
# AutoKeras
# ---------------------------------------------------------------------------------------------------

# AutoKeras 3's ImageClassifier starts its greedy search from three trials (autokeras/tuners/
# task_specific.py): a small vanilla CNN, a ResNet-50 resized to 224×224 and an EfficientNet-B7 with
# ImageNet weights. The search space here is ImageBlock(block_type="vanilla") and the first trial is
# the ImageClassifier's own first trial; the greedy tuner then mutates around the best trial within
# the vanilla ConvBlock (kernel, blocks, layers, filters, separable, max-pooling, dropout), the
# preprocessing (normalisation, augmentation and its factors), the head (flatten or global pooling,
# dropout) and the optimiser and learning rate.
VANILLA_FIRST_TRIAL = {
    "image_block_1/normalize": True,
    "image_block_1/augment": False,
    "image_block_1/conv_block_1/kernel_size": 3,
    "image_block_1/conv_block_1/num_blocks": 1,
    "image_block_1/conv_block_1/num_layers": 2,
    "image_block_1/conv_block_1/max_pooling": True,
    "image_block_1/conv_block_1/separable": False,
    "image_block_1/conv_block_1/dropout": 0.25,
    "image_block_1/conv_block_1/filters_0_0": 32,
    "image_block_1/conv_block_1/filters_0_1": 64,
    "classification_head_1/spatial_reduction_1/reduction_type": "flatten",
    "classification_head_1/dropout": 0.5,
    "optimizer": "adam",
    "learning_rate": 1e-3,
}


def cmd_ak_run(args):
    """One AutoKeras run (inside the venv), timed from outside by /usr/bin/time: search of max_trials
    trials of `epochs` epochs each (AutoKeras's EarlyStopping, patience 10, on val_loss), then
    AutoKeras's own final fit of the best trial's hyperparameters for `epochs` epochs, then TEST."""
    started = time.time()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    import keras
    import autokeras as ak
    from autokeras.tuners import greedy, task_specific
    keras.utils.set_random_seed(args.seed)
    data = np.load(args.data)
    x_train, y_train = data["x_train"].astype("float32") / 255, data["y_train"]
    x_val, y_val = data["x_val"].astype("float32") / 255, data["y_val"]
    x_test, y_test = data["x_test"].astype("float32") / 255, data["y_test"]
    first = {k: v for k, v in task_specific.IMAGE_CLASSIFIER[0].items() if k != "image_block_1/block_type"}
    if first != VANILLA_FIRST_TRIAL:
        print("ak-run: note: this AutoKeras's ImageClassifier first trial differs from the one this script was "
              "written against; the installed one is used", file=sys.stderr)

    class VanillaFirst(greedy.Greedy):
        """AutoKeras's greedy tuner (ImageClassifier's), starting from ImageClassifier's first trial."""
        def __init__(self, **kwargs):
            super().__init__(initial_hps=[first], **kwargs)

    input_node = ak.ImageInput()
    output_node = ak.ImageBlock(block_type="vanilla")(input_node)
    output_node = ak.ClassificationHead()(output_node)
    model = ak.AutoModel(inputs=input_node, outputs=output_node, tuner=VanillaFirst, max_trials=args.max_trials,
                         seed=args.seed, overwrite=True, directory=args.workdir, project_name="peers")
    loaded = time.time()
    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs, verbose=2)
    fitted = time.time()
    predicted = np.asarray(model.predict(x_test, verbose=0)).reshape(-1)
    done = time.time()
    correct = "".join("1" if str(p) == str(t) else "0" for p, t in zip(predicted, y_test))
    trials = []
    for trial in sorted(model.tuner.oracle.trials.values(), key=lambda t: (len(t.trial_id), t.trial_id)):
        hps = trial.hyperparameters
        values = {hp.name: hps.values[hp.name] for hp in hps.space if hp.name in hps.values and hps.is_active(hp)}
        trials.append({"id": trial.trial_id, "status": str(trial.status), "val_loss": trial.score,
                       "epochs_run": (trial.best_step + 1) if trial.best_step is not None else None,
                       "hyperparameters": {k.replace("image_block_1/", "").replace("classification_head_1/", "head/"): v
                                           for k, v in values.items()}})
    best = model.tuner.oracle.get_best_trials(1)
    exported = model.export_model()
    result = {"epochs": args.epochs, "max_trials": args.max_trials, "seed": args.seed, "test_accuracy": correct.count("1") / max(1, len(correct)),
              "test_correct": correct, "seconds": {"imports_and_load": loaded - started, "fit": fitted - loaded,
                                                   "predict_test": done - fitted},
              "trials": trials, "best_trial": best[0].trial_id if best else None, "parameters": int(exported.count_params()),
              "versions": {"autokeras": ak.__version__, "keras": keras.__version__, "torch": torch.__version__,
                           "numpy": np.__version__}, "threads": torch.get_num_threads()}
    json.dump(result, open(args.out, "w"))
    print(f"ak-run: {args.epochs} epochs × {args.max_trials} trials + final fit: TEST {100 * result['test_accuracy']:.2f} % "
          f"(fit {fitted - loaded:.1f} s)", file=sys.stderr)


def next_plan(attempts, target, low, high, base_trials):
    """The next (epochs, max_trials) to run, or None. Epochs first, at base_trials: 1, then the
    proportional estimate (target − fixed) / (wall − fixed) × epochs, then one step at a time. When E
    epochs end below the band and E + 1 above it, more trials at E epochs (each adds about one
    (trials + 1)-th of that run's training time) until the band is reached or bracketed again."""
    tried = {(a["epochs"], a["max_trials"]): a for a in attempts}
    last = attempts[-1]

    def proportional(a, scale_of):
        return max(1, round(scale_of * (target - a["fixed_seconds"]) / max(1e-6, a["wall_seconds"] - a["fixed_seconds"])))

    base = sorted((a for a in attempts if a["max_trials"] == base_trials), key=lambda a: a["epochs"])
    below = [a for a in base if a["wall_seconds"] < low]
    above = [a for a in base if a["wall_seconds"] > high]
    if above and above[0]["epochs"] == 1:
        return None  # one epoch of max_trials ≥ 3 trials is already too long
    bracketed = below and above and max(a["epochs"] for a in below) + 1 == min(a["epochs"] for a in above)
    if not bracketed:
        if last["max_trials"] != base_trials:
            return None
        epochs = proportional(last, last["epochs"])
        if below:
            epochs = max(epochs, max(a["epochs"] for a in below) + 1)
        if above:
            epochs = min(epochs, min(a["epochs"] for a in above) - 1)
        return None if (epochs, base_trials) in tried or epochs < 1 else (epochs, base_trials)
    epochs = max(a["epochs"] for a in below)
    runs = sorted((a for a in attempts if a["epochs"] == epochs), key=lambda a: a["max_trials"])
    short = [a for a in runs if a["wall_seconds"] < low]
    long = [a for a in runs if a["wall_seconds"] > high]
    if long and short and max(a["max_trials"] for a in short) + 1 >= min(a["max_trials"] for a in long):
        return None
    ref = max(short, key=lambda a: a["max_trials"])
    trials = proportional(ref, ref["max_trials"] + 1) - 1  # (trials + 1) trainings of `epochs` epochs
    trials = max(trials, ref["max_trials"] + 1)
    if long:
        trials = min(trials, min(a["max_trials"] for a in long) - 1)
    return None if (epochs, trials) in tried else (epochs, trials)


def cmd_autokeras(args):
    """AutoKeras side by side: choose `epochs` so that the whole AutoKeras process's wall time is within
    ±tolerance of our search's whole process (measured in this same run), by measurement:
      1. a probe run at 1 epoch (the whole process: imports, search, final fit, TEST predictions);
      2. epochs = round((target − fixed) / (probe − fixed)), where `fixed` is the probe's time outside
         fit (imports, loading, predicting), so probe − fixed is its training time per epoch;
      3. rerun with the proportional correction epochs × (target − fixed) / (wall − fixed) until the
         wall time is inside the band; when E epochs fall short and E + 1 overshoot, more trials
         (max_trials > 3) at E epochs fill the gap (`next_plan`); at most max_attempts runs.
    Only wall time steers the choice (never an accuracy); the run kept is the first inside the band,
    else the closest (flagged within_tolerance: false, e.g. when 1 epoch is already too long)."""
    split = json.load(open(args.split))
    ours = [json.loads(line) for line in open(args.results) if line.strip()]
    ours = [r for r in ours if r.get("group") == args.group and r.get("system") == "search"]
    if not ours or ours[-1].get("wall_seconds") is None:
        raise SystemExit("autokeras: no search run of this group in the results file to match")
    search = ours[-1]
    target = search["wall_seconds"]
    low, high = (1 - args.tolerance) * target, (1 + args.tolerance) * target
    attempts, plan = [], (1, args.max_trials)
    print(f"autokeras: target wall time {target:.1f} s (our search), band {low:.1f}–{high:.1f} s", file=sys.stderr)
    while plan is not None:
        epochs, trials = plan
        tag = f"e{epochs}t{trials}"
        out, timing, log = (os.path.join(args.workdir, f"ak-{tag}.{ext}") for ext in ("json", "time", "log"))
        env = dict(os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        with open(log, "w") as stderr:
            subprocess.run(["/usr/bin/time", "-v", "-o", timing, args.python, os.path.abspath(__file__), "ak-run",
                            "--data", args.data, "--epochs", str(epochs), "--max-trials", str(trials),
                            "--seed", str(args.seed), "--threads", str(args.threads),
                            "--workdir", os.path.join(args.workdir, f"ak-{tag}"), "--out", out],
                           stdout=stderr, stderr=subprocess.STDOUT, env=env)
        wall, rss, status = parse_time_v(timing)
        if status != 0 or not os.path.exists(out):
            raise SystemExit(f"autokeras: the run at {epochs} epochs, {trials} trials failed (exit {status}); see {log}")
        result = json.load(open(out))
        fixed = result["seconds"]["imports_and_load"] + result["seconds"]["predict_test"] + max(
            0.0, wall - sum(result["seconds"].values()))
        inside = low <= wall <= high
        attempts.append({"epochs": epochs, "max_trials": trials, "wall_seconds": wall, "peak_rss_bytes": rss,
                         "fit_seconds": result["seconds"]["fit"], "fixed_seconds": fixed, "within": inside, "result": result})
        print(f"autokeras: {epochs} epochs, {trials} trials: {wall:.1f} s ({'inside' if inside else 'outside'} the band)",
              file=sys.stderr)
        if inside or len(attempts) >= args.max_attempts:
            break
        plan = next_plan(attempts, target, low, high, args.max_trials)
    inside = [a for a in attempts if a["within"]]
    kept = inside[0] if inside else min(attempts, key=lambda a: abs(a["wall_seconds"] - target))
    result = kept["result"]
    record = base_record(args, split, "autokeras")
    record.update({"wall_seconds": kept["wall_seconds"], "peak_rss_bytes": kept["peak_rss_bytes"], "exit_status": 0,
                   "test_accuracy": result["test_accuracy"], "test_correct": result["test_correct"],
                   "majority_baseline": search.get("majority_baseline"), "epochs": result["epochs"],
                   "max_trials": result["max_trials"], "seed": result["seed"], "trials": result["trials"],
                   "best_trial": result["best_trial"], "parameters": result["parameters"], "versions": result["versions"],
                   "threads": result["threads"], "seconds": result["seconds"], "target_wall_seconds": target,
                   "tolerance": args.tolerance, "within_tolerance": kept["within"],
                   "epochs_attempts": [{k: a[k] for k in ("epochs", "max_trials", "wall_seconds", "fit_seconds", "within")} | {
                       "test_accuracy": a["result"]["test_accuracy"]} for a in attempts],
                   "search_space": "ImageInput → ImageBlock(block_type='vanilla') → ClassificationHead; greedy tuner from "
                                   "ImageClassifier's first trial; no pretrained weights",
                   "pixels": json.load(open(args.data + ".json")) if os.path.exists(args.data + ".json") else None})
    append(args.results, record)
    print(f"autokeras: kept {result['epochs']} epochs × {result['max_trials']} trials: TEST {100 * result['test_accuracy']:.2f} % "
          f"in {kept['wall_seconds']:.0f} s (ours {target:.0f} s"
          f"{'' if kept['within'] else '; OUTSIDE the ±' + format(args.tolerance, '.0%') + ' band'})", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------

def paired_margin(a, b, resamples=2000, seed=19):
    """Mean and bootstrap standard error of accuracy(a) − accuracy(b) over the same TEST examples:
    resampling examples with replacement is drawing the counts of (a right, b wrong), (both equal),
    (a wrong, b right) from a multinomial, which is what this does (numpy), or the same standard
    error in closed form without numpy."""
    n = len(a)
    plus = sum(1 for x, y in zip(a, b) if x == "1" and y == "0")
    minus = sum(1 for x, y in zip(a, b) if x == "0" and y == "1")
    margin = (plus - minus) / n
    try:
        import numpy as np
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, [plus / n, minus / n, 1 - (plus + minus) / n], size=resamples)
        se = float(np.std((draws[:, 0] - draws[:, 1]) / n, ddof=1))
        method = "paired bootstrap"
    except ImportError:
        p, m = plus / n, minus / n
        se = math.sqrt(max(0.0, p + m - (p - m) ** 2) / n)
        method = "paired, closed form"
    return margin, se, method


def margin_between(x, y):
    if x is None or y is None or x.get("test_accuracy") is None or y.get("test_accuracy") is None:
        return None
    if (x.get("test_correct") and y.get("test_correct") and x.get("test_lines_sha256") == y.get("test_lines_sha256")
            and len(x["test_correct"]) == len(y["test_correct"])):
        return paired_margin(x["test_correct"], y["test_correct"])
    a, b, n = x["test_accuracy"], y["test_accuracy"], x["test_examples"]
    return a - b, math.sqrt(a * (1 - a) / n + b * (1 - b) / n), "two-proportion bound"


def cell(record):
    if record is None:
        return "—"
    if record.get("test_accuracy") is None or record.get("wall_seconds") is None:
        return f"failed ({record.get('state')})"
    text = f"{100 * record['test_accuracy']:.2f} % · {record['wall_seconds']:.0f} s · {record['peak_rss_bytes'] / 2**20:.0f} MiB"
    if record["system"] == "autokeras":
        text += f" · {record['epochs']} ep × {record['max_trials']} trials{'' if record.get('within_tolerance') else ' (time off band)'}"
    return text


def cmd_table(args):
    path = args.file
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no results yet")
    records = [json.loads(line) for line in open(path) if line.strip()]
    groups = {}
    for r in records:
        if r.get("bench") == "peers" and (not args.groups or r.get("group") in args.groups):
            groups.setdefault(r["group"], {})[r["system"]] = r  # the last line of a system wins
    header = ["dataset", "budget", "search", "vgg-bn", "resnet", "small", "AutoKeras", "majority", "search − best start",
              "search − AutoKeras"]
    rows = []
    for group, runs in groups.items():
        any_run = next(iter(runs.values()))
        search = runs.get("search")
        starts = [runs[s] for s in ("vgg-bn", "resnet", "small") if s in runs and runs[s].get("test_accuracy") is not None]
        best = max(starts, key=lambda r: r["test_accuracy"]) if starts else None
        majority = next((r.get("majority_baseline") for r in runs.values() if r.get("majority_baseline") is not None), None)
        margins = []
        for other, name in ((best, best["system"] if best else None), (runs.get("autokeras"), None)):
            m = margin_between(search, other)
            margins.append("—" if m is None else f"{100 * m[0]:+.2f} ± {100 * m[1]:.2f}" + (f" ({name})" if name else ""))
        rows.append([f"{any_run['dataset']} ({any_run['test_examples']} TEST)", any_run["budget"], cell(search),
                     *[cell(runs.get(s)) for s in ("vgg-bn", "resnet", "small", "autokeras")],
                     "—" if majority is None else f"{100 * majority:.2f} %", *margins])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nCells: TEST accuracy · wall time of the whole process · peak RSS (AutoKeras: epochs per trial × trials). Margins in "
          "points ± standard error: paired bootstrap over the TEST examples (2,000 resamples) where both runs have "
          "per-example answers, else the two-proportion bound. The best start is picked on TEST, which flatters it.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("split")
    p.add_argument("jobs_dir"); p.add_argument("job"); p.add_argument("out")
    p.set_defaults(func=cmd_split)

    def common(p):
        p.add_argument("--split", required=True); p.add_argument("--results", required=True)
        p.add_argument("--group", required=True); p.add_argument("--dataset", required=True)
        p.add_argument("--budget", required=True)
    p = sub.add_parser("record"); common(p)
    p.add_argument("--system", required=True); p.add_argument("--summary", required=True); p.add_argument("--time", required=True)
    p.add_argument("--bin", required=True); p.add_argument("--jobs-dir", required=True)
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("prepare")
    p.add_argument("split"); p.add_argument("out")
    p.set_defaults(func=cmd_prepare)
    p = sub.add_parser("autokeras"); common(p)
    p.add_argument("--data", required=True); p.add_argument("--python", required=True); p.add_argument("--workdir", required=True)
    p.add_argument("--max-trials", type=int, default=3); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2); p.add_argument("--tolerance", type=float, default=0.15)
    p.add_argument("--max-attempts", type=int, default=4)
    p.set_defaults(func=cmd_autokeras)
    p = sub.add_parser("ak-run")
    p.add_argument("--data", required=True); p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--max-trials", type=int, default=3); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2); p.add_argument("--workdir", required=True); p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_ak_run)
    p = sub.add_parser("table")
    p.add_argument("file", nargs="?", default="docs/benchmarks/peers.jsonl")
    p.add_argument("--groups", nargs="*", help="only these runs of the script (group ids)")
    p.set_defaults(func=cmd_table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
