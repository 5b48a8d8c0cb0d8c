#!/usr/bin/env python3
"""Golden values for the NN tests, computed with PyTorch (CPU, float32) and NumPy.

Writes small JSON files to Tests/NNTests/Fixtures/, so `swift test` needs no Python:
    {"description": str, "tensors": {name: {"shape": [...], "values": [...]}},
     "numbers": {name: float}, "integers": {name: [int, ...]}}
Layer fixtures hold the input, the parameters, the output, a random projection R and the gradients
of sum(output * R) with respect to the input and each parameter.

Run (from the repository root):
    python3 -m venv /tmp/torch-reference-venv && /tmp/torch-reference-venv/bin/pip install torch numpy
    /tmp/torch-reference-venv/bin/python Scripts/make_fixtures.py
"""
import json, math, os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NNTests", "Fixtures")
rng = np.random.default_rng(20240601)
torch.set_num_threads(1)


def t(x):
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    x = x.astype(np.float32)
    return {"shape": list(x.shape), "values": [float(v) for v in x.reshape(-1)]}


def rand(*shape, scale=1.0):
    return torch.tensor(rng.uniform(-scale, scale, size=shape).astype(np.float32))


def write(name, description, tensors, numbers=None, integers=None):
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump({"description": description, "tensors": {k: t(v) for k, v in tensors.items()},
                   "numbers": numbers or {}, "integers": integers or {}}, f, separators=(",", ":"))
    print("wrote", path)


def layer_fixture(name, description, module, x, params, numbers=None, integers=None, extra=None):
    """Forward + backward of sum(module(x) * R); params maps fixture names to module tensors."""
    x = x.clone().requires_grad_(True)
    y = module(x)
    r = rand(*y.shape)
    (y * r).sum().backward()
    tensors = {"input": x, "output": y, "projection": r, "inputGradient": x.grad}
    for key, p in params.items():
        tensors[key] = p
        tensors[key + "Gradient"] = p.grad
    tensors.update(extra() if extra else {})  # evaluated after the forward pass
    write(name, description, tensors, numbers, integers)


def conv(name, cin, cout, k, stride, groups=1, bias=True, size=7):
    m = nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias)
    with torch.no_grad():
        m.weight.copy_(rand(*m.weight.shape))
        if bias:
            m.bias.copy_(rand(cout))
    params = {"weight": m.weight}
    if bias:
        params["bias"] = m.bias
    layer_fixture(name, f"Conv2d({cin},{cout},k={k},stride={stride},pad={(k-1)//2},groups={groups},bias={bias})",
                  m, rand(2, cin, size, size), params,
                  integers={"config": [cin, cout, k, stride, groups, int(bias)]})


def main():
    os.makedirs(OUT, exist_ok=True)
    conv("conv_k3_s1", 3, 4, 3, 1)
    conv("conv_k1_s1_nobias", 4, 5, 1, 1, bias=False)
    conv("conv_k5_s2", 2, 3, 5, 2)
    conv("conv_k3_s2", 3, 4, 3, 2, size=8)
    conv("conv_k1_s2", 3, 2, 1, 2)
    conv("conv_grouped", 4, 6, 3, 1, groups=2)
    conv("conv_depthwise", 4, 4, 3, 1, groups=4, bias=False)

    m = nn.Linear(6, 5)
    with torch.no_grad():
        m.weight.copy_(rand(5, 6)); m.bias.copy_(rand(5))
    layer_fixture("dense", "Linear(6,5)", m, rand(4, 6), {"weight": m.weight, "bias": m.bias})

    # BatchNorm, training mode (batch statistics) and the running statistics after one step.
    bn = nn.BatchNorm2d(3, momentum=0.1, eps=1e-5)
    with torch.no_grad():
        bn.weight.copy_(rand(3) + 1.5); bn.bias.copy_(rand(3))
    bn.train()
    layer_fixture("batchnorm_train", "BatchNorm2d(3) training step from fresh running stats", bn,
                  rand(4, 3, 5, 5, scale=2.0) + 0.5, {"scale": bn.weight, "offset": bn.bias},
                  extra=lambda: {"runningMeanAfter": bn.running_mean.clone(), "runningVarianceAfter": bn.running_var.clone()})
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(rand(3) + 1.5); bn.bias.copy_(rand(3))
        bn.running_mean.copy_(rand(3)); bn.running_var.copy_(rand(3) + 1.5)
    bn.eval()
    x = rand(2, 3, 4, 4, scale=2.0)
    write("batchnorm_eval", "BatchNorm2d(3) eval mode (running statistics)",
          {"input": x, "output": bn(x), "scale": bn.weight, "offset": bn.bias,
           "runningMean": bn.running_mean, "runningVariance": bn.running_var})
    bn1 = nn.BatchNorm1d(5)
    with torch.no_grad():
        bn1.weight.copy_(rand(5) + 1.5); bn1.bias.copy_(rand(5))
    layer_fixture("batchnorm_1d", "BatchNorm1d(5) training", bn1, rand(6, 5, scale=2.0),
                  {"scale": bn1.weight, "offset": bn1.bias})

    # Activations: inputs kept away from ReLU's kink.
    x = rand(3, 4, 5)
    x = torch.where(x.abs() < 0.05, x + 0.1, x)
    layer_fixture("relu", "ReLU", nn.ReLU(), x, {})
    layer_fixture("silu", "SiLU", nn.SiLU(), rand(3, 4, 5, scale=3.0), {})
    layer_fixture("gelu", "GELU (exact, erf)", nn.GELU(), rand(3, 4, 5, scale=3.0), {})

    # Pooling: distinct values so the max is unique.
    def distinct(*shape):
        n = int(np.prod(shape))
        return torch.tensor(rng.permutation(n).astype(np.float32).reshape(shape) / n - 0.5)
    layer_fixture("maxpool_k2", "MaxPool2d(2)", nn.MaxPool2d(2), distinct(2, 3, 6, 6), {}, integers={"config": [2, 2]})
    layer_fixture("maxpool_k3_s2", "MaxPool2d(3, stride=2)", nn.MaxPool2d(3, stride=2), distinct(2, 2, 7, 7), {},
                  integers={"config": [3, 2]})
    layer_fixture("avgpool_k2", "AvgPool2d(2)", nn.AvgPool2d(2), rand(2, 3, 6, 6), {}, integers={"config": [2, 2]})
    layer_fixture("avgpool_k3_s1", "AvgPool2d(3, stride=1)", nn.AvgPool2d(3, stride=1), rand(2, 2, 5, 5), {},
                  integers={"config": [3, 1]})
    layer_fixture("globalavgpool", "AdaptiveAvgPool2d(1) + flatten", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                  rand(2, 3, 4, 5), {})

    # Softmax cross-entropy: loss and gradient w.r.t. the logits.
    for name, smoothing, weighted in [("ce_plain", 0.0, False), ("ce_smoothing", 0.1, False),
                                      ("ce_weights", 0.0, True), ("ce_smoothing_weights", 0.2, True)]:
        logits = rand(6, 4, scale=3.0).requires_grad_(True)
        labels = torch.tensor(rng.integers(0, 4, size=6))
        weights = torch.tensor(rng.uniform(0.5, 2.0, size=4).astype(np.float32)) if weighted else None
        # A class weight multiplies the loss of its class's examples (Keras's class_weight), whatever
        # the smoothing; the mean divides by the sum of the examples' weights (PyTorch's weighted
        # mean). PyTorch's own weight= would weight each smoothed component by its class's weight.
        per_example = F.cross_entropy(logits, labels, label_smoothing=smoothing, reduction="none")
        if weighted:
            w = weights[labels]
            loss = (per_example * w).sum() / w.sum()
            if smoothing == 0.0:  # without smoothing this is PyTorch's weighted cross-entropy exactly
                assert torch.allclose(loss, F.cross_entropy(logits, labels, weight=weights), atol=1e-6)
        else:
            loss = per_example.mean()
        loss.backward()
        tensors = {"logits": logits, "logitsGradient": logits.grad}
        if weighted:
            tensors["classWeights"] = weights
        description = (f"cross_entropy(label_smoothing={smoothing}, reduction='none') * w[y], summed / sum(w[y])" if weighted
                       else f"cross_entropy(label_smoothing={smoothing}, weighted=False), mean")
        write(name, description, tensors,
              {"loss": float(loss.detach()), "labelSmoothing": smoothing}, {"labels": labels.tolist()})

    # Optimizers: five steps from the same start with a fixed gradient sequence.
    start = rand(7)
    grads = [rand(7) for _ in range(5)]
    def run(make):
        p = nn.Parameter(start.clone())
        opt = make([p])
        for g in grads:
            opt.zero_grad(); p.grad = g.clone(); opt.step()
        return p.detach()
    cases = {
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
        "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    }
    results = {"start": start, **{f"grad{i}": g for i, g in enumerate(grads)}}
    for key, make in cases.items():
        results[key] = run(make)
    # SGD with decoupled weight decay (SGDW, Loshchilov & Hutter): p ← p − lr·wd·p, then the momentum step.
    p = start.numpy().astype(np.float64).copy(); buf = None
    for g in grads:
        g = g.numpy().astype(np.float64)
        p = p - 0.1 * 0.01 * p
        buf = g if buf is None else 0.9 * buf + g
        p = p - 0.1 * (g + 0.9 * buf)
    results["sgdw_nesterov"] = torch.tensor(p.astype(np.float32))
    write("optimizers", "5 steps: sgd lr .1; momentum .9; nesterov; adam lr .01; adamw lr .01 wd .1; "
          "sgdw_nesterov lr .1 momentum .9 decoupled wd .01 (NumPy)", results)

    # One-cycle schedule (PyTorch OneCycleLR, cosine annealing, no momentum cycling checked).
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20, pct_start=0.3,
                                                div_factor=25.0, final_div_factor=1e4, cycle_momentum=False)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"]); opt.step(); sched.step()
    write("onecycle", "OneCycleLR(max_lr=.1, total_steps=20, pct_start=.3, div 25, final_div 1e4)",
          {"learningRates": torch.tensor(lrs)})

    # A small CNN end to end (inference): conv → ReLU → max-pool → conv (no bias) → BatchNorm (running
    # statistics) → ReLU → max-pool → flatten → dense, the layer order of the reference models.
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 3 * 3, 5))
    with torch.no_grad():
        net[4].running_mean.copy_(rand(8)); net[4].running_var.copy_(rand(8) + 1.5)
        net[4].weight.copy_(rand(8) + 1.5); net[4].bias.copy_(rand(8))
    net.eval()
    x = torch.rand(3, 1, 12, 12)
    with torch.no_grad():
        y = net(x)
    tensors = {"input": x, "output": y}
    kept = [v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")]
    for i, v in enumerate(kept):
        tensors[f"p{i:02d}"] = v
    write("cnn_forward", "conv4-relu-pool-conv8(nobias)-bn(eval)-relu-pool-flatten-dense5, 3 images 1x12x12; "
          "p00… in state_dict order (conv w, conv b, conv w, bn w, bn b, bn mean, bn var, dense w, dense b)", tensors)

    # Whole training steps: a small CNN (the `small` layer order) from fixed weights, 10 Adam steps
    # on 4 fixed batches (CrossEntropyLoss, mean). The Swift test replays them and compares losses
    # and final weights.
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 3 * 3, 32), nn.ReLU(), nn.Linear(32, 10))
    tensors = {}
    for i, v in enumerate(net.state_dict().values()):
        tensors[f"initial{i}"] = v.clone()
    batches = [torch.rand(16, 1, 12, 12) for _ in range(4)]
    labels = [torch.tensor(rng.integers(0, 10, size=16)) for _ in range(4)]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for step in range(10):
        x, y = batches[step % 4], labels[step % 4]
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(float(loss.detach()))
    for i, v in enumerate(net.state_dict().values()):
        tensors[f"final{i}"] = v.clone()
    for i, x in enumerate(batches):
        tensors[f"batch{i}"] = x
    write("training_steps", "small-order CNN 1x12x12, 10 Adam(lr=3e-3) steps over 4 fixed batches of 16; "
          "initialN/finalN in state_dict order", tensors, {},
          {**{f"labels{i}": y.tolist() for i, y in enumerate(labels)}})
    with open(os.path.join(OUT, "training_steps.json")) as f:
        d = json.load(f)
    d["numbers"] = {f"loss{i}": l for i, l in enumerate(losses)}
    with open(os.path.join(OUT, "training_steps.json"), "w") as f:
        json.dump(d, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
