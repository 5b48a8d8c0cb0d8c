#!/usr/bin/env python3
"""Writes the scikit-learn reference values for the Evaluation module's metric tests.

Usage (from the repository root):
    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python Scripts/make_metric_fixtures.py

Writes Tests/EvaluationTests/Fixtures/metrics_*.json. Each file holds the inputs (probabilities as
float32 values written in full precision, so Swift's `[Float]` holds exactly what sklearn saw),
and scikit-learn's outputs. `swift test` reads the committed files; it never runs Python.

Cases: dirichlet scores; scores rounded to tenths (many ties); a class never predicted; a class
with no true examples (support 0: its AUC/AP are null and the macro averages are taken over the
other classes, exactly as the Swift code documents); a perfect classifier.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    top_k_accuracy_score,
)
from sklearn.preprocessing import label_binarize

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "EvaluationTests", "Fixtures")
THRESHOLDS = [0.5, 0.3]


def tenths(rng, n, k, favour=None, boost=0):
    """Rows of multiples of 0.1 that sum to exactly 10 tenths; `favour[i]` gets `boost` extra weight."""
    rows = []
    for i in range(n):
        weights = np.ones(k)
        if favour is not None:
            weights[favour[i]] += boost
        counts = rng.multinomial(10, weights / weights.sum())
        rows.append(counts / 10.0)
    return np.array(rows)


def case_dirichlet(rng):
    k, n = 4, 40
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), n)
    p[np.arange(n), y] += rng.uniform(0, 0.8, n)  # better than chance
    return "dirichlet", y, p / p.sum(axis=1, keepdims=True)


def case_ties(rng):
    k, n = 5, 60
    y = rng.integers(0, k, n)
    return "ties", y, tenths(rng, n, k, favour=y, boost=2.0)


def case_never_predicted(rng):
    k, n = 4, 30
    y = rng.integers(0, k, n)
    y[:3] = 3  # class 3 has true examples...
    p = tenths(rng, n, 3, favour=np.minimum(y, 2), boost=1.5)
    p = np.hstack([p * 0.9, np.full((n, 1), 0.1)])  # ...but never wins the argmax (0.1 < max ≥ 0.9/3)
    p = np.round(p, 2)
    p[:, 0] += 1 - p.sum(axis=1)
    return "never_predicted", y, p


def case_support_zero(rng):
    k, n = 5, 50
    y = rng.choice([0, 1, 3, 4], n)  # class 2 has no true examples but does get predicted
    p = tenths(rng, n, k, favour=y, boost=1.0)
    return "support_zero", y, p


def case_perfect(rng):
    k, n = 3, 21
    y = np.arange(n) % k
    p = np.eye(k)[y]
    return "perfect", y, p


def expected(y, p32, k):
    labels = list(range(k))
    p = p32.astype(np.float64)  # sklearn's ranking metrics on exactly the float32 values
    support = np.bincount(y, minlength=k)
    out = {}
    out["sklearn_version"] = sklearn.__version__
    out["accuracy"] = accuracy_score(y, p.argmax(axis=1))
    out["predicted"] = p.argmax(axis=1).tolist()
    out["top_k_accuracy"] = {
        str(kk): top_k_accuracy_score(y, p, k=kk, labels=labels) for kk in range(1, k)
    }
    cm = confusion_matrix(y, p.argmax(axis=1), labels=labels)
    out["confusion_matrix"] = cm.tolist()
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = confusion_matrix(y, p.argmax(axis=1), labels=labels, normalize="true")
    out["confusion_matrix_normalized"] = np.nan_to_num(norm, nan=0.0).tolist()  # empty rows → 0
    pr, rc, f1, sp = precision_recall_fscore_support(
        y, p.argmax(axis=1), labels=labels, zero_division=0
    )
    out["precision"], out["recall"], out["f1"] = pr.tolist(), rc.tolist(), f1.tolist()
    out["support"] = sp.tolist()
    onehot = label_binarize(y, classes=labels)
    aucs, aps = [], []
    for c in labels:
        if 0 < support[c] < len(y):
            aucs.append(roc_auc_score(onehot[:, c], p[:, c]))
        else:
            aucs.append(None)
        aps.append(average_precision_score(onehot[:, c], p[:, c]) if support[c] > 0 else None)
    out["auc"], out["average_precision"] = aucs, aps
    out["macro_auc"] = float(np.mean([a for a in aucs if a is not None]))
    out["macro_average_precision"] = float(np.mean([a for a in aps if a is not None]))
    if all(s > 0 for s in support):  # sklearn's own macro path agrees with the mean above
        check = roc_auc_score(y, p, multi_class="ovr", average="macro", labels=labels)
        assert abs(check - out["macro_auc"]) < 1e-12, (check, out["macro_auc"])
        check = average_precision_score(onehot, p, average="macro")
        assert abs(check - out["macro_average_precision"]) < 1e-12
    out["excluded_from_macro"] = [c for c in labels if support[c] == 0]
    out["micro_auc"] = roc_auc_score(onehot, p, average="micro")
    out["log_loss"] = log_loss(y, p32, labels=labels)  # float32 input → eps = float32 epsilon
    out["threshold"] = {}
    for t in THRESHOLDS:
        predicted = (p >= t).astype(int)
        out["threshold"][str(t)] = {
            "precision": precision_score(onehot, predicted, average="micro", zero_division=0),
            "recall": recall_score(onehot, predicted, average="micro", zero_division=0),
        }
    out.update(threshold_views(y, p32, k))
    return out


def threshold_views(y, p32, k):
    """Each label's one-vs-rest precision, recall and F1 at each threshold (`TestScores.evaluation(at:)`),
    and the confusion matrix whose extra last column takes the examples whose top score is below it."""
    p = p32.astype(np.float64)
    onehot = label_binarize(y, classes=list(range(k)))
    per_label, matrices = {}, {}
    for t in THRESHOLDS:
        predicted = (p >= t).astype(int)
        per_label[str(t)] = {
            name: [float(metric(onehot[:, c], predicted[:, c], zero_division=0)) for c in range(k)]
            for name, metric in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score))
        }
        top = p.argmax(axis=1)
        answer = np.where(p[np.arange(len(y)), top] >= t, top, k)
        matrices[str(t)] = confusion_matrix(y, answer, labels=list(range(k + 1)))[:k].tolist()
    return {"threshold_per_label": per_label, "threshold_confusion_matrix": matrices}


def main():
    rng = np.random.default_rng(20240611)
    os.makedirs(OUT, exist_ok=True)
    warnings.simplefilter("ignore")
    for make in [case_dirichlet, case_ties, case_never_predicted, case_support_zero, case_perfect]:
        name, y, p = make(rng)
        p32 = p.astype(np.float32)
        k = p.shape[1]
        doc = {
            "name": name,
            "classes": k,
            "labels": y.tolist(),
            # float32 values written as the doubles they widen to: exact round trip into Swift's Float.
            "probabilities": [float(v) for v in p32.astype(np.float64).ravel()],
            "expected": expected(y, p32, k),
        }
        path = os.path.join(OUT, f"metrics_{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(path, "accuracy", doc["expected"]["accuracy"], "macro_auc", doc["expected"]["macro_auc"])


if __name__ == "__main__":
    main()
