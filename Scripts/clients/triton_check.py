"""Runs NVIDIA's tritonclient.http against `autovision serve` (issue 22, item 3): health, metadata, and
inference on two PNG images as BYTES, with inputs and outputs both as binary data and as JSON, plain
FP32 probabilities and the classification extension (class_count=3). Checks that the probabilities
sum to 1, that the top label is what POST /v1/models/{id}/predict answers for the same image, and
that classification strings are score:index:label. Exit status 1 on the first failed check.

    python triton_check.py HOST:PORT MODEL_ID TOKEN IMAGE1.png IMAGE2.png
"""
import base64
import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def check(condition, what):
    if not condition:
        print(f"triton-check: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {what}")


def v1_top_label(url, model, headers, image):
    request = urllib.request.Request(f"http://{url}/v1/models/{model}/predict", data=image, method="POST",
                                     headers={**headers, "Content-Type": "image/png"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["predictions"][0]["label"]


def infer(client, model, headers, images, binary_in, binary_out, class_count=0):
    """One infer() call: the images as a [2] BYTES tensor (raw bytes in binary, base64 in JSON: a JSON
    string cannot carry a PNG's bytes, and tritonclient refuses non-UTF-8 bytes without binary_data)."""
    data = images if binary_in else [base64.b64encode(image) for image in images]
    tensor = httpclient.InferInput("image", [len(images)], "BYTES")
    tensor.set_data_from_numpy(np.array(data, dtype=np.object_), binary_data=binary_in)
    output = httpclient.InferRequestedOutput("probabilities", binary_data=binary_out, class_count=class_count)
    # A copy: infer() writes Inference-Header-Content-Length into the headers it is given, and a stale one
    # on a later JSON-only request would cut its JSON short.
    return client.infer(model, [tensor], outputs=[output], request_id="check", headers=dict(headers)).as_numpy("probabilities")


def check_classes(classes, probabilities, expected_top, what):
    check(classes.shape == (2, 3), f"{what}: classification shape {classes.shape} is (2, 3)")
    for row in range(2):
        # tritonclient gives BYTES as bytes from binary data and as str from JSON.
        parsed = [(element.decode() if isinstance(element, bytes) else element).split(":", 2) for element in classes[row]]
        check(all(len(parts) == 3 for parts in parsed), f"{what}: row {row} is score:index:label {list(classes[row])}")
        scores = [float(parts[0]) for parts in parsed]
        check(scores == sorted(scores, reverse=True), f"{what}: row {row} highest score first")
        for score, index, _ in parsed:
            check(abs(float(score) - probabilities[row, int(index)]) < 1e-5, f"{what}: row {row} class {index} score is its probability")
        check(parsed[0][2] == expected_top[row] and int(parsed[0][1]) == int(np.argmax(probabilities[row])),
              f"{what}: row {row} top class {parsed[0][2]} is /v1's {expected_top[row]}")


def main():
    url, model, token, *paths = sys.argv[1:]
    headers = {"Authorization": f"Bearer {token}"}
    images = [open(path, "rb").read() for path in paths]
    client = httpclient.InferenceServerClient(url=url)
    check(client.is_server_live(), "is_server_live() (no token: a probe)")
    check(client.is_server_ready(), "is_server_ready() (no token: a probe)")
    check(client.is_model_ready(model, headers=headers), f"is_model_ready({model})")
    check(client.is_model_ready(model, model_version="1", headers=headers), "is_model_ready(version 1)")
    check(not client.is_model_ready("no-such-model", headers=headers), "is_model_ready(no-such-model) is False")
    server = client.get_server_metadata(headers=headers)
    check({"classification", "binary_tensor_data"} <= set(server["extensions"]), f"get_server_metadata() extensions {server['extensions']}")
    metadata = client.get_model_metadata(model, headers=headers)
    check(metadata["name"] == model and metadata["versions"] == ["1"], f"get_model_metadata() name and versions {metadata['versions']}")
    check(metadata["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}], f"input {metadata['inputs']}")
    output = metadata["outputs"][0]
    check(output["name"] == "probabilities" and output["datatype"] == "FP32" and output["shape"][0] == -1, f"output {output}")
    classes_count = output["shape"][1]

    expected_top = [v1_top_label(url, model, headers, image) for image in images]
    reference = None
    for binary_in in (True, False):
        for binary_out in (True, False):
            what = f"binary_data in={binary_in} out={binary_out}"
            probabilities = infer(client, model, headers, images, binary_in, binary_out)
            check(probabilities.dtype == np.float32 and probabilities.shape == (2, classes_count), f"{what}: FP32 {probabilities.shape}")
            check(np.allclose(probabilities.sum(axis=1), 1, atol=1e-4), f"{what}: probabilities sum to 1 {probabilities.sum(axis=1)}")
            if reference is None:
                reference = probabilities
            check(np.allclose(probabilities, reference, atol=1e-6), f"{what}: the same probabilities as binary in and out")
            classes = infer(client, model, headers, images, binary_in, binary_out, class_count=3)
            check_classes(classes, probabilities, expected_top, what)
    everything = client.infer(model, [httpclient.InferInput("image", [2], "BYTES").set_data_from_numpy(np.array(images, dtype=np.object_))],
                              headers=dict(headers))
    check(np.allclose(everything.as_numpy("probabilities"), reference, atol=1e-6), "infer() without outputs: every output, binary")
    response = everything.get_response()
    check(response["model_name"] == model and response["model_version"] == "1", f"response model_name, model_version {response['model_version']}")

    try:
        infer(client, "no-such-model", headers, images, True, True)
        check(False, "infer(no-such-model) raises")
    except InferenceServerException as error:
        check(error.status() == "404" and "no-such-model" in error.message(), f"infer(no-such-model): {error.status()} {error.message()}")
    try:
        tensor = httpclient.InferInput("INPUT0", [1], "BYTES").set_data_from_numpy(np.array(images[:1], dtype=np.object_))
        client.infer(model, [tensor], headers=dict(headers))
        check(False, "infer() with another input's name raises")
    except InferenceServerException as error:
        check(error.status() == "400" and "image" in error.message(), f"infer(INPUT0): {error.status()} {error.message()}")
    print("triton-check: every check passed")


if __name__ == "__main__":
    main()
