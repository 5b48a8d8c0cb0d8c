#!/usr/bin/env python3
"""Checks `autovision export` against the real runtimes (issue 23, item 4); Scripts/export-check.sh runs it.

For each model given with --case NAME JOBS_DIR JOB_ID IMAGES_FILE [TTA] (JOB_ID `A@ensemble`: a two-member
ensemble checkpoint made from job A; `A@other-layers`: A's ReLUs as GELU and SiLU, its max pools as average pools):
- ONNX: `onnx.checker.check_model(full_check=True)`; IR version 8, opset 17; input uint8 [batch, C, H, W],
  output float [batch, classes]; metadata `labels` (a JSON array: predict's labels), `working_resolution`, `fit`;
  onnxruntime on the TEST images (IMAGES_FILE, one path a line, at the working resolution) against
  `autovision predict --json`: argmax agreement >= 99.9 % and max |dp| <= 1e-4.
- Triton: the repository's files; `1/model.onnx` is the ONNX export byte for byte; config.pbtxt parsed as
  Triton's ModelConfig (tritonclient's model_config_pb2): platform, batching, input and output types,
  shapes and label file.
- Core ML: coremltools loads the spec; a NeuralNetwork classifier with the image input, the labels, the
  layer kinds of the ONNX graph's operators, consistent weight shapes; and its layers run in NumPy
  (a reference interpreter below) agree with onnxruntime when the model has no test-time augmentation.
With TTA (none, horizontal_flip or shifts) the case is a copy of the job whose model.ckpt metadata says so
(`test_time_augmentation`, the header rewritten and the CRC-32 recomputed), so the graph's views, and the
Core ML layers of a network whose training kept TTA, are checked whatever policy the short training kept. With --http, `GET /v1/models/{id}/export` of a running
`autovision serve` must give the CLI's files in each format. Prints a line per check and `N passed, N failed`.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

MIN_AGREEMENT = 0.999
MAX_DELTA = 1e-4


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}… exited {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout


def read_checkpoint(jobs, job):
    """(header, tensor payloads) of a job's model.ckpt: magic, version, header length, JSON header,
    float32 tensors in the header's `shapes`, CRC-32 of everything before it."""
    data = open(os.path.join(jobs, job, "model.ckpt"), "rb").read()
    (length,) = struct.unpack_from("<I", data, 12)
    header = json.loads(data[16:16 + length])
    tensors, offset = [], 16 + length
    for shape in header["shapes"]:
        size = 4 * int(np.prod(shape))
        tensors.append(data[offset:offset + size])
        offset += size
    return data[:12], header, tensors


def write_checkpoint(jobs, job, prefix, header, tensors):
    shutil.rmtree(os.path.join(jobs, job), ignore_errors=True)
    os.makedirs(os.path.join(jobs, job))
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    body = prefix + struct.pack("<I", len(encoded)) + encoded + b"".join(tensors)
    with open(os.path.join(jobs, job, "model.ckpt"), "wb") as f:
        f.write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def with_test_time_augmentation(jobs, job, policy):
    """A copy of the job folder whose model.ckpt records `policy`."""
    prefix, header, tensors = read_checkpoint(jobs, job)
    header.setdefault("metadata", {})["test_time_augmentation"] = policy
    write_checkpoint(jobs, f"{job}-tta-{policy}", prefix, header, tensors)
    return f"{job}-tta-{policy}"


def ensemble_of(jobs, job):
    """A job folder whose model.ckpt averages two networks of the job's architecture (`LayerSpec.ensemble`,
    as a final training with time left writes it): the job's own, and one whose last dense layer's rows
    (weights and bias) are rotated by one class, so the members disagree. The file holds the members'
    parameters in order, then their buffers (each BatchNorm's running mean and variance)."""
    prefix, header, tensors = read_checkpoint(jobs, job)
    layers = header["architecture"]["layers"]
    assert all(layer["type"] != "residual" for layer in layers), "residual blocks may hold implicit BatchNorms"
    assert layers[-1]["type"] == "dense" and layers[-1]["bias"], "the network must end in a dense layer with bias"
    params = len(tensors) - 2 * sum(layer["type"] == "batchNorm" for layer in layers)
    shapes = header["shapes"]
    rotated = list(tensors[:params])
    for index in (params - 2, params - 1):  # the last dense layer's weight [classes, inputs] and bias [classes]
        values = np.frombuffer(tensors[index], dtype="<f4").reshape(shapes[index])
        rotated[index] = np.roll(values, 1, axis=0).astype("<f4").tobytes()
    header["architecture"] = dict(header["architecture"], name="ensemble", layers=[{"type": "ensemble", "members": [layers, layers]}])
    header["shapes"] = shapes[:params] * 2 + shapes[params:] * 2
    header["metadata"] = dict(header["metadata"], ensemble_members="2")
    write_checkpoint(jobs, f"{job}-ensemble", prefix, header, tensors[:params] + rotated + tensors[params:] * 2)
    return f"{job}-ensemble"


def pixels(paths, channels, height, width):
    """uint8 [N, C, H, W] of PNGs already at the working resolution."""
    batch = np.zeros((len(paths), channels, height, width), dtype=np.uint8)
    for n, path in enumerate(paths):
        image = Image.open(path)
        expected = "L" if channels == 1 else "RGB"
        assert image.mode == expected and image.size == (width, height), f"{path}: {image.mode} {image.size}, expected {expected} {width}x{height}"
        array = np.asarray(image)
        batch[n] = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return batch


def predicted(bin, jobs, job, paths, labels):
    """`autovision predict --json` probabilities [N, classes] in label order."""
    out = run([bin, "predict", job, *paths, "--top-k", str(len(labels)), "--json", "--jobs-dir", jobs])
    results = json.loads(out.strip().splitlines()[-1])["results"]
    index = {label: k for k, label in enumerate(labels)}
    probabilities = np.zeros((len(paths), len(labels)), dtype=np.float64)
    for n, result in enumerate(results):
        assert result.get("error") is None, result
        for p in result["predictions"]:
            probabilities[n, index[p["label"]]] = p["score"]
    return probabilities


def check_onnx(path, labels_expected):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8, model.ir_version
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)], model.opset_import
    metadata = {p.key: p.value for p in model.metadata_props}
    labels = json.loads(metadata["labels"])
    assert sorted(labels) == sorted(labels_expected), (labels, labels_expected)
    resolution = json.loads(metadata["working_resolution"])
    assert metadata["fit"] in ("letterbox", "center_crop"), metadata["fit"]
    tensor = model.graph.input[0].type.tensor_type
    dims = [d.dim_param or d.dim_value for d in tensor.shape.dim]
    assert tensor.elem_type == onnx.TensorProto.UINT8 and dims == ["batch", resolution["channels"], resolution["height"], resolution["width"]], dims
    out_dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == ["batch", len(labels)], out_dims
    ops = [node.op_type for node in model.graph.node]
    assert "BatchNormalization" not in ops and "Dropout" not in ops, ops
    return labels, resolution, metadata, ops


def run_onnx(path, batch):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(["probabilities"], {"image": batch[i:i + 256]})[0] for i in range(0, len(batch), 256)])


def triton_model_config():
    """Triton's ModelConfig message (tritonclient's model_config_pb2, loaded without the grpc package)."""
    import importlib.util
    import tritonclient
    path = os.path.join(os.path.dirname(tritonclient.__file__), "grpc", "model_config_pb2.py")
    spec = importlib.util.spec_from_file_location("model_config_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_triton(repository, job, onnx_path, labels, resolution):
    from google.protobuf import text_format
    folder = os.path.join(repository, job)
    assert open(os.path.join(folder, "1", "model.onnx"), "rb").read() == open(onnx_path, "rb").read(), "triton model.onnx differs"
    assert open(os.path.join(folder, "labels.txt")).read().splitlines() == labels
    pb = triton_model_config()
    config = text_format.Parse(open(os.path.join(folder, "config.pbtxt")).read(), pb.ModelConfig())
    assert config.name == job and config.platform == "onnxruntime_onnx" and config.max_batch_size > 0, config
    assert config.HasField("dynamic_batching"), config
    (image,), (output,) = config.input, config.output
    assert (image.name, image.data_type, image.format) == ("image", pb.TYPE_UINT8, pb.ModelInput.FORMAT_NCHW), image
    assert list(image.dims) == [resolution["channels"], resolution["height"], resolution["width"]], image.dims
    assert (output.name, output.data_type, list(output.dims), output.label_filename) == ("probabilities", pb.TYPE_FP32, [len(labels)], "labels.txt"), output


ONNX_TO_COREML = {"Conv": "convolution", "Gemm": "innerProduct", "MaxPool": "pooling", "AveragePool": "pooling",
                  "GlobalAveragePool": "pooling", "Softmax": "softmax", "Relu": "activation", "Sigmoid": "activation"}


def check_coreml(path, labels, resolution, ops):
    import coremltools as ct
    spec = ct.utils.load_spec(path)
    ct.models.MLModel(spec, skip_model_load=True)  # coremltools accepts it (prediction needs macOS)
    assert spec.WhichOneof("Type") == "neuralNetworkClassifier", spec.WhichOneof("Type")
    image = spec.description.input[0].type.imageType
    colour = ct.proto.FeatureTypes_pb2.ImageFeatureType.GRAYSCALE if resolution["channels"] == 1 else ct.proto.FeatureTypes_pb2.ImageFeatureType.RGB
    assert (image.width, image.height, image.colorSpace) == (resolution["width"], resolution["height"], colour)
    network = spec.neuralNetworkClassifier
    assert list(network.stringClassLabels.vector) == labels
    assert spec.description.predictedProbabilitiesName == "probabilities" and network.layers[-1].output[0] == "probabilities"
    kinds = [layer.WhichOneof("layer") for layer in network.layers]
    for onnx_op, kind in (("Conv", "convolution"), ("Gemm", "innerProduct")):
        assert ops.count(onnx_op) == kinds.count(kind), (onnx_op, ops.count(onnx_op), kinds.count(kind))
    for layer in network.layers:
        if layer.HasField("convolution"):
            c = layer.convolution
            assert len(c.weights.floatValue) == c.outputChannels * c.kernelChannels * c.kernelSize[0] * c.kernelSize[1]
            assert len(c.bias.floatValue) == c.outputChannels
        if layer.HasField("innerProduct"):
            p = layer.innerProduct
            assert len(p.weights.floatValue) == p.inputChannels * p.outputChannels and len(p.bias.floatValue) == p.outputChannels
    return spec


def coreml_numpy(spec, batch):
    """Runs the Core ML classifier's preprocessing and layers in NumPy (float64) on uint8 [N, C, H, W]:
    a reference for the layers this exporter writes, in their NeuralNetwork.proto semantics."""
    network = spec.neuralNetworkClassifier
    scaler = network.preprocessing[0].scaler
    bias = [scaler.grayBias] if batch.shape[1] == 1 else [scaler.redBias, scaler.greenBias, scaler.blueBias]
    blobs = {"image": batch.astype(np.float64) * scaler.channelScale + np.array(bias)[None, :, None, None]}
    for layer in network.layers:
        x = [blobs[name] for name in layer.input]
        blobs[layer.output[0]] = coreml_layer(layer, x)
    return blobs["probabilities"].reshape(len(batch), -1)


def windows(x, k, s, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :oh, :ow]
    return view  # [N, C, OH, OW, k, k]


def coreml_layer(layer, x):
    kind = layer.WhichOneof("layer")
    if kind == "convolution":
        c = layer.convolution
        k, s = c.kernelSize[0], c.stride[0]
        edges = c.valid.paddingAmounts.borderAmounts
        view = windows(x[0], k, s, (edges[0].startEdgeSize, edges[0].endEdgeSize, edges[1].startEdgeSize, edges[1].endEdgeSize))
        weight = np.array(c.weights.floatValue, dtype=np.float64).reshape(c.outputChannels, c.kernelChannels, k, k)
        groups, per_out = c.nGroups, c.outputChannels // c.nGroups
        outs = [np.einsum("nchwij,ocij->nohw", view[:, g * c.kernelChannels:(g + 1) * c.kernelChannels], weight[g * per_out:(g + 1) * per_out])
                for g in range(groups)]
        return np.concatenate(outs, axis=1) + np.array(c.bias.floatValue)[None, :, None, None]
    if kind == "innerProduct":
        p = layer.innerProduct
        weight = np.array(p.weights.floatValue, dtype=np.float64).reshape(p.outputChannels, p.inputChannels)
        flat = x[0].reshape(len(x[0]), -1)
        return (flat @ weight.T + np.array(p.bias.floatValue))[:, :, None, None]
    if kind == "pooling":
        p = layer.pooling
        if p.globalPooling:
            return x[0].mean(axis=(2, 3), keepdims=True)
        view = windows(x[0], p.kernelSize[0], p.stride[0], (0, 0, 0, 0))
        return view.max(axis=(4, 5)) if p.type == 0 else view.mean(axis=(4, 5))
    if kind == "activation":
        a = layer.activation
        which = a.WhichOneof("NonlinearityType")
        if which == "ReLU":
            return np.maximum(x[0], 0)
        if which == "sigmoid":
            return 1 / (1 + np.exp(-x[0]))
        if which == "linear":
            return x[0] * a.linear.alpha + a.linear.beta
        raise ValueError(which)
    if kind == "gelu":
        from math import erf, sqrt
        return 0.5 * x[0] * (1 + np.vectorize(erf)(x[0] / sqrt(2)))
    if kind == "multiply":
        return x[0] * x[1]
    if kind == "add":
        return sum(x)
    if kind == "scale":
        s = layer.scale
        return x[0] * np.array(s.scale.floatValue)[None, :, None, None] + np.array(s.bias.floatValue)[None, :, None, None]
    if kind == "flatten":
        return x[0].reshape(len(x[0]), -1, 1, 1)
    if kind == "softmax":
        e = np.exp(x[0] - x[0].max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"no reference for Core ML layer {kind}")


def with_other_layers(jobs, job):
    """A copy of the job whose network uses the layers without parameters that the search does not pick
    (a candidate file can): its ReLUs become GELU, then SiLU, alternately, its max pools average pools.
    The weights stay; the network is another one, which `autovision predict` and the exports must agree on."""
    prefix, header, tensors = read_checkpoint(jobs, job)
    relus = 0
    for layer in header["architecture"]["layers"]:
        if layer["type"] == "relu":
            layer["type"] = "gelu" if relus % 2 == 0 else "silu"
            relus += 1
        elif layer["type"] == "maxPool":
            layer["type"] = "avgPool"
    assert relus > 0, "no ReLU to replace"
    write_checkpoint(jobs, f"{job}-other-layers", prefix, header, tensors)
    return f"{job}-other-layers"


def check_case(bin, scratch, name, jobs, job, images_file, tta):
    if job.endswith("@other-layers"):
        job = with_other_layers(jobs, job.removesuffix("@other-layers"))
    if job.endswith("@ensemble"):
        job = ensemble_of(jobs, job.removesuffix("@ensemble"))
    if tta:
        job = with_test_time_augmentation(jobs, job, tta)
    paths = [line.strip() for line in open(images_file) if line.strip()]
    out = os.path.join(scratch, "export", job)
    os.makedirs(out, exist_ok=True)
    onnx_path, coreml_path, repository = os.path.join(out, "model.onnx"), os.path.join(out, "model.mlmodel"), os.path.join(out, "repository")
    for fmt, target in (("onnx", onnx_path), ("coreml", coreml_path), ("triton", repository)):
        run([bin, "export", job, "--format", fmt, "--output", target, "--jobs-dir", jobs])

    first = json.loads(run([bin, "predict", job, paths[0], "--top-k", "1000", "--json", "--jobs-dir", jobs]).strip().splitlines()[-1])
    predict_labels = [p["label"] for p in first["results"][0]["predictions"]]
    labels, resolution, metadata, ops = check_onnx(onnx_path, predict_labels)
    policy = metadata["test_time_augmentation"]
    batch = pixels(paths, resolution["channels"], resolution["height"], resolution["width"])
    ours = predicted(bin, jobs, job, paths, labels)
    theirs = run_onnx(onnx_path, batch).astype(np.float64)
    agreement = float(np.mean(ours.argmax(1) == theirs.argmax(1)))
    delta = float(np.abs(ours - theirs).max())
    check_triton(repository, job, onnx_path, labels, resolution)
    spec = check_coreml(coreml_path, labels, resolution, ops)
    coreml_note = "Core ML structure ok"
    if policy == "none":  # the Core ML model runs the image alone: comparable only without TTA
        subset = slice(0, min(len(batch), 200))
        coreml_delta = float(np.abs(coreml_numpy(spec, batch[subset]) - theirs[subset]).max())
        coreml_note += f", its layers in NumPy vs onnxruntime max |dp| {coreml_delta:.2e} on {len(batch[subset])}"
        assert coreml_delta <= MAX_DELTA, f"Core ML reference max |dp| {coreml_delta}"
    print(f"{name}: {len(paths)} TEST images, {resolution['width']}x{resolution['height']}x{resolution['channels']} {metadata['fit']}, "
          f"TTA {policy}, {len(ops)} ONNX nodes ({', '.join(sorted(set(ops)))}); "
          f"argmax agreement {agreement * 100:.2f} %, max |dp| {delta:.2e}; {coreml_note}")
    assert agreement >= MIN_AGREEMENT, f"{name}: agreement {agreement}"
    assert delta <= MAX_DELTA, f"{name}: max |dp| {delta}"


def check_http(bin, scratch, base, token, jobs, job):
    """GET /v1/models/{id}/export in each format: the CLI's bytes (the Triton zip holds the CLI's
    repository files), with the bearer token; 400 naming the formats; 401 without the token."""
    import io
    import urllib.error
    import urllib.request
    import zipfile

    def get(query, authorised=True):
        request = urllib.request.Request(f"{base}/v1/models/{job}/export{query}", headers={"Authorization": f"Bearer {token}"} if authorised else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    out = os.path.join(scratch, "http", job)
    os.makedirs(out, exist_ok=True)
    for fmt, name in (("onnx", "model.onnx"), ("coreml", "model.mlmodel"), ("triton", "repository")):
        run([bin, "export", job, "--format", fmt, "--output", os.path.join(out, name), "--jobs-dir", jobs])
        status, headers, body = get(f"?format={fmt}")
        assert status == 200, (fmt, status, body[:300])
        assert "attachment; filename=" in headers["Content-Disposition"], headers
        if fmt == "triton":
            archive = zipfile.ZipFile(io.BytesIO(body))
            for member in archive.namelist():
                assert archive.read(member) == open(os.path.join(out, name, member), "rb").read(), member
            assert sorted(archive.namelist()) == sorted([f"{job}/config.pbtxt", f"{job}/labels.txt", f"{job}/1/model.onnx"])
        else:
            assert body == open(os.path.join(out, name), "rb").read(), f"{fmt}: the download differs from the CLI's file"
    status, headers, body = get("?format=tflite")
    assert status == 400 and b"onnx, triton, coreml" in body and headers["Content-Type"] == "application/problem+json", (status, body)
    assert get("?format=onnx", authorised=False)[0] == 401
    print(f"http: GET /v1/models/{job}/export in onnx, coreml and triton gave the CLI's files; 400 for tflite, 401 without the token")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--case", nargs="+", action="append", required=True, metavar="NAME JOBS JOB IMAGES [TTA]")
    parser.add_argument("--http", nargs=4, metavar=("BASE_URL", "TOKEN", "JOBS", "JOB"), help="also check the HTTP route against this server")
    args = parser.parse_args()
    passed = failed = 0
    checks = [(case[0], lambda case=case: check_case(args.bin, args.scratch, *case[:4], case[4] if len(case) > 4 else None)) for case in args.case]
    if args.http:
        checks.append(("http", lambda: check_http(args.bin, args.scratch, *args.http)))
    for name, check in checks:
        try:
            check()
            passed += 1
        except Exception as error:  # every check is reported, then the count decides
            print(f"{name}: FAILED: {type(error).__name__}: {error}")
            failed += 1
    print(f"export-check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
