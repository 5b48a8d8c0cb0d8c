"""digits: scikit-learn's bundled handwritten digits (`sklearn.datasets.load_digits`), 1,797 images
of 8x8 pixels, one grayscale PNG each, white ink on black.

Source: the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak, 1998: 43
writers' 32x32 bitmaps, counted into 4x4 blocks, so each pixel is 0-16), as shipped inside the
scikit-learn wheel (sklearn/datasets/data/digits.csv.gz; no download). Licence: CC BY 4.0 (UCI
Machine Learning Repository); scikit-learn itself is BSD-3-Clause. Pinned by the scikit-learn
version in requirements.txt.

Pixel value = round(v × 255 / 16), so 0 → 0 and 16 → 255.

Classes: 0-9, 174-183 images each (1,797 in all, no two identical). No set column: the service
splits 80/10/10 by content hash.

Why it is in the suite: the smallest images the service will ever get (8x8, 64 pixels): the
search space must shrink to a resolution that allows one pooling stage or two, and a dataset this
small (~1,440 TRAIN images) tests the small-dataset settings (batch size, epochs, overfitting).
"""
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

NAME = "digits"
PACKAGES = []  # everything comes from the scikit-learn wheel


def build(out):
    """Writes the images and returns the manifest rows [(set, path, label)]."""
    data = load_digits()
    pixels = (data.images.astype(np.int64) * 255 + 8) // 16  # round half up; 16 → 255
    rows = []
    for index, (image, label) in enumerate(zip(pixels.astype(np.uint8), data.target)):
        relative = f"images/{label}/{index:04d}.png"
        (out / "images" / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(out / relative)
        rows.append((None, relative, str(label)))
    return rows
