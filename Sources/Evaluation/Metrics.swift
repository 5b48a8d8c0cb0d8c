import Foundation

/// Precision, recall, F1 and support of one class, with scikit-learn's `zero_division=0` semantics.
public struct ClassPrecisionRecall: Sendable, Equatable {
    /// TP / (TP + FP); **0 when the class is never predicted** (sklearn `zero_division=0`).
    public var precision: Double
    /// TP / (TP + FN); 0 when the class has no true examples.
    public var recall: Double
    /// 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double
    /// Number of true examples of the class.
    public var support: Int
}

/// Micro precision and recall over every (example, class) pair whose score reaches a threshold.
public struct ThresholdMetrics: Sendable, Equatable {
    /// The score threshold in `[0, 1]`; a pair is a prediction when `score ≥ threshold`.
    public var threshold: Double
    /// TP / (TP + FP); 0 when no pair reaches the threshold.
    public var precision: Double
    /// TP / (TP + FN) = TP / N, since each example has exactly one true class.
    public var recall: Double
    public var truePositives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
}

/// An off-diagonal cell of the confusion matrix.
public struct ConfusedClassPair: Sendable, Equatable {
    public var trueClass: Int
    public var predictedClass: Int
    /// Number of examples of `trueClass` predicted as `predictedClass`.
    public var count: Int
}

/// A misclassified example, by index into the evaluated arrays.
public struct Misclassification: Sendable, Equatable {
    /// Row index into `probabilities` / `labels`.
    public var index: Int
    public var trueClass: Int
    /// The argmax class.
    public var predictedClass: Int
    /// The score of `predictedClass`: the confidence of the mistake.
    public var score: Double
}

extension ClassificationScores {
    /// Fraction of examples whose argmax equals the label (`sklearn.metrics.accuracy_score`), in [0, 1].
    public func accuracy() -> Double {
        let predicted = predictedLabels
        let hits = zip(predicted, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return Double(hits) / Double(count)
    }

    /// Fraction of examples whose label is among the `k` highest scores, in [0, 1].
    ///
    /// Matches `sklearn.metrics.top_k_accuracy_score`, including its tie rule: classes are ranked
    /// by a stable ascending sort reversed, so among equal scores the *higher* class index ranks
    /// first. The label is a hit when fewer than `k` classes rank above it — i.e. fewer than `k`
    /// classes have a higher score, or an equal score and a higher index. With tied scores top-1
    /// can therefore differ from `accuracy()`, which breaks ties towards the lowest index like
    /// `numpy.argmax`. `k ≥ K` gives 1.
    /// - Throws: `EvaluationError.invalidTopK` when `k < 1`.
    public func topKAccuracy(k: Int) throws(EvaluationError) -> Double {
        guard k >= 1 else { throw .invalidTopK(k) }
        var hits = 0
        for i in 0..<count {
            let y = labels[i]
            let base = i * classCount
            let target = probabilities[base + y]
            var above = 0
            for c in 0..<classCount {
                let s = probabilities[base + c]
                if s > target || (s == target && c > y) { above += 1 }
            }
            if above < k { hits += 1 }
        }
        return Double(hits) / Double(count)
    }

    /// Confusion matrix `[K][K]` of counts: rows are true classes, columns predicted (argmax) classes,
    /// as `sklearn.metrics.confusion_matrix(labels=range(K))`.
    public func confusionMatrix() -> [[Int]] {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (label, predicted) in zip(labels, predictedLabels) { matrix[label][predicted] += 1 }
        return matrix
    }

    /// Row-normalised confusion matrix `[K][K]`: each row divided by the class's support, so row `t`
    /// is the distribution of predictions for true class `t` (sklearn `normalize='true'`). A class
    /// with no true examples gets a row of zeros where sklearn would give NaN.
    public func normalizedConfusionMatrix() -> [[Double]] {
        Self.normalizeRows(confusionMatrix())
    }

    static func normalizeRows(_ counts: [[Int]]) -> [[Double]] {
        counts.map { row in
            let total = row.reduce(0, +)
            return row.map { total == 0 ? 0 : Double($0) / Double(total) }
        }
    }

    /// Per-class precision, recall, F1 and support, `[K]`, of the argmax predictions.
    ///
    /// Matches `sklearn.metrics.precision_recall_fscore_support(labels=range(K), zero_division=0)`:
    /// a class that is never predicted has precision 0 (not NaN), a class with no true examples has
    /// recall 0, and F1 is 0 when precision and recall are both 0.
    public func precisionRecall() -> [ClassPrecisionRecall] {
        let matrix = confusionMatrix()
        return (0..<classCount).map { c in
            let tp = matrix[c][c]
            let support = matrix[c].reduce(0, +)
            let predicted = matrix.reduce(0) { $0 + $1[c] }
            let fp = predicted - tp, fn = support - tp
            func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
            return ClassPrecisionRecall(
                precision: ratio(tp, predicted), recall: ratio(tp, support),
                f1: ratio(2 * tp, 2 * tp + fp + fn), support: support)
        }
    }

    /// Mean negative log-likelihood of the true class, natural log (`sklearn.metrics.log_loss`).
    ///
    /// Scores are clipped to `[ε, 1 − ε]` with ε = `Float.ulpOfOne` (float32 machine epsilon,
    /// ≈ 1.19e-7, as recent scikit-learn does for float32 input), so the loss is finite and at most
    /// `−ln ε ≈ 15.9`. Rows are not renormalised. Units: nats per example.
    public func logLoss() -> Double {
        let epsilon = Double(Float.ulpOfOne)
        var total = 0.0
        for i in 0..<count {
            let p = min(max(score(i, labels[i]), epsilon), 1 - epsilon)
            total -= Foundation.log(p)
        }
        return total / Double(count)
    }

    /// Micro precision and recall at a score threshold, as AutoML Vision reports them.
    ///
    /// Every (example, class) pair with `score ≥ threshold` is a prediction; it is a true positive
    /// when the class is the example's label. Precision = TP / (TP + FP) over all predicted pairs
    /// (0 when there are none), recall = TP / (TP + FN) over the N true pairs. Equals
    /// `sklearn.metrics.precision_score(onehot, scores >= t, average='micro', zero_division=0)` and
    /// the matching `recall_score`.
    /// Source: Google Cloud AutoML Vision, "Evaluating models"
    /// (https://cloud.google.com/vision/automl/docs/evaluate) — score threshold, precision and recall.
    /// - Throws: `EvaluationError.invalidThreshold` unless `0 ≤ threshold ≤ 1`.
    public func thresholdMetrics(threshold: Double = 0.5) throws(EvaluationError) -> ThresholdMetrics {
        guard threshold.isFinite, (0...1).contains(threshold) else { throw .invalidThreshold(threshold) }
        var tp = 0, fp = 0
        for i in 0..<count {
            for c in 0..<classCount where score(i, c) >= threshold {
                if c == labels[i] { tp += 1 } else { fp += 1 }
            }
        }
        let fn = count - tp
        return ThresholdMetrics(
            threshold: threshold,
            precision: tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp),
            recall: Double(tp) / Double(count),
            truePositives: tp, falsePositives: fp, falseNegatives: fn)
    }

    /// The `limit` largest off-diagonal confusion-matrix cells with a non-zero count, sorted by
    /// count (descending), then true class, then predicted class.
    public func mostConfused(limit: Int = 5) -> [ConfusedClassPair] {
        Self.mostConfused(in: confusionMatrix(), limit: limit)
    }

    static func mostConfused(in matrix: [[Int]], limit: Int) -> [ConfusedClassPair] {
        var pairs = [ConfusedClassPair]()
        for (t, row) in matrix.enumerated() {
            for (p, n) in row.enumerated() where t != p && n > 0 {
                pairs.append(ConfusedClassPair(trueClass: t, predictedClass: p, count: n))
            }
        }
        pairs.sort { ($1.count, $0.trueClass, $0.predictedClass) < ($0.count, $1.trueClass, $1.predictedClass) }
        return Array(pairs.prefix(max(0, limit)))
    }

    /// Misclassified examples grouped by true class (class 0 first), at most `perClass` per class,
    /// each group ordered by the score of the wrongly predicted class (most confident mistake
    /// first, ties by ascending index).
    public func misclassified(perClass: Int = 5) -> [Misclassification] {
        let predicted = predictedLabels
        var byClass = [[Misclassification]](repeating: [], count: classCount)
        for i in 0..<count where predicted[i] != labels[i] {
            byClass[labels[i]].append(Misclassification(
                index: i, trueClass: labels[i], predictedClass: predicted[i], score: score(i, predicted[i])))
        }
        return byClass.flatMap { group in
            group.sorted { ($1.score, $0.index) < ($0.score, $1.index) }.prefix(max(0, perClass))
        }
    }
}
