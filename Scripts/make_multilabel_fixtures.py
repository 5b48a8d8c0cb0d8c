#!/usr/bin/env python3
"""Writes the scikit-learn reference values for the multi-label metric tests (issue 24).

Usage (from the repository root; Scripts/make-suite.sh's venv has the pinned scikit-learn):
    .venv-suite/bin/python Scripts/make_multilabel_fixtures.py

Writes Tests/EvaluationTests/Fixtures/multilabel_*.json. Each holds VALIDATION scores and truths (for
the per-label thresholds), TEST scores and truths, the TRAIN prevalence of each label, and
scikit-learn's outputs: the thresholds that maximise each label's F1 on VALIDATION (from
`precision_recall_curve`, the lowest on a tie), and every TEST metric at those thresholds. Scores
are float32 values written in full precision, so Swift's `[Float]` holds exactly what sklearn saw.
`swift test` reads the committed files; it never runs Python.

Cases: sigmoid scores of a model better than chance; scores rounded to tenths (many ties); a label
with no TEST example, an example with no label and a label never predicted; a perfect model.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "EvaluationTests", "Fixtures")
CONFIDENCE = [0.0, 0.25, 0.5, 0.75, 1.0]


def scores_for(rng, y, strength=1.6):
    logits = rng.normal(0, 1, y.shape) + strength * (2 * y - 1)
    return (1 / (1 + np.exp(-logits))).astype(np.float32)


def case_sigmoid(rng):
    k = 5
    prevalence = np.array([0.5, 0.35, 0.2, 0.1, 0.06])
    yv = (rng.random((60, k)) < prevalence).astype(int)
    yt = (rng.random((80, k)) < prevalence).astype(int)
    return "sigmoid", yv, scores_for(rng, yv), yt, scores_for(rng, yt), prevalence


def case_ties(rng):
    k = 4
    prevalence = np.array([0.6, 0.4, 0.3, 0.15])
    yv = (rng.random((50, k)) < prevalence).astype(int)
    yt = (rng.random((60, k)) < prevalence).astype(int)
    round_ = lambda s: (np.round(s * 10) / 10).astype(np.float32)
    return "ties", yv, round_(scores_for(rng, yv, 1.0)), yt, round_(scores_for(rng, yt, 1.0)), prevalence


def case_edges(rng):
    k = 4
    prevalence = np.array([0.5, 0.3, 0.2, 0.55])
    yv = (rng.random((40, k)) < [0.5, 0.3, 0.2, 0.0]).astype(int)  # label 3: no VALIDATION positive → 0.5
    yt = (rng.random((40, k)) < [0.5, 0.3, 0.0, 0.4]).astype(int)  # label 2: no TEST example
    yt[0] = 0  # an example with no label
    st = scores_for(rng, yt)
    st[:, 3] = np.minimum(st[:, 3], 0.45).astype(np.float32)  # label 3 never reaches its 0.5 threshold
    return "edges", yv, scores_for(rng, yv), yt, st, prevalence


def case_perfect(rng):
    k = 3
    yv = (rng.random((30, k)) < 0.4).astype(int)
    yt = (rng.random((30, k)) < 0.4).astype(int)
    return "perfect", yv, yv.astype(np.float32) * 0.9 + 0.05, yt, yt.astype(np.float32) * 0.9 + 0.05, np.array([0.4, 0.4, 0.4])


def thresholds(y, s):
    out = []
    for c in range(y.shape[1]):
        if y[:, c].sum() == 0:
            out.append(0.5)
            continue
        precision, recall, t = precision_recall_curve(y[:, c], s[:, c].astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.nan_to_num(2 * precision[:-1] * recall[:-1] / (precision[:-1] + recall[:-1]))
        out.append(float(t[int(np.argmax(f1))]))
    return out


def metrics(y, s, t):
    s64 = s.astype(np.float64)
    predicted = (s64 >= np.array(t)).astype(int)
    k = y.shape[1]
    p, r, f, support = precision_recall_fscore_support(y, predicted, average=None, zero_division=0)
    aps = [average_precision_score(y[:, c], s64[:, c]) if y[:, c].sum() > 0 else None for c in range(k)]
    aucs = [roc_auc_score(y[:, c], s64[:, c]) if 0 < y[:, c].sum() < len(y) else None for c in range(k)]
    return {
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": support.tolist(),
        "average_precision": aps, "auc": aucs,
        "mean_average_precision": float(np.mean([a for a in aps if a is not None])),
        "micro_precision": precision_score(y, predicted, average="micro", zero_division=0),
        "micro_recall": recall_score(y, predicted, average="micro", zero_division=0),
        "micro_f1": f1_score(y, predicted, average="micro", zero_division=0),
        "macro_f1": f1_score(y, predicted, average="macro", zero_division=0),
        "subset_accuracy": accuracy_score(y, predicted),
        "hamming_loss": hamming_loss(y, predicted),
        "label_cardinality": float(y.sum(axis=1).mean()),
        "predicted_label_cardinality": float(predicted.sum(axis=1).mean()),
        "co_occurrence": (y.T @ predicted).tolist(),
    }


def main():
    rng = np.random.default_rng(20261203)
    os.makedirs(OUT, exist_ok=True)
    warnings.simplefilter("ignore")
    for make in [case_sigmoid, case_ties, case_edges, case_perfect]:
        name, yv, sv, yt, st, prevalence = make(rng)
        t = thresholds(yv, sv)
        expected = metrics(yt, st, t)
        expected["sklearn_version"] = sklearn.__version__
        expected["thresholds"] = t
        expected["confidence"] = {}
        for c in CONFIDENCE:
            predicted = (st.astype(np.float64) >= c).astype(int)
            expected["confidence"][str(c)] = {
                "precision": precision_score(yt, predicted, average="micro", zero_division=0),
                "recall": recall_score(yt, predicted, average="micro", zero_division=0),
            }
        constant = np.tile(prevalence.astype(np.float32), (len(yt), 1))
        base = metrics(yt, constant, [0.0 if p >= 0.5 else 1.5 for p in prevalence])
        expected["baseline"] = {key: base[key] for key in
                                ["mean_average_precision", "micro_f1", "macro_f1", "subset_accuracy", "hamming_loss"]}
        doc = {
            "name": name, "labels": yt.shape[1],
            "validation_targets": yv.ravel().tolist(),
            "validation_scores": [float(v) for v in sv.astype(np.float64).ravel()],
            "test_targets": yt.ravel().tolist(),
            "test_scores": [float(v) for v in st.astype(np.float64).ravel()],
            "train_prevalence": [float(p) for p in prevalence],
            "expected": expected,
        }
        path = os.path.join(OUT, f"multilabel_{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(path, "mAP", expected["mean_average_precision"], "thresholds", t)


if __name__ == "__main__":
    main()
