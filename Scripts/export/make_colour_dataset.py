#!/usr/bin/env python3
"""A small colour dataset for the export check (Scripts/export-check.sh): 3 classes of shapes
(disc, bar, cross) in random colours on random backgrounds. TRAIN and VALIDATION images have mixed,
non-square sizes, so the import resizes to --working-size and letterboxes (a colour letterboxed
model); TEST images are exactly SIDE x SIDE, so the pixels the model sees are the PNG's own and
onnxruntime can be fed them directly.

Usage: make_colour_dataset.py OUTPUT_DIR SIDE [PER_CLASS]   (writes OUTPUT_DIR/manifest.csv)
"""
import os
import random
import sys

from PIL import Image, ImageDraw

CLASSES = ["disc", "bar", "cross"]


def draw(shape, width, height, rng):
    background = tuple(rng.randint(0, 255) for _ in range(3))
    while True:
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if sum(abs(a - b) for a, b in zip(colour, background)) > 200:
            break
    image = Image.new("RGB", (width, height), background)
    d = ImageDraw.Draw(image)
    side = min(width, height)
    r = rng.uniform(0.25, 0.4) * side
    cx, cy = width / 2 + rng.uniform(-0.1, 0.1) * side, height / 2 + rng.uniform(-0.1, 0.1) * side
    if shape == "disc":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "bar":
        d.rectangle([cx - r, cy - r / 3, cx + r, cy + r / 3], fill=colour)
    else:
        d.rectangle([cx - r, cy - r / 5, cx + r, cy + r / 5], fill=colour)
        d.rectangle([cx - r / 5, cy - r, cx + r / 5, cy + r], fill=colour)
    return image


def main(output, side, per_class):
    rng = random.Random(23)
    rows = []
    for split, count in (("TRAIN", per_class), ("VALIDATION", per_class // 3), ("TEST", per_class // 2)):
        folder = os.path.join(output, split.lower())
        os.makedirs(folder, exist_ok=True)
        for label in CLASSES:
            for i in range(count):
                if split == "TEST":
                    width = height = side
                else:
                    width, height = rng.choice([(side + 8, side - 4), (side - 6, side + 10), (2 * side, side)])
                name = f"{split.lower()}/{label}-{i}.png"
                draw(label, width, height, rng).save(os.path.join(output, name))
                rows.append(f"{split},{name},{label}\n")
    with open(os.path.join(output, "manifest.csv"), "w") as f:
        f.writelines(rows)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 60)
