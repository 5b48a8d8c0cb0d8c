#!/usr/bin/env python3
"""Writes the intake cases this project added (16: prediction images of any size; 17: hostile numbers
and counts in prediction requests) under Tests/Fixtures/intake/. Needs Pillow (pip install pillow).

Both cases train on case 15's eight 8×8 images (cat = red, dog = blue), so their models are
native-size: every prediction image of another size must be letterboxed as the import would.
Run from anywhere: python3 Scripts/make_intake_cases.py
"""
import base64, io, json, os, shutil
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "intake")
SOURCE = os.path.join(ROOT, "15-predict-request-bodies")
RED, BLUE = (215, 36, 30), (32, 62, 226)


def copy_training_images(case):
    os.makedirs(os.path.join(case, "images"), exist_ok=True)
    for name in sorted(os.listdir(os.path.join(SOURCE, "images"))):
        shutil.copy(os.path.join(SOURCE, "images", name), os.path.join(case, "images", name))
    shutil.copy(os.path.join(SOURCE, "manifest.csv"), os.path.join(case, "manifest.csv"))


def save(image, path, **options):
    buffer = io.BytesIO()
    image.save(buffer, **options)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return buffer.getvalue()


def case16():
    case = os.path.join(ROOT, "16-predict-image-any-size")
    copy_training_images(case)
    requests = os.path.join(case, "requests")
    os.makedirs(requests, exist_ok=True)
    entries = []

    def add(name, image, top, note, **options):
        save(image, os.path.join(requests, name), **options)
        entries.append({"body": f"requests/{name}", "content_type": "application/octet-stream", "status": 200,
                        "top_label": top, "note": note})

    add("red_1x1.png", Image.new("RGB", (1, 1), RED), "cat", "one pixel: smaller than the model's 8x8 input (it crashed the server)", format="PNG")
    add("blue_1x1_gray.png", Image.new("L", (1, 1), 60), None, "one gray pixel", format="PNG")
    add("red_16x16_nearest.png", Image.new("RGB", (8, 8), RED).resize((16, 16), Image.NEAREST), "cat", "2x larger (nearest)", format="PNG")
    photo = Image.new("RGB", (640, 480), RED)
    for x in range(0, 640, 7):
        for y in range(0, 480, 5):
            photo.putpixel((x, y), (200, 50, 40))
    add("red_640x480_q95.jpg", photo, "cat", "a camera-sized RGB JPEG, quality 95", format="JPEG", quality=95)
    add("blue_300x20.png", Image.new("RGB", (300, 20), BLUE), "dog", "a 15:1 strip, letterboxed", format="PNG")
    rgba = Image.new("RGBA", (40, 40), RED + (255,))
    for x in range(4):
        for y in range(4):
            rgba.putpixel((x, y), RED + (128,))
    add("red_40x40_rgba.png", rgba, "cat", "RGBA, partly transparent (composited on the white matte)", format="PNG")
    add("blue_12x12_16bit.png", Image.new("I;16", (12, 12), 30000), None, "16-bit gray", format="PNG")
    rotated = Image.new("RGB", (20, 10), BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6
    add("blue_20x10_exif6.jpg", rotated, "dog", "EXIF orientation 6 (rotated 90 degrees on display)", format="JPEG", quality=95, exif=exif.tobytes())
    expected = {
        "train_first": "manifest.csv (cat=red, dog=blue; 8x8, so the model keeps the native size)",
        "requests": entries,
        "never": ["HTTP 500", "process crash/restart", "an image read as if it were 8x8 (its first 192 values)"],
    }
    with open(os.path.join(case, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


def case17():
    case = os.path.join(ROOT, "17-predict-request-numbers")
    copy_training_images(case)
    requests = os.path.join(case, "requests")
    os.makedirs(requests, exist_ok=True)
    png = open(os.path.join(SOURCE, "requests", "cat.png"), "rb").read()
    b64 = base64.b64encode(png).decode()
    bodies = [
        ("vertex_max_predictions_1e19.json", {"instances": [{"content": b64}], "parameters": {"maxPredictions": 1e19}}, 400,
         "parameters.maxPredictions", "Int(Double) trapped and killed the server"),
        ("vertex_max_predictions_negative.json", {"instances": [{"content": b64}], "parameters": {"maxPredictions": -3}}, 400,
         "parameters.maxPredictions", None),
        ("vertex_max_predictions_fraction.json", {"instances": [{"content": b64}], "parameters": {"maxPredictions": 2.5}}, 400,
         "parameters.maxPredictions", None),
        ("vertex_threshold_above_one.json", {"instances": [{"content": b64}], "parameters": {"confidenceThreshold": 7}}, 400,
         "parameters.confidenceThreshold", None),
        ("automl_max_predictions_1e19.json", {"payload": {"image": {"imageBytes": b64}}, "params": {"max_predictions": "1e19"}}, 400,
         "params.max_predictions", "the AutoML form of the same trap"),
        ("automl_threshold_nan.json", {"payload": {"image": {"imageBytes": b64}}, "params": {"score_threshold": "NaN"}}, 400,
         "params.score_threshold", None),
        ("vertex_65_instances.json", {"instances": [{"content": b64}] * 65}, 413, "64", "more instances than one request may carry"),
        ("vertex_64_instances.json", {"instances": [{"content": b64}] * 64, "parameters": {"maxPredictions": 1}}, 200, None,
         "exactly the cap: answered"),
    ]
    entries = []
    for name, body, status, needle, note in bodies:
        with open(os.path.join(requests, name), "w") as f:
            json.dump(body, f)
        entry = {"body": f"requests/{name}", "content_type": "application/json", "status": status}
        if needle:
            entry["message_contains"] = needle.lower()
        if note:
            entry["note"] = note
        entries.append(entry)
    entries.append({"body": "requests/vertex_64_instances.json", "content_type": "application/json", "status": 200,
                    "note": "final request: the server is still up"})
    expected = {"train_first": "manifest.csv (cat=red, dog=blue)", "requests": entries,
                "never": ["HTTP 500", "process crash/restart"]}
    with open(os.path.join(case, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    case16()
    case17()
