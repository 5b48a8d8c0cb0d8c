import Foundation

/// Every TEST example's scores from a single-label model's one TEST evaluation, kept beside the
/// report (`test_scores.json`) so the evaluation can be looked at per example and at any score
/// threshold after the job has ended: the confusion matrix at a threshold, each label's
/// precision–recall curve, the examples behind a confusion-matrix cell or a label's errors.
public struct TestScores: Codable, Sendable {
    /// One TEST example.
    public struct Example: Codable, Sendable, Equatable {
        /// Its index in the job's decoded dataset (`dataset.avcache`), where its pixels are.
        public var image: Int
        /// Its line in the dataset's manifest.
        public var line: Int
        /// Its true class index in `0..<K`.
        public var label: Int
        /// `[K]` softmax scores, as the report's metrics read them.
        public var scores: [Float]

        public init(image: Int, line: Int, label: Int, scores: [Float]) {
            self.image = image
            self.line = line
            self.label = label
            self.scores = scores
        }
    }

    /// `[K]` label names, in class-index order.
    public var labels: [String]
    /// `[N]` examples, in TEST order (the order of the report's metrics).
    public var examples: [Example]

    /// Checks that every example has `K` finite scores and a label in `0..<K`.
    /// - Throws: `EvaluationError` as `ClassificationScores.init` does.
    public init(labels: [String], examples: [Example]) throws(EvaluationError) {
        self.labels = labels
        self.examples = examples
        _ = try classificationScores()
    }

    /// The same examples as `ClassificationScores`, the input of every metric in this module.
    /// - Throws: `EvaluationError` for inconsistent shapes, labels or scores (a damaged file).
    public func classificationScores() throws(EvaluationError) -> ClassificationScores {
        if let bad = examples.first(where: { $0.scores.count != labels.count }) {
            throw .shapeMismatch(probabilities: bad.scores.count, examples: 1, classes: labels.count)
        }
        return try ClassificationScores(probabilities: examples.flatMap(\.scores), labels: examples.map(\.label), classCount: labels.count)
    }

    /// Decodes a `test_scores.json` file and validates it.
    /// - Throws: `EvaluationError.json` for unreadable JSON, other `EvaluationError`s for bad contents.
    public static func decode(_ data: Data) throws(EvaluationError) -> TestScores {
        let decoded: TestScores
        do { decoded = try JSONDecoder().decode(TestScores.self, from: data) } catch { throw .json("\(error)") }
        return try TestScores(labels: decoded.labels, examples: decoded.examples)
    }

    /// The file's bytes.
    public func jsonData() throws(EvaluationError) -> Data {
        do { return try JSONEncoder().encode(self) } catch { throw .json("\(error)") }
    }
}
