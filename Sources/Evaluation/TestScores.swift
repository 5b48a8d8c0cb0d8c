import Foundation

/// Every TEST example's scores from a model's one TEST evaluation, kept beside the report
/// (`test_scores.json`) so the evaluation can be looked at per example and at any score threshold
/// after the job has ended: the metrics (and, single-label, the confusion matrix) at a threshold, each
/// label's precision–recall curve, the examples behind a confusion-matrix cell or a label's errors.
public struct TestScores: Codable, Sendable {
    /// One TEST example.
    public struct Example: Codable, Sendable, Equatable {
        /// Its index in the job's decoded dataset (`dataset.avcache`), where its pixels are.
        public var image: Int
        /// Its line in the dataset's manifest.
        public var line: Int
        /// Its true label indices in `0..<K`: exactly one for a single-label model, any number for a
        /// multi-label one.
        public var labels: [Int]
        /// `[K]` scores as the report's metrics read them: softmax (single-label) or one sigmoid per label.
        public var scores: [Float]

        public init(image: Int, line: Int, labels: [Int], scores: [Float]) {
            self.image = image
            self.line = line
            self.labels = labels
            self.scores = scores
        }

        /// Whether label `c` is one of its true labels.
        public func has(_ c: Int) -> Bool { labels.contains(c) }
    }

    /// `[K]` label names, in class-index order.
    public var labels: [String]
    /// Whether the model scores each label on its own (an example may have any number of labels).
    public var multiLabel: Bool
    /// `[N]` examples, in TEST order (the order of the report's metrics).
    public var examples: [Example]

    enum CodingKeys: String, CodingKey { case labels, multiLabel = "multi_label", examples }

    /// Checks that there are examples and labels, that every example has `K` finite scores and label
    /// indices in `0..<K` (exactly one unless `multiLabel`).
    /// - Throws: `EvaluationError.empty`, `.shapeMismatch`, `.labelOutOfRange`, `.nonFiniteScore`.
    public init(labels: [String], multiLabel: Bool = false, examples: [Example]) throws(EvaluationError) {
        guard !labels.isEmpty, !examples.isEmpty else { throw .empty }
        for (index, example) in examples.enumerated() {
            guard example.scores.count == labels.count, multiLabel || example.labels.count == 1 else {
                throw .shapeMismatch(probabilities: example.scores.count, examples: 1, classes: labels.count)
            }
            if let bad = example.labels.first(where: { !(0..<labels.count).contains($0) }) {
                throw .labelOutOfRange(index: index, label: bad, classes: labels.count)
            }
            if example.scores.contains(where: { !$0.isFinite }) { throw .nonFiniteScore(index: index) }
        }
        self.labels = labels
        self.multiLabel = multiLabel
        self.examples = examples
    }

    /// Decodes a `test_scores.json` file and validates it.
    /// - Throws: `EvaluationError.json` for unreadable JSON, other `EvaluationError`s for bad contents.
    public static func decode(_ data: Data) throws(EvaluationError) -> TestScores {
        let decoded: TestScores
        do { decoded = try JSONDecoder().decode(TestScores.self, from: data) } catch { throw .json("\(error)") }
        return try TestScores(labels: decoded.labels, multiLabel: decoded.multiLabel, examples: decoded.examples)
    }

    /// The file's bytes.
    public func jsonData() throws(EvaluationError) -> Data {
        do { return try JSONEncoder().encode(self) } catch { throw .json("\(error)") }
    }
}
