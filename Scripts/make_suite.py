#!/usr/bin/env python3
"""Builds AutoVision's dataset suite (Datasets/README.md) from Debian packages and PyPI wheels, and
checks each dataset against the SHA-256 recorded in Datasets/suite.sha256. Run it through
Scripts/make-suite.sh, which installs the Debian packages and the pinned venv first.

    make_suite.py build [--record] [NAME ...]   build the named sets (default: all) into Datasets/NAME
    make_suite.py packages [NAME ...]           the Debian packages the named sets need, one a line

A dataset is built in Datasets/.NAME.partial and then replaces Datasets/NAME. Its checksums are of
manifest.csv, and of every image's bytes concatenated in manifest order. When they differ from the
recorded ones, the build says so, names the packages whose versions differ from the recorded build,
keeps the new dataset and exits 3; `--record` writes the new checksums instead (commit them).
"""
import argparse
import hashlib
import importlib.metadata
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from suite import common, desktop_art, digits, icons, letters, multi_shapes

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "Datasets"
CHECKSUMS = DATASETS / "suite.sha256"
MODULES = {m.NAME: m for m in (letters, icons, digits, desktop_art, multi_shapes)}
PYPI = ("pillow", "numpy", "scikit-learn")
HEADER = """\
# Expected SHA-256 of each dataset Scripts/make-suite.sh builds: of its manifest.csv, and of all its
# images' bytes concatenated in manifest order; then its image count and what it was built from
# (PyPI and Debian package versions). `Scripts/make-suite.sh --record NAME` rewrites a line.
# name manifest-sha256 images-sha256 images sources...
"""


def sources(module):
    """{package: version} of everything that decides the dataset's bytes."""
    found = {name: importlib.metadata.version(name) for name in PYPI}
    found.update({package: common.package_version(package) for package in module.PACKAGES})
    return found


def read_checksums():
    """{name: (manifest sha, images sha, count, {package: version})} of Datasets/suite.sha256."""
    recorded = {}
    if CHECKSUMS.exists():
        for line in CHECKSUMS.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, manifest, images, count, *built_from = line.split()
                recorded[name] = (manifest, images, int(count), dict(s.split("=", 1) for s in built_from))
    return recorded


def write_checksums(recorded):
    lines = [" ".join([name, m, i, str(n), *(f"{k}={v}" for k, v in srcs.items())])
             for name, (m, i, n, srcs) in sorted(recorded.items())]
    CHECKSUMS.write_text(HEADER + "\n".join(lines) + "\n")


def row_labels(label):
    """A row's labels: a multi-label set's rows carry a tuple of them, the others one string."""
    return (label,) if isinstance(label, str) else tuple(label)


def write_manifest(folder, rows):
    """common.write_manifest, or for a multi-label set's rows (set, path, (label, ...)) the lines
    `SET,path,label1,label2,...`, checked, sorted and written the same way."""
    if all(isinstance(label, str) for _, _, label in rows):
        return common.write_manifest(folder, rows)
    rows = sorted(rows, key=lambda r: r[1])
    lines = []
    for set_name, path, labels in rows:
        if set_name not in common.SETS:
            raise ValueError(f"a multi-label row needs a set column: {path}")
        for field in (path, *labels):
            if not field or any(c in field for c in ',"\r\n') or field != field.strip():
                raise ValueError(f"field needs quoting or is empty: {field!r}")
        lines.append(",".join([set_name, path, *labels]))
    (Path(folder) / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def digests(folder, multi_label):
    """common.digests; a multi-label manifest's image path is its second field (the set column is
    always written there), not its second-last."""
    if not multi_label:
        return common.digests(folder)
    folder = Path(folder)
    manifest = (folder / "manifest.csv").read_bytes()
    images = hashlib.sha256()
    rows = manifest.decode().splitlines()
    for line in rows:
        images.update((folder / line.split(",")[1]).read_bytes())
    return hashlib.sha256(manifest).hexdigest(), images.hexdigest(), len(rows)


def statistics(folder, rows):
    """A one-paragraph summary of a built dataset (also the numbers of Datasets/README.md)."""
    labels = Counter(label for _, _, field in rows for label in row_labels(field))
    sets = Counter(s or "none (auto split)" for s, _, _ in rows)
    sizes = []
    for _, path, _ in rows:
        with Image.open(folder / path) as image:
            sizes.append(image.size)
    widths, heights = [w for w, _ in sizes], [h for _, h in sizes]
    megabytes = sum((folder / p).stat().st_size for _, p, _ in rows) / 1e6
    largest, smallest = labels.most_common()[0], labels.most_common()[-1]
    summary = (f"{len(rows):,} images, {len(labels)} classes ({largest[0]} {largest[1]:,} … {smallest[0]} "
               f"{smallest[1]:,}: {largest[1] / smallest[1]:.1f}:1), width {min(widths)}–{max(widths)} px, "
               f"height {min(heights)}–{max(heights)} px, {len(set(sizes))} distinct sizes, {megabytes:.1f} MB; "
               f"sets: " + ", ".join(f"{s} {n:,}" for s, n in sorted(sets.items())))
    if all(isinstance(field, str) for _, _, field in rows):
        return summary
    cardinality = Counter(len(row_labels(field)) for _, _, field in rows)
    order = [label for label, _ in labels.most_common()]
    lines = [summary.replace(" classes (", " labels ("),
             "  labels per image: " + ", ".join(f"{k}: {n:,}" for k, n in sorted(cardinality.items()))
             + f" (mean {sum(k * n for k, n in cardinality.items()) / len(rows):.2f}); "
             + f"{len({row_labels(f) for _, _, f in rows})} label combinations",
             "  images with each label".ljust(30) + "".join(label.rjust(15) for label in order)]
    for set_name in sorted(sets, key=lambda s: common.SETS.index(s) if s in common.SETS else 9):
        counted = Counter(label for s, _, field in rows if (s or "none (auto split)") == set_name
                          for label in row_labels(field))
        lines.append(f"  {set_name} {sets[set_name]:,}".ljust(30) + "".join(
            f"{counted[label]:>7,} {100 * counted[label] / sets[set_name]:5.1f} %" for label in order))
    lines.append(f"  all {len(rows):,}".ljust(30) + "".join(
        f"{labels[label]:>7,} {100 * labels[label] / len(rows):5.1f} %" for label in order))
    return "\n".join(lines)


def write_sources(folder, module, found):
    text = [f"{module.NAME}: built by Scripts/make-suite.sh from (licences: /usr/share/doc/PKG/copyright;",
            "see Scripts/suite/*.py for the selection):"]
    text += [f"  {package} {version}" for package, version in found.items()]
    (folder / "SOURCES.txt").write_text("\n".join(text) + "\n")


def compare(name, got, recorded):
    """Lines saying how `got` differs from the recorded checksums (none when it matches)."""
    if name not in recorded:
        return [f"  no checksums recorded for {name} in {CHECKSUMS.relative_to(ROOT)}"]
    manifest, images, count, built_from = recorded[name]
    problems = []
    if got[0] != manifest:
        problems.append(f"  manifest.csv sha256 expected {manifest}\n                      got      {got[0]}")
    if got[1] != images:
        problems.append(f"  images sha256       expected {images}\n                      got      {got[1]}")
    if got[2] != count:
        problems.append(f"  images: expected {count:,}, got {got[2]:,}")
    if problems:
        changed = [f"{p} {v} (recorded {built_from.get(p, 'none')})" for p, v in got[3].items() if built_from.get(p) != v]
        problems.append("  sources that differ from the recorded build: " + (", ".join(changed) or "none"))
    return problems


def build(name, record, recorded):
    module = MODULES[name]
    started = time.monotonic()
    partial = common.fresh_dir(DATASETS / f".{name}.partial")
    rows = write_manifest(partial, module.build(partial))
    found = sources(module)
    write_sources(partial, module, found)
    final = DATASETS / name
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    manifest_sha, images_sha, count = digests(final, getattr(module, "MULTI_LABEL", False))
    summary, _, table = statistics(final, rows).partition("\n")  # a multi-label set adds a table
    print(f"{name}: {summary}; built in {time.monotonic() - started:.1f} s" + (f"\n{table}" if table else ""))
    got = (manifest_sha, images_sha, count, found)
    problems = compare(name, got, recorded)
    if record:
        recorded[name] = got
        write_checksums(recorded)
        print(f"{name}: checksums recorded in {CHECKSUMS.relative_to(ROOT)}")
        return True
    if problems:
        print(f"{name}: CHECKSUMS DIFFER from {CHECKSUMS.relative_to(ROOT)} (the dataset was written anyway):")
        print("\n".join(problems))
        print(f"  if the change is intended, record it: Scripts/make-suite.sh --record {name}")
        return False
    print(f"{name}: checksums match {CHECKSUMS.relative_to(ROOT)} (manifest {manifest_sha[:16]}…, images {images_sha[:16]}…)")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "packages"])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--record", action="store_true", help="write the checksums instead of checking them")
    args = parser.parse_intermixed_args()
    unknown = [n for n in args.names if n not in MODULES]
    if unknown:
        parser.error(f"unknown dataset {', '.join(unknown)}; the suite has {', '.join(MODULES)}")
    names = args.names or list(MODULES)
    if args.command == "packages":
        print("\n".join(sorted({p for n in names for p in MODULES[n].PACKAGES})))
        return 0
    recorded = read_checksums()
    results = [build(name, args.record, recorded) for name in names]
    return 0 if all(results) else 3


if __name__ == "__main__":
    sys.exit(main())
