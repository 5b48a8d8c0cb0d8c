"""What every dataset builder of the suite shares: the files and versions of Debian packages,
deterministic subsampling and partitioning, writing a manifest, and the two checksums.

Nothing here draws from a global random state: a subsample is the items ranked by a keyed SHA-256
(`rank`), so adding or removing one source file moves only that file, and the same packages give
the same dataset on every run and machine.
"""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SETS = ("TRAIN", "VALIDATION", "TEST")


def package_files(package, suffixes):
    """The regular files (not symbolic links) that `package` installed, ending with one of
    `suffixes` (lower-case), sorted. Raises if the package is not installed."""
    out = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"package {package} is not installed: {out.stderr.strip()}")
    paths = (line for line in out.stdout.splitlines() if line.lower().endswith(tuple(suffixes)))
    return sorted(p for p in paths if os.path.isfile(p) and not os.path.islink(p))


def package_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "not-installed"


def key(seed, *parts):
    """A stable 256-bit integer for `parts` under `seed` (SHA-256, not Python's salted hash)."""
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def rank(items, seed, name=str):
    """`items` in a pseudo-random order fixed by `seed` and each item's `name` alone."""
    return sorted(items, key=lambda item: (key(seed, name(item)), name(item)))


def subsample(items, count, seed, name=str):
    """`count` of `items` (all when there are fewer), chosen by `rank`, in their original order."""
    order = sorted(range(len(items)), key=lambda i: (key(seed, name(items[i])), name(items[i])))
    chosen = set(order[:count])
    return [item for i, item in enumerate(items) if i in chosen]


def assign_groups(group_sizes, seed, fractions=(0.8, 0.1, 0.1)):
    """Partition by group: each group (a font package, an icon name) goes whole into TRAIN,
    VALIDATION or TEST, so near-duplicates never straddle two partitions. Groups are taken in a
    seeded order and each goes where the image count is furthest below its share.
    Returns {group: set}."""
    total = sum(group_sizes.values())
    counts = dict.fromkeys(SETS, 0)
    assignment = {}
    for group in rank(sorted(group_sizes), seed):
        deficit = {s: f * total - counts[s] for s, f in zip(SETS, fractions)}
        target = max(SETS, key=lambda s: deficit[s])  # ties: the first of SETS
        assignment[group] = target
        counts[target] += group_sizes[group]
    return assignment


def fresh_dir(path):
    """An empty folder at `path` (anything there before is removed)."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def write_manifest(folder, rows):
    """manifest.csv in `folder`: rows (set or None, relative path, label), sorted by path, no header.
    Paths and labels are plain (no commas or quotes), checked here."""
    rows = sorted(rows, key=lambda r: r[1])
    lines = []
    for set_name, path, label in rows:
        for field in (path, label):
            if any(c in field for c in ',"\r\n') or field != field.strip():
                raise ValueError(f"field needs quoting: {field!r}")
        lines.append(",".join(([set_name] if set_name else []) + [path, label]))
    (Path(folder) / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def digests(folder):
    """(SHA-256 of manifest.csv, SHA-256 of every image's bytes concatenated in manifest order,
    number of rows)."""
    folder = Path(folder)
    manifest = (folder / "manifest.csv").read_bytes()
    images = hashlib.sha256()
    rows = manifest.decode().splitlines()
    for line in rows:
        path = line.split(",")[-2]
        images.update((folder / path).read_bytes())
    return hashlib.sha256(manifest).hexdigest(), images.hexdigest(), len(rows)
