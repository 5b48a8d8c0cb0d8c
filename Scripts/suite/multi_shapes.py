"""multi-shapes: a synthetic multi-label set (AutoML Vision's MULTILABEL mode), 3,000 colour images of
64x64 pixels, each showing 1-3 different shapes out of 6 labels, and labelled with every shape it shows:
`SET,images/0042.png,circle,star`.

Source: drawn here with Pillow and numpy (pinned in requirements.txt; no Debian package, no
download), so it is ours to use (the project's licence). Each image has its own `random.Random`,
seeded with a SHA-256 of SEED and the image's index (`common.key`): no global random state, so every
run, and a rebuild of one image alone, writes the same bytes. (Python promises the same `random()`
sequence for a seed in every version, not the same randrange/uniform/shuffle/randbytes; these have
not changed from 3.9 to 3.13, and the recorded checksums were made with CPython 3.11.)

Labels, in the order a row lists them, and the images showing each (of 3,000; the builder prints
them per partition, where each is within a point of these):

    circle 1,374 (45.8 %), square 1,030 (34.3 %), triangle 768 (25.6 %), star 540 (18.0 %),
    cross 445 (14.8 %), ring 317 (10.6 %)

Each label is present independently with probability PRESENCE, all drawn again until 1-3 are; so
conditioned, the presences aim at 45, 34, 26, 19, 14 and 10 %. 1,766 images have one label, 994
two and 240 three (mean 1.49), in 40 of the 41 possible combinations. Then each shape gets a
colour far from the background's and from the other shapes' (Euclidean RGB distance ≥ 150 and ≥ 90),
a size (circumradius 12-24 px alone, 10-18 with two, 9-15 with three), a rotation (square,
triangle, star, cross) and a position fully inside the image, at least 0.85 x the sum of the two
radii from every other shape's centre, so shapes overlap a little at most and each stays
recognisable. A ring is an outline (its hole shows what is under it); a cross is a plus sign, rotated.
Shapes are drawn at 4x (256x256) and reduced by box averaging (antialiased edges), on a background of
one random colour; then light noise, uniform within ±3 to ±10 per channel (an amount per image), is
added to every pixel from the image's own generator (not Pillow's effect_noise, which draws from C's
global rand()). RGB PNG.

Partitions: 80/10/10 TRAIN/VALIDATION/TEST, stratified by label combination (images of one
combination in a seeded order, each to the partition furthest below its share of that combination,
ties to the one furthest below its share overall), so every label has about the same prevalence in
each partition and a label's TRAIN prevalence is a fair constant-score baseline on TEST.

Why it is in the suite: multi-label classification (issue 24): several labels per image, so a
sigmoid per label with a threshold each, not a softmax; labels from 45 % down to 10 % of the images,
so per-label prevalence, average precision and the best threshold differ between labels, and
circle/ring, star/cross pairs are easy to confuse at this size. Import with
`autovision import --multi-label Datasets/multi-shapes/manifest.csv`.
"""
import math
import random
from collections import defaultdict

import numpy as np
from PIL import Image, ImageDraw

from . import common

NAME = "multi-shapes"
PACKAGES = []  # everything comes from the Pillow and numpy wheels
MULTI_LABEL = True

SEED = "multi-shapes-1"
COUNT = 3000
SIZE = 64
SCALE = 4  # drawn at SIZE x SCALE, then box-averaged down
# Label: probability of being present before the 1-3 condition (→ 45 % … 10 % of the images).
PRESENCE = {"circle": 0.316, "square": 0.240, "triangle": 0.184, "star": 0.136, "cross": 0.100, "ring": 0.072}
LABELS = tuple(PRESENCE)
RADIUS = {1: (12, 24), 2: (10, 18), 3: (9, 15)}  # circumradius in output pixels, by shape count
SPACING = 0.85  # centres at least this x (r1 + r2) apart
BACKGROUND_DISTANCE, SHAPE_DISTANCE = 150, 90
NOISE = (3, 10)  # per-image amplitude range of the uniform noise, per channel


def draw_labels(rng):
    while True:
        labels = [label for label in LABELS if rng.random() < PRESENCE[label]]
        if 1 <= len(labels) <= 3:
            return labels


def distance(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def pick_colour(rng, background, others):
    """A colour far enough from the background and the other shapes' (the farthest of 200 tries
    otherwise)."""
    best, best_score = None, -1.0
    for _ in range(200):
        colour = tuple(rng.randrange(256) for _ in range(3))
        score = min(distance(colour, background) / BACKGROUND_DISTANCE,
                    *(distance(colour, o) / SHAPE_DISTANCE for o in others), 2.0)
        if score >= 1.0:
            return colour
        if score > best_score:
            best, best_score = colour, score
    return best


def place(rng, count):
    """[(cx, cy, r)] for `count` shapes, inside the image and apart (radii shrink until they fit)."""
    low, high = RADIUS[count]
    radii = [rng.uniform(low, high) for _ in range(count)]
    while True:
        for _ in range(200):
            shapes = []
            for r in radii:
                cx, cy = rng.uniform(r + 1, SIZE - 1 - r), rng.uniform(r + 1, SIZE - 1 - r)
                if all(math.hypot(cx - x, cy - y) >= SPACING * (r + q) for x, y, q in shapes):
                    shapes.append((cx, cy, r))
                else:
                    break
            if len(shapes) == count:
                return shapes
        radii = [r * 0.9 for r in radii]


def polygon(cx, cy, radii, angle):
    """Points at the given radii, evenly spaced around (cx, cy) from `angle`."""
    step = 2 * math.pi / len(radii)
    return [(cx + r * math.cos(angle + k * step), cy + r * math.sin(angle + k * step)) for k, r in enumerate(radii)]


def draw_shape(d, label, cx, cy, r, angle, colour):
    """One shape of circumradius r (in drawing pixels) on the ImageDraw `d`."""
    if label == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif label == "ring":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=round(0.42 * r))
    elif label == "square":
        d.polygon(polygon(cx, cy, [0.95 * r] * 4, angle), fill=colour)
    elif label == "triangle":
        d.polygon(polygon(cx, cy, [r] * 3, angle), fill=colour)
    elif label == "star":
        d.polygon(polygon(cx, cy, [r, 0.42 * r] * 5, angle), fill=colour)
    elif label == "cross":  # a plus sign: arms of half-width w reaching r from the centre, rotated
        w = 0.3 * r
        outline = [(r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w),
                   (-r, w), (-r, -w), (-w, -w), (-w, -r), (w, -r), (w, -w)]
        c, s = math.cos(angle), math.sin(angle)
        d.polygon([(cx + x * c - y * s, cy + x * s + y * c) for x, y in outline], fill=colour)
    else:
        raise ValueError(label)


def render(index):
    """(labels, RGB image) of image `index`; depends on nothing but the index."""
    rng = random.Random(common.key(SEED, "image", index))
    labels = draw_labels(rng)
    rng.shuffle(labels)  # drawing order
    background = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (SIZE * SCALE, SIZE * SCALE), background)
    d = ImageDraw.Draw(image)
    colours = []
    for label, (cx, cy, r) in zip(labels, place(rng, len(labels))):
        colour = pick_colour(rng, background, colours)
        colours.append(colour)
        draw_shape(d, label, cx * SCALE, cy * SCALE, r * SCALE, rng.uniform(0, 2 * math.pi), colour)
    image = image.resize((SIZE, SIZE), Image.Resampling.BOX)
    amplitude = rng.randint(*NOISE)
    noise = np.frombuffer(rng.randbytes(SIZE * SIZE * 3), dtype=np.uint8).astype(np.int16)
    noise = (noise * (2 * amplitude + 1)) // 256 - amplitude  # uniform integers in ±amplitude
    pixels = np.asarray(image, dtype=np.int16) + noise.reshape(SIZE, SIZE, 3)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return tuple(label for label in LABELS if label in labels), image


def partition(combinations):
    """{index: set}: 80/10/10, stratified by label combination (see the module docstring)."""
    fractions = dict(zip(common.SETS, (0.8, 0.1, 0.1)))
    by_combination = defaultdict(list)
    for index, combination in enumerate(combinations):
        by_combination[combination].append(index)
    overall = dict.fromkeys(common.SETS, 0)
    assignment = {}
    for combination in sorted(by_combination):
        indices = common.rank(by_combination[combination], SEED, name=lambda i: f"{i:05d}")
        counts = dict.fromkeys(common.SETS, 0)
        for placed, index in enumerate(indices):
            done = sum(overall.values())
            target = max(common.SETS, key=lambda s: (round(fractions[s] * (placed + 1) - counts[s], 9),
                                                     fractions[s] * (done + 1) - overall[s]))
            assignment[index] = target
            counts[target] += 1
            overall[target] += 1
    return assignment


def build(out):
    """Writes the images and returns the manifest rows [(set, path, (label, …))]."""
    (out / "images").mkdir(parents=True)
    combinations = []
    for index in range(COUNT):
        labels, image = render(index)
        image.save(out / f"images/{index:04d}.png", format="PNG")
        combinations.append(labels)
    sets = partition(combinations)
    return [(sets[i], f"images/{i:04d}.png", labels) for i, labels in enumerate(combinations)]
