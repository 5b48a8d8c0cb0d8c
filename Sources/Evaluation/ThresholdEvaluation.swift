import Foundation

/// A model's TEST evaluation at one score threshold, from `TestScores`.
///
/// Two rules, each the field's usual one:
/// - `precision`, `recall`, `f1` and `per_label` count every (example, label) pair whose score is at
///   least the threshold as a prediction (one-vs-rest, as AutoML Vision and Vertex AI's per-label
///   slices do); the micro values equal the report's `confidence_metrics` entry at that threshold.
/// - The confusion matrix (single-label only) gives each example one prediction: its top label when
///   that label's score is at least the threshold, else none (the last column). At threshold 0 it is
///   the report's matrix.
///
/// Source: Google Cloud, "Evaluating AutoML models" (score threshold, precision, recall, confusion matrix).
public struct ThresholdEvaluation: Codable, Sendable, Equatable {
    /// In `[0, 1]`.
    public var threshold: Double
    /// Micro precision over all (example, label) pairs with score ≥ threshold.
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// `[K]`, one entry per label in class-index order.
    public var perLabel: [LabelAtThreshold]
    /// `nil` for a multi-label model (the report's co-occurrence matrix takes its place).
    public var confusionMatrix: ThresholdConfusionMatrix?

    enum CodingKeys: String, CodingKey {
        case threshold, precision, recall, f1
        case perLabel = "per_label", confusionMatrix = "confusion_matrix"
    }
}

/// One label's one-vs-rest counts at a threshold: its pairs with score ≥ threshold are its predictions.
public struct LabelAtThreshold: Codable, Sendable, Equatable {
    public var label: String
    /// TP / (TP + FP); 0 when nothing reaches the threshold.
    public var precision: Double
    /// TP / (TP + FN); 0 for a label without TEST examples.
    public var recall: Double
    public var f1: Double
    public var truePositives: Int
    public var falsePositives: Int
    public var falseNegatives: Int

    enum CodingKeys: String, CodingKey {
        case label, precision, recall, f1
        case truePositives = "true_positives", falsePositives = "false_positives", falseNegatives = "false_negatives"
    }

    init(label: String, truePositives tp: Int, falsePositives fp: Int, falseNegatives fn: Int) {
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        self.label = label
        precision = ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = ratio(2 * tp, 2 * tp + fp + fn)
        truePositives = tp
        falsePositives = fp
        falseNegatives = fn
    }
}

/// The confusion matrix at a threshold: `counts[t][p]` examples of true label `t` whose top label `p`
/// reached the threshold, and `counts[t][K]` those whose top label did not (no prediction).
public struct ThresholdConfusionMatrix: Codable, Sendable, Equatable {
    /// `[K]` labels; the columns are these and then "no prediction".
    public var labels: [String]
    /// `[K][K + 1]` example counts.
    public var counts: [[Int]]
    /// `[K][K + 1]` counts divided by their row total (0 for a label without TEST examples).
    public var normalized: [[Double]]
}

/// A label's precision–recall curve at the 101 thresholds 0.00, 0.01, …, 1.00, one-vs-rest.
public struct LabelCurve: Codable, Sendable, Equatable {
    public var label: String
    /// Area under the exact precision–recall curve (sklearn `average_precision_score`); `nil` without TEST examples.
    public var averagePrecision: Double?
    /// Number of TEST examples of the label.
    public var support: Int
    public var confidenceMetrics: [ConfidencePoint]

    enum CodingKeys: String, CodingKey {
        case label, support
        case averagePrecision = "average_precision", confidenceMetrics = "confidence_metrics"
    }
}

extension TestScores {
    /// The evaluation at `threshold`.
    /// - Throws: `EvaluationError.invalidThreshold` unless `0 ≤ threshold ≤ 1`.
    public func evaluation(at threshold: Double) throws(EvaluationError) -> ThresholdEvaluation {
        guard threshold.isFinite, (0...1).contains(threshold) else { throw .invalidThreshold(threshold) }
        let k = labels.count
        var tp = [Int](repeating: 0, count: k), fp = tp, fn = tp
        var counts = [[Int]](repeating: [Int](repeating: 0, count: k + 1), count: k)
        for example in examples {
            for c in 0..<k {
                let predicted = Double(example.scores[c]) >= threshold
                if example.has(c) { if predicted { tp[c] += 1 } else { fn[c] += 1 } } else if predicted { fp[c] += 1 }
            }
            if !multiLabel {
                let top = Self.topLabel(example.scores)
                counts[example.labels[0]][Double(example.scores[top]) >= threshold ? top : k] += 1
            }
        }
        // Micro: the pairs pooled over labels, as both reports count them (ClassificationScores.thresholdMetrics,
        // MultiLabelEvaluation.confidenceMetrics).
        let pooled = LabelAtThreshold(label: "", truePositives: tp.reduce(0, +), falsePositives: fp.reduce(0, +), falseNegatives: fn.reduce(0, +))
        let micro = ConfidencePoint(threshold: threshold, precision: pooled.precision, recall: pooled.recall)
        return ThresholdEvaluation(
            threshold: threshold, precision: micro.precision, recall: micro.recall, f1: micro.f1,
            perLabel: (0..<k).map { LabelAtThreshold(label: labels[$0], truePositives: tp[$0], falsePositives: fp[$0], falseNegatives: fn[$0]) },
            confusionMatrix: multiLabel ? nil
                : ThresholdConfusionMatrix(labels: labels, counts: counts, normalized: ClassificationScores.normalizeRows(counts)))
    }

    /// Each label's one-vs-rest precision–recall curve and average precision (`BinaryRanking.averagePrecision`,
    /// as both reports compute it).
    public func curves() -> [LabelCurve] {
        labels.indices.map { c in
            let scores = examples.map { Double($0.scores[c]) }, positives = examples.map { $0.has(c) }
            let support = positives.filter { $0 }.count
            let points = (0...100).map { step in
                let threshold = Double(step) / 100
                var tp = 0, fp = 0
                for (score, positive) in zip(scores, positives) where score >= threshold {
                    if positive { tp += 1 } else { fp += 1 }
                }
                let point = LabelAtThreshold(label: labels[c], truePositives: tp, falsePositives: fp, falseNegatives: support - tp)
                return ConfidencePoint(threshold: threshold, precision: point.precision, recall: point.recall)
            }
            return LabelCurve(label: labels[c], averagePrecision: BinaryRanking.averagePrecision(scores: scores, positives: positives),
                              support: support, confidenceMetrics: points)
        }
    }

    /// The top label of `scores`, ties going to the lowest index (as `ClassificationScores.predictedLabels`).
    static func topLabel(_ scores: [Float]) -> Int {
        var best = 0
        for c in scores.indices where scores[c] > scores[best] { best = c }
        return best
    }
}

/// Which TEST examples to list, at a score threshold.
public enum ExampleSelection: Sendable, Equatable {
    /// Every example, or those with one true label.
    case all(trueLabel: Int?)
    /// A cell of `ThresholdConfusionMatrix` (single-label models): true label `trueLabel`, top label `predicted` reaching
    /// the threshold, or (`nil`) no label reaching it.
    case cell(trueLabel: Int, predicted: Int?)
    /// The label's false positives: its score reaches the threshold, it is not a true label.
    case falsePositives(Int)
    /// The label's false negatives: it is a true label, its score is below the threshold.
    case falseNegatives(Int)
}

extension TestScores {
    /// The indices into `examples` of `selection` at `threshold`, most confident first: false
    /// positives by the label's score, highest first; false negatives by the label's score, lowest first
    /// (the most confident misses); the others by their top score, highest first; ties in TEST order.
    public func indices(_ selection: ExampleSelection, threshold: Double) -> [Int] {
        // Most confident first: each example's top score found once, not in every comparison.
        func byTopScore(_ indices: [Int]) -> [Int] {
            indices.map { ($0, examples[$0].scores.max() ?? 0) }.sorted { ($0.1, -$0.0) > ($1.1, -$1.0) }.map(\.0)
        }
        switch selection {
        case let .all(trueLabel):
            return byTopScore(examples.indices.filter { i in trueLabel.map { examples[i].has($0) } ?? true })
        case let .cell(trueLabel, predicted):
            return byTopScore(examples.indices.filter { i in
                let example = examples[i], best = Self.topLabel(example.scores)
                let answer = Double(example.scores[best]) >= threshold ? best : nil
                return example.has(trueLabel) && answer == predicted
            })
        case let .falsePositives(c):
            return examples.indices.filter { !examples[$0].has(c) && Double(examples[$0].scores[c]) >= threshold }
                .sorted { (examples[$0].scores[c], -$0) > (examples[$1].scores[c], -$1) }
        case let .falseNegatives(c):
            return examples.indices.filter { examples[$0].has(c) && Double(examples[$0].scores[c]) < threshold }
                .sorted { (examples[$0].scores[c], $0) < (examples[$1].scores[c], $1) }
        }
    }
}
