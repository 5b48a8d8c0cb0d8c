#!/usr/bin/env python3
"""A colour dataset of mixed image sizes and formats, assembled to exercise AutoVision beyond
Fashion-MNIST: 4 classes of shapes (circle, square, triangle, star) drawn in random colours on
random-colour backgrounds with noise, at sizes 40-160 px, non-square, saved as PNG (RGB, RGBA,
palette) and JPEG (baseline and progressive). Rows carry no set column (auto split 80/10/10).

Usage: python3 Scripts/make_shapes_dataset.py OUTPUT_DIR [IMAGES_PER_CLASS] (needs Pillow).
"""
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

CLASSES = ["circle", "square", "triangle", "star"]


def draw(shape, rng):
    w, h = rng.randint(40, 160), rng.randint(40, 160)
    background = tuple(rng.randint(0, 255) for _ in range(3))
    image = Image.new("RGB", (w, h), background)
    d = ImageDraw.Draw(image)
    while True:
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if sum(abs(a - b) for a, b in zip(colour, background)) > 150:
            break
    side = min(w, h)
    r = rng.uniform(0.25, 0.45) * side
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
    angle = rng.uniform(0, 2 * math.pi)
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        pts = [(cx + r * math.cos(angle + k * math.pi / 2), cy + r * math.sin(angle + k * math.pi / 2)) for k in range(4)]
        d.polygon(pts, fill=colour)
    elif shape == "triangle":
        pts = [(cx + r * math.cos(angle + k * 2 * math.pi / 3), cy + r * math.sin(angle + k * 2 * math.pi / 3)) for k in range(3)]
        d.polygon(pts, fill=colour)
    else:
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.45
            pts.append((cx + rr * math.cos(angle + k * math.pi / 5), cy + rr * math.sin(angle + k * math.pi / 5)))
        d.polygon(pts, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    noise = Image.effect_noise((w, h), rng.uniform(5, 30)).convert("RGB")
    return Image.blend(image, noise, 0.15)


def main(output, per_class):
    rng = random.Random(7)
    os.makedirs(os.path.join(output, "images"), exist_ok=True)
    rows = []
    for label in CLASSES:
        for i in range(per_class):
            image = draw(label, rng)
            kind = rng.choice(["png", "png-rgba", "png-palette", "jpeg", "jpeg-progressive"])
            name = f"images/{label}_{i:04d}." + ("png" if kind.startswith("png") else "jpg")
            path = os.path.join(output, name)
            if kind == "png":
                image.save(path)
            elif kind == "png-rgba":
                image.convert("RGBA").save(path)
            elif kind == "png-palette":
                image.convert("P", palette=Image.ADAPTIVE, colors=64).save(path)
            else:
                image.save(path, quality=rng.randint(70, 95), progressive=kind == "jpeg-progressive")
            rows.append(f"{name},{label}")
    rng.shuffle(rows)
    with open(os.path.join(output, "manifest.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} images and {output}/manifest.csv")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 500)
