import Foundation

/// Validated multi-label outputs on a labelled set: each of K labels scored on its own.
///
/// Shapes: `scores` row-major `[N, K]` (one sigmoid per label, each in [0, 1], rows need not sum to
/// 1), `targets` row-major `[N, K]`, 1 where the example has the label and 0 elsewhere. An example
/// may have no label at all. Every metric accumulates in `Double`.
public struct MultiLabelScores: Sendable, Equatable {
    public let scores: [Float]
    public let targets: [UInt8]
    /// K, the number of labels.
    public let labelCount: Int

    /// N, the number of examples.
    public var count: Int { targets.count / labelCount }

    /// - Throws: `EvaluationError.empty`, `.shapeMismatch`, `.nonFiniteScore`.
    public init(scores: [Float], targets: [UInt8], labelCount: Int) throws(EvaluationError) {
        guard labelCount > 0, !targets.isEmpty else { throw .empty }
        guard targets.count % labelCount == 0, scores.count == targets.count else {
            throw .shapeMismatch(probabilities: scores.count, examples: targets.count / labelCount, classes: labelCount)
        }
        for (index, score) in scores.enumerated() where !score.isFinite { throw .nonFiniteScore(index: index) }
        self.scores = scores
        self.targets = targets
        self.labelCount = labelCount
    }

    /// Score of label `k` for example `i`.
    @inlinable public func score(_ i: Int, _ k: Int) -> Double { Double(scores[i * labelCount + k]) }
    /// Whether example `i` has label `k`.
    @inlinable public func has(_ i: Int, _ k: Int) -> Bool { targets[i * labelCount + k] != 0 }

    /// Label `k`'s scores and truths over every example: its own two-class problem.
    public func column(_ k: Int) -> (scores: [Double], positives: [Bool]) {
        ((0..<count).map { score($0, k) }, (0..<count).map { has($0, k) })
    }

    /// Examples with each label, `[K]`.
    public var support: [Int] { (0..<labelCount).map { k in (0..<count).filter { has($0, k) }.count } }

    /// Whether example `i` is predicted to have label `k`: its score reaches `thresholds[k]`.
    func predicted(_ i: Int, _ k: Int, _ thresholds: [Double]) -> Bool { score(i, k) >= thresholds[k] }
}

/// Per-label score thresholds (issue 24, item 2).
public enum LabelThresholds {
    /// For each label, the score threshold (predict the label when its score reaches it) that
    /// maximises that label's F1 on `scores` — the thresholds of scikit-learn's
    /// `precision_recall_curve`, the lowest one on a tie — or 0.5 for a label with no positive.
    /// Fit on VALIDATION: TEST stays unseen until the evaluation.
    public static func maximizingF1(_ scores: MultiLabelScores) -> [Double] {
        (0..<scores.labelCount).map { k in
            let (values, positives) = scores.column(k)
            let total = positives.filter { $0 }.count
            guard total > 0 else { return 0.5 }
            let (tp, fp) = BinaryRanking.curve(scores: values, positives: positives)
            let thresholds = Array(Set(values)).sorted(by: >)
            var best = (f1: -1.0, threshold: 0.5)
            for (point, threshold) in zip(zip(tp, fp), thresholds) {
                let f1 = 2 * Double(point.0) / Double(point.0 + point.1 + total)
                if f1 >= best.f1 { best = (f1, threshold) }  // descending thresholds: a tie takes the lower one
            }
            return best.threshold
        }
    }
}

/// The `test` section of a multi-label job's report: every metric on the TEST partition at the
/// model's per-label thresholds, with the prevalence baseline beside them.
///
/// Definitions are scikit-learn's (1.7): per-label `precision_recall_fscore_support(zero_division=0)`,
/// `average_precision_score` and `roc_auc_score` per label, `f1_score(average='micro'/'macro')`,
/// `accuracy_score` (subset accuracy: every label of an example right), `hamming_loss` (the fraction
/// of (example, label) decisions that are wrong). Mean AP is the mean over the labels with a TEST
/// example (a label without one has no AP). Fractions in [0, 1]; undefined values are `nil`, JSON `null`.
public struct MultiLabelEvaluation: Codable, Sendable, Equatable {
    /// N, the number of TEST examples evaluated.
    public var examples: Int
    /// Mean over labels with a TEST example of their average precision; the search's score.
    public var meanAveragePrecision: Double?
    /// Precision, recall and F1 of all (example, label) decisions pooled.
    public var microPrecision: Double
    public var microRecall: Double
    public var microF1: Double
    /// Unweighted mean of the labels' F1 (every label, as scikit-learn's `average='macro'`).
    public var macroF1: Double
    /// Fraction of examples whose predicted label set is exactly the true one.
    public var subsetAccuracy: Double
    /// Fraction of (example, label) decisions that are wrong.
    public var hammingLoss: Double
    /// Mean number of true labels per example.
    public var labelCardinality: Double
    /// Mean number of predicted labels per example.
    public var predictedLabelCardinality: Double
    /// Micro precision, recall and F1 with one threshold for every label, 0.00 to 1.00 in steps of
    /// 0.01 (as Vertex AI's `confidenceMetrics` list them).
    public var confidenceMetrics: [ConfidencePoint]
    /// One entry per label, in label-index order.
    public var perLabel: [PerLabelMetrics]
    /// `[K][K]`: TEST examples that have label `row` and are predicted to have label `column`
    /// (the diagonal holds each label's true positives).
    public var coOccurrence: LabelCoOccurrence
    /// What scoring every label by its TRAIN prevalence scores on the same examples.
    public var baseline: PrevalenceBaseline

    enum CodingKeys: String, CodingKey {
        case examples
        case meanAveragePrecision = "mean_average_precision"
        case microPrecision = "micro_precision", microRecall = "micro_recall", microF1 = "micro_f1", macroF1 = "macro_f1"
        case subsetAccuracy = "subset_accuracy", hammingLoss = "hamming_loss"
        case labelCardinality = "label_cardinality", predictedLabelCardinality = "predicted_label_cardinality"
        case confidenceMetrics = "confidence_metrics", perLabel = "per_label", coOccurrence = "co_occurrence", baseline
    }

    /// Computes every metric.
    /// - Parameters:
    ///   - scores: the model's TEST scores and truths.
    ///   - labelNames: `[K]` display labels, in label-index order.
    ///   - thresholds: `[K]` score thresholds (`LabelThresholds.maximizingF1` on VALIDATION), each in [0, 1].
    ///   - trainPrevalence: `[K]` fraction of TRAIN images with each label: the baseline's constant scores.
    /// - Throws: `EvaluationError.classNamesMismatch` or `.invalidThreshold` for inconsistent arguments.
    public init(scores: MultiLabelScores, labelNames: [String], thresholds: [Double], trainPrevalence: [Double]) throws(EvaluationError) {
        let k = scores.labelCount
        guard labelNames.count == k else { throw .classNamesMismatch(names: labelNames.count, classes: k) }
        guard thresholds.count == k, trainPrevalence.count == k else { throw .classNamesMismatch(names: thresholds.count, classes: k) }
        for t in thresholds + trainPrevalence where !t.isFinite || !(0...1).contains(t) { throw .invalidThreshold(t) }
        let counts = Self.decisionCounts(scores, thresholds: thresholds)
        examples = scores.count
        (microPrecision, microRecall, microF1) = Self.precisionRecallF1(tp: counts.tp.reduce(0, +), fp: counts.fp.reduce(0, +),
                                                                        fn: counts.fn.reduce(0, +))
        subsetAccuracy = Double(counts.exactRows) / Double(examples)
        hammingLoss = Double(counts.fp.reduce(0, +) + counts.fn.reduce(0, +)) / Double(examples * k)
        labelCardinality = Double(scores.targets.reduce(0) { $0 + Int($1) }) / Double(examples)
        predictedLabelCardinality = Double(counts.tp.reduce(0, +) + counts.fp.reduce(0, +)) / Double(examples)
        var perLabel: [PerLabelMetrics] = []
        for label in 0..<k {
            let (values, positives) = scores.column(label)
            let (precision, recall, f1) = Self.precisionRecallF1(tp: counts.tp[label], fp: counts.fp[label], fn: counts.fn[label])
            perLabel.append(PerLabelMetrics(
                label: labelNames[label], threshold: thresholds[label], precision: precision, recall: recall, f1: f1,
                support: counts.tp[label] + counts.fn[label], averagePrecision: BinaryRanking.averagePrecision(scores: values, positives: positives),
                auc: BinaryRanking.rocAUC(scores: values, positives: positives), trainPrevalence: trainPrevalence[label]))
        }
        self.perLabel = perLabel
        meanAveragePrecision = ClassificationScores.mean(perLabel.map(\.averagePrecision))
        macroF1 = perLabel.map(\.f1).reduce(0, +) / Double(k)
        confidenceMetrics = (0...100).map { step in
            let t = Double(step) / 100
            let pooled = Self.decisionCounts(scores, thresholds: Array(repeating: t, count: k))
            let tp = pooled.tp.reduce(0, +), fp = pooled.fp.reduce(0, +), fn = pooled.fn.reduce(0, +)
            return ConfidencePoint(ThresholdMetrics(threshold: t, precision: tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp),
                                                    recall: tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn),
                                                    truePositives: tp, falsePositives: fp, falseNegatives: fn))
        }
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for i in 0..<examples {
            for row in 0..<k where scores.has(i, row) {
                for column in 0..<k where scores.predicted(i, column, thresholds) { matrix[row][column] += 1 }
            }
        }
        coOccurrence = LabelCoOccurrence(labels: labelNames, counts: matrix)
        baseline = try PrevalenceBaseline(scores: scores, trainPrevalence: trainPrevalence)
    }

    /// Per label: true positives, false positives and false negatives at `thresholds`; and the
    /// examples whose every label is right.
    static func decisionCounts(_ scores: MultiLabelScores, thresholds: [Double]) -> (tp: [Int], fp: [Int], fn: [Int], exactRows: Int) {
        let k = scores.labelCount
        var tp = [Int](repeating: 0, count: k), fp = tp, fn = tp
        var exact = 0
        for i in 0..<scores.count {
            var right = true
            for label in 0..<k {
                switch (scores.predicted(i, label, thresholds), scores.has(i, label)) {
                case (true, true): tp[label] += 1
                case (true, false): fp[label] += 1; right = false
                case (false, true): fn[label] += 1; right = false
                case (false, false): break
                }
            }
            if right { exact += 1 }
        }
        return (tp, fp, fn, exact)
    }

    /// Precision, recall and F1 from counts, 0 where a denominator is 0 (`zero_division=0`).
    static func precisionRecallF1(tp: Int, fp: Int, fn: Int) -> (Double, Double, Double) {
        let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        let recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        let f1 = 2 * tp + fp + fn == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn)
        return (precision, recall, f1)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(examples, forKey: .examples)
        try c.encodeFinite(meanAveragePrecision, forKey: .meanAveragePrecision)
        try c.encodeFinite(microPrecision, forKey: .microPrecision)
        try c.encodeFinite(microRecall, forKey: .microRecall)
        try c.encodeFinite(microF1, forKey: .microF1)
        try c.encodeFinite(macroF1, forKey: .macroF1)
        try c.encodeFinite(subsetAccuracy, forKey: .subsetAccuracy)
        try c.encodeFinite(hammingLoss, forKey: .hammingLoss)
        try c.encodeFinite(labelCardinality, forKey: .labelCardinality)
        try c.encodeFinite(predictedLabelCardinality, forKey: .predictedLabelCardinality)
        try c.encode(confidenceMetrics, forKey: .confidenceMetrics)
        try c.encode(perLabel, forKey: .perLabel)
        try c.encode(coOccurrence, forKey: .coOccurrence)
        try c.encode(baseline, forKey: .baseline)
    }
}

/// One row of `test.per_label`.
public struct PerLabelMetrics: Codable, Sendable, Equatable {
    public var label: String
    /// The score at or above which the label is predicted (chosen on VALIDATION).
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// TEST examples with the label.
    public var support: Int
    /// `nil` when no TEST example has the label.
    public var averagePrecision: Double?
    /// ROC AUC; `nil` when every TEST example has the label or none has.
    public var auc: Double?
    /// Fraction of TRAIN images with the label: the baseline's constant score.
    public var trainPrevalence: Double

    enum CodingKeys: String, CodingKey {
        case label, threshold, precision, recall, f1, support, auc
        case averagePrecision = "average_precision", trainPrevalence = "train_prevalence"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label)
        try c.encodeFinite(threshold, forKey: .threshold)
        try c.encodeFinite(precision, forKey: .precision)
        try c.encodeFinite(recall, forKey: .recall)
        try c.encodeFinite(f1, forKey: .f1)
        try c.encode(support, forKey: .support)
        try c.encodeFinite(averagePrecision, forKey: .averagePrecision)
        try c.encodeFinite(auc, forKey: .auc)
        try c.encodeFinite(trainPrevalence, forKey: .trainPrevalence)
    }
}

/// `test.co_occurrence`: rows are true labels, columns predicted labels, both in `labels` order.
public struct LabelCoOccurrence: Codable, Sendable, Equatable {
    public var labels: [String]
    /// `[K][K]` example counts.
    public var counts: [[Int]]
}

/// `test.baseline` of a multi-label report: every label scored by a constant, its TRAIN prevalence,
/// and predicted when that prevalence reaches 0.5 (the constant answer with the fewest wrong
/// decisions). A model that does not beat its mean AP has learned nothing about the images.
public struct PrevalenceBaseline: Codable, Sendable, Equatable {
    /// Equals the mean TEST prevalence of the labels with a TEST example: a constant score ranks nothing.
    public var meanAveragePrecision: Double?
    public var microF1: Double
    public var macroF1: Double
    public var subsetAccuracy: Double
    public var hammingLoss: Double

    enum CodingKeys: String, CodingKey {
        case meanAveragePrecision = "mean_average_precision", microF1 = "micro_f1", macroF1 = "macro_f1"
        case subsetAccuracy = "subset_accuracy", hammingLoss = "hamming_loss"
    }

    init(scores: MultiLabelScores, trainPrevalence: [Double]) throws(EvaluationError) {
        let k = scores.labelCount
        let constant = try MultiLabelScores(scores: (0..<scores.count).flatMap { _ in trainPrevalence.map { Float($0) } },
                                            targets: scores.targets, labelCount: k)
        let thresholds = trainPrevalence.map { $0 >= 0.5 ? 0.0 : 1.5 }  // predicted always, or never
        let counts = MultiLabelEvaluation.decisionCounts(constant, thresholds: thresholds)
        let n = Double(scores.count)
        meanAveragePrecision = ClassificationScores.mean((0..<k).map { label in
            let (values, positives) = constant.column(label)
            return BinaryRanking.averagePrecision(scores: values, positives: positives)
        })
        microF1 = MultiLabelEvaluation.precisionRecallF1(tp: counts.tp.reduce(0, +), fp: counts.fp.reduce(0, +), fn: counts.fn.reduce(0, +)).2
        macroF1 = (0..<k).map { MultiLabelEvaluation.precisionRecallF1(tp: counts.tp[$0], fp: counts.fp[$0], fn: counts.fn[$0]).2 }
            .reduce(0, +) / Double(k)
        subsetAccuracy = Double(counts.exactRows) / n
        hammingLoss = Double(counts.fp.reduce(0, +) + counts.fn.reduce(0, +)) / (n * Double(k))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeFinite(meanAveragePrecision, forKey: .meanAveragePrecision)
        try c.encodeFinite(microF1, forKey: .microF1)
        try c.encodeFinite(macroF1, forKey: .macroF1)
        try c.encodeFinite(subsetAccuracy, forKey: .subsetAccuracy)
        try c.encodeFinite(hammingLoss, forKey: .hammingLoss)
    }
}
