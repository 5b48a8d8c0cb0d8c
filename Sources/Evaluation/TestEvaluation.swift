import Foundation

/// The `test` section of the report: every metric of the final model on the TEST partition.
///
/// All rates are fractions in [0, 1]; `log_loss` is in nats per example. Values that are undefined
/// (AUC or AP of a class without TEST examples, a macro average over no class) are `nil`, written
/// as JSON `null`; NaN never reaches JSON.
public struct TestEvaluation: Codable, Sendable, Equatable {
    /// N, the number of TEST examples evaluated.
    public var examples: Int
    /// Fraction of examples whose argmax is the label.
    public var accuracy: Double
    /// Top-k accuracy keyed by `k` as a string (`"1"`, `"3"`, …); sklearn tie rule, see
    /// `ClassificationScores.topKAccuracy(k:)`.
    public var topKAccuracy: [String: Double]
    /// Mean one-vs-rest ROC AUC over the classes with TEST examples.
    public var macroAUC: Double?
    /// ROC AUC of all (example, class) pairs, flattened.
    public var microAUC: Double?
    /// Macro average precision (area under the PR curve) over the classes with TEST examples.
    public var averagePrecision: Double?
    /// Mean log loss, nats, probabilities clipped to `[ε, 1 − ε]` with float32 ε.
    public var logLoss: Double
    /// The score threshold for `precisionAtThreshold` / `recallAtThreshold`.
    public var scoreThreshold: Double
    /// Micro precision of all (example, class) pairs with score ≥ threshold (AutoML Vision style).
    public var precisionAtThreshold: Double
    /// Micro recall of the same pairs.
    public var recallAtThreshold: Double
    /// The same micro precision and recall at every threshold from 0.00 to 1.00 in steps of 0.01, as
    /// Vertex AI's `confidenceMetrics` list them (`nil` in reports written before it).
    public var confidenceMetrics: [ConfidencePoint]?
    /// One entry per class, in class-index order.
    public var perClass: [PerClassMetrics]
    public var confusionMatrix: ConfusionMatrix
    /// Largest off-diagonal confusion cells (up to 5 by default), largest first.
    public var mostConfused: [ConfusedPair]
    /// Misclassified examples grouped by true class, most confident mistakes first within a class.
    public var misclassified: [MisclassifiedExample]
    /// Labels of the classes with no TEST examples, left out of the macro AUC and AP.
    public var excludedFromMacro: [String]
    /// What always answering the most frequent class scores on the same examples: the accuracy a
    /// model must beat to have learned anything (`nil` only in reports written before it).
    public var baseline: MajorityBaseline?

    enum CodingKeys: String, CodingKey {
        case examples, accuracy
        case topKAccuracy = "top_k_accuracy"
        case macroAUC = "macro_auc"
        case microAUC = "micro_auc"
        case averagePrecision = "average_precision"
        case logLoss = "log_loss"
        case scoreThreshold = "score_threshold"
        case precisionAtThreshold = "precision_at_threshold"
        case recallAtThreshold = "recall_at_threshold"
        case confidenceMetrics = "confidence_metrics"
        case perClass = "per_class"
        case confusionMatrix = "confusion_matrix"
        case mostConfused = "most_confused"
        case misclassified
        case excludedFromMacro = "excluded_from_macro"
        case baseline
    }

    /// Computes every metric from raw classifier outputs.
    /// - Parameters:
    ///   - probabilities: row-major `[N, K]` softmax scores.
    ///   - labels: `[N]` true class indices in `0..<K`.
    ///   - classNames: `[K]` display labels, in class-index order.
    ///   - topK: the `k`s for top-k accuracy; values with `k ≥ K` (trivially 1) are dropped, except 1.
    ///   - scoreThreshold: threshold for the AutoML-style precision/recall, in [0, 1].
    ///   - misclassifiedPerClass: at most this many mistakes are listed per true class.
    ///   - mostConfusedLimit: number of confused class pairs listed.
    ///   - references: optional `[N]` strings identifying each example (a file path, a manifest row).
    ///   - majorityClass: the class the baseline always answers: TRAIN's most frequent, what a model
    ///     that learned only the prior predicts; `nil`: the most frequent class of `labels`.
    /// - Throws: `EvaluationError` for inconsistent shapes, labels, names, `k` or threshold.
    public init(
        probabilities: [Float], labels: [Int], classNames: [String],
        topK: [Int] = [1, 3, 5], scoreThreshold: Double = 0.5,
        misclassifiedPerClass: Int = 5, mostConfusedLimit: Int = 5,
        references: [String]? = nil, majorityClass: Int? = nil
    ) throws(EvaluationError) {
        if !labels.isEmpty, probabilities.count % labels.count == 0, probabilities.count / labels.count != classNames.count {
            throw .classNamesMismatch(names: classNames.count, classes: probabilities.count / labels.count)
        }
        let scores = try ClassificationScores(probabilities: probabilities, labels: labels, classCount: classNames.count)
        try self.init(
            scores: scores, classNames: classNames, topK: topK, scoreThreshold: scoreThreshold,
            misclassifiedPerClass: misclassifiedPerClass, mostConfusedLimit: mostConfusedLimit,
            references: references, majorityClass: majorityClass)
    }

    /// Computes every metric from validated scores; see the other initialiser for the parameters.
    public init(
        scores: ClassificationScores, classNames: [String],
        topK: [Int] = [1, 3, 5], scoreThreshold: Double = 0.5,
        misclassifiedPerClass: Int = 5, mostConfusedLimit: Int = 5,
        references: [String]? = nil, majorityClass: Int? = nil
    ) throws(EvaluationError) {
        guard classNames.count == scores.classCount else {
            throw .classNamesMismatch(names: classNames.count, classes: scores.classCount)
        }
        if let references, references.count != scores.count {
            throw .attachmentCountMismatch(expected: scores.count, actual: references.count)
        }
        examples = scores.count
        accuracy = scores.accuracy()
        var topKAccuracy = [String: Double]()
        for k in topK where k == 1 || k < scores.classCount {
            topKAccuracy[String(k)] = try scores.topKAccuracy(k: k)
        }
        self.topKAccuracy = topKAccuracy
        let aucs = scores.rocAUCPerClass(), aps = scores.averagePrecisionPerClass()
        macroAUC = ClassificationScores.mean(aucs)
        microAUC = scores.microROCAUC()
        averagePrecision = ClassificationScores.mean(aps)
        logLoss = scores.logLoss()
        let threshold = try scores.thresholdMetrics(threshold: scoreThreshold)
        self.scoreThreshold = scoreThreshold
        precisionAtThreshold = threshold.precision
        recallAtThreshold = threshold.recall
        confidenceMetrics = try (0...100).map { step throws(EvaluationError) in
            ConfidencePoint(try scores.thresholdMetrics(threshold: Double(step) / 100))
        }
        let counts = scores.confusionMatrix()
        perClass = zip(scores.precisionRecall(), classNames).enumerated().map { c, pair in
            PerClassMetrics(
                label: pair.1, precision: pair.0.precision, recall: pair.0.recall, f1: pair.0.f1,
                support: pair.0.support, auc: pair.0.support > 0 ? aucs[c] : nil,
                averagePrecision: aps[c])
        }
        confusionMatrix = ConfusionMatrix(
            labels: classNames, counts: counts, normalized: ClassificationScores.normalizeRows(counts))
        mostConfused = ClassificationScores.mostConfused(in: counts, limit: mostConfusedLimit).map {
            ConfusedPair(trueLabel: classNames[$0.trueClass], predictedLabel: classNames[$0.predictedClass], count: $0.count)
        }
        misclassified = scores.misclassified(perClass: misclassifiedPerClass).map {
            MisclassifiedExample(
                index: $0.index, trueLabel: classNames[$0.trueClass], predictedLabel: classNames[$0.predictedClass],
                score: $0.score, reference: references?[$0.index])
        }
        excludedFromMacro = zip(scores.support, classNames).filter { $0.0 == 0 }.map(\.1)
        let support = scores.support
        let majority = majorityClass.flatMap { support.indices.contains($0) ? $0 : nil }
            ?? support.indices.max { support[$0] < support[$1] } ?? 0
        baseline = MajorityBaseline(
            majorityClass: classNames.isEmpty ? "" : classNames[majority],
            accuracy: scores.count == 0 || support.isEmpty ? 0 : Double(support[majority]) / Double(scores.count))
    }

    /// Attaches PNG thumbnails to the listed misclassified examples.
    /// - Parameter png: PNG bytes for an example index (into the evaluated arrays), or `nil` for none.
    ///   Only called for the examples in `misclassified`. The caller encodes the image; this module
    ///   has no image library.
    public mutating func attachThumbnails(_ png: (Int) throws -> Data?) rethrows {
        for i in misclassified.indices {
            misclassified[i].thumbnailPNGBase64 = try png(misclassified[i].index)?.base64EncodedString()
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(examples, forKey: .examples)
        try c.encodeFinite(accuracy, forKey: .accuracy)
        try c.encode(topKAccuracy.mapValues { $0.isFinite ? $0 : nil }, forKey: .topKAccuracy)
        try c.encodeFinite(macroAUC, forKey: .macroAUC)
        try c.encodeFinite(microAUC, forKey: .microAUC)
        try c.encodeFinite(averagePrecision, forKey: .averagePrecision)
        try c.encodeFinite(logLoss, forKey: .logLoss)
        try c.encodeFinite(scoreThreshold, forKey: .scoreThreshold)
        try c.encodeFinite(precisionAtThreshold, forKey: .precisionAtThreshold)
        try c.encodeFinite(recallAtThreshold, forKey: .recallAtThreshold)
        try c.encodeIfPresent(confidenceMetrics, forKey: .confidenceMetrics)
        try c.encode(perClass, forKey: .perClass)
        try c.encode(confusionMatrix, forKey: .confusionMatrix)
        try c.encode(mostConfused, forKey: .mostConfused)
        try c.encode(misclassified, forKey: .misclassified)
        try c.encode(excludedFromMacro, forKey: .excludedFromMacro)
        try c.encodeOrNull(baseline, forKey: .baseline)
    }
}

/// `test.baseline`: the majority-class baseline, always answering one class.
public struct MajorityBaseline: Codable, Sendable, Equatable {
    /// The class always answered (TRAIN's most frequent in a job's report).
    public var majorityClass: String
    /// Fraction of the examples of that class: the baseline's accuracy.
    public var accuracy: Double

    enum CodingKeys: String, CodingKey {
        case majorityClass = "majority_class", accuracy
    }

    public init(majorityClass: String, accuracy: Double) {
        self.majorityClass = majorityClass
        self.accuracy = accuracy
    }
}

/// One row of `test.confidence_metrics`: micro precision, recall and F1 of every (example, class)
/// pair whose score reaches `threshold` (`ClassificationScores.thresholdMetrics`).
public struct ConfidencePoint: Codable, Sendable, Equatable {
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    /// Harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double

    init(threshold: Double, precision: Double, recall: Double) {
        self.threshold = threshold
        self.precision = precision
        self.recall = recall
        f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }

    init(_ metrics: ThresholdMetrics) {
        threshold = metrics.threshold
        precision = metrics.precision
        recall = metrics.recall
        f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }
}

/// One row of `test.per_class`.
public struct PerClassMetrics: Codable, Sendable, Equatable {
    public var label: String
    /// TP / (TP + FP); 0 when the class is never predicted (sklearn `zero_division=0`).
    public var precision: Double
    /// TP / support; 0 when support is 0.
    public var recall: Double
    public var f1: Double
    /// Number of TEST examples of this class.
    public var support: Int
    /// One-vs-rest ROC AUC; `nil` when the class has no TEST examples.
    public var auc: Double?
    /// One-vs-rest average precision; `nil` when the class has no TEST examples.
    public var averagePrecision: Double?

    enum CodingKeys: String, CodingKey {
        case label, precision, recall, f1, support, auc
        case averagePrecision = "average_precision"
    }

    public init(label: String, precision: Double, recall: Double, f1: Double, support: Int, auc: Double?, averagePrecision: Double?) {
        self.label = label
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
        self.auc = auc
        self.averagePrecision = averagePrecision
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label)
        try c.encodeFinite(precision, forKey: .precision)
        try c.encodeFinite(recall, forKey: .recall)
        try c.encodeFinite(f1, forKey: .f1)
        try c.encode(support, forKey: .support)
        try c.encodeFinite(auc, forKey: .auc)
        try c.encodeFinite(averagePrecision, forKey: .averagePrecision)
    }
}

/// `test.confusion_matrix`: rows are true labels, columns predicted labels, both in `labels` order.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    /// `[K]` class labels.
    public var labels: [String]
    /// `[K][K]` example counts.
    public var counts: [[Int]]
    /// `[K][K]` counts divided by their row total (0 for a class without examples).
    public var normalized: [[Double]]

    public init(labels: [String], counts: [[Int]], normalized: [[Double]]) {
        self.labels = labels
        self.counts = counts
        self.normalized = normalized
    }

    enum CodingKeys: String, CodingKey { case labels, counts, normalized }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labels = try c.decode([String].self, forKey: .labels)
        counts = try c.decode([[Int]].self, forKey: .counts)
        normalized = try c.decode([[Double?]].self, forKey: .normalized).map { $0.map { $0 ?? 0 } }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(labels, forKey: .labels)
        try c.encode(counts, forKey: .counts)
        try c.encode(normalized.map { $0.map { $0.isFinite ? $0 : nil } }, forKey: .normalized)
    }
}

/// One entry of `test.most_confused`.
public struct ConfusedPair: Codable, Sendable, Equatable {
    public var trueLabel: String
    public var predictedLabel: String
    /// Examples of `trueLabel` predicted as `predictedLabel`.
    public var count: Int

    public init(trueLabel: String, predictedLabel: String, count: Int) {
        self.trueLabel = trueLabel
        self.predictedLabel = predictedLabel
        self.count = count
    }

    enum CodingKeys: String, CodingKey {
        case trueLabel = "true_label"
        case predictedLabel = "predicted_label"
        case count
    }
}

/// One entry of `test.misclassified`.
public struct MisclassifiedExample: Codable, Sendable, Equatable {
    /// Index into the evaluated TEST arrays.
    public var index: Int
    public var trueLabel: String
    public var predictedLabel: String
    /// Score of the predicted label, in [0, 1].
    public var score: Double
    /// Caller-supplied identifier of the example (e.g. its manifest path), if any.
    public var reference: String?
    /// A small PNG of the example, base64, if the caller attached one.
    public var thumbnailPNGBase64: String?

    public init(index: Int, trueLabel: String, predictedLabel: String, score: Double, reference: String? = nil, thumbnailPNGBase64: String? = nil) {
        self.index = index
        self.trueLabel = trueLabel
        self.predictedLabel = predictedLabel
        self.score = score
        self.reference = reference
        self.thumbnailPNGBase64 = thumbnailPNGBase64
    }

    enum CodingKeys: String, CodingKey {
        case index
        case trueLabel = "true_label"
        case predictedLabel = "predicted_label"
        case score, reference
        case thumbnailPNGBase64 = "thumbnail_png_base64"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(trueLabel, forKey: .trueLabel)
        try c.encode(predictedLabel, forKey: .predictedLabel)
        try c.encodeFinite(score, forKey: .score)
        try c.encodeOrNull(reference, forKey: .reference)
        try c.encodeOrNull(thumbnailPNGBase64, forKey: .thumbnailPNGBase64)
    }
}
