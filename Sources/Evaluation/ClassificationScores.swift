/// Validated classifier outputs on a labelled set: the one input every metric in this module reads.
///
/// Shapes: `probabilities` row-major `[N, K]` (softmax scores, each row summing to 1), `labels` `[N]`
/// true class indices in `0..<K`. Scores stay `Float` as the network produced them; every metric
/// accumulates in `Double`.
public struct ClassificationScores: Sendable, Equatable {
    /// Row-major `[N, K]` scores.
    public let probabilities: [Float]
    /// `[N]` true class indices in `0..<K`.
    public let labels: [Int]
    /// K, the number of classes.
    public let classCount: Int

    /// N, the number of examples.
    public var count: Int { labels.count }

    /// Checks shapes, label range and that every score is finite.
    /// - Throws: `EvaluationError.shapeMismatch`, `.empty`, `.labelOutOfRange`, `.nonFiniteScore`.
    public init(probabilities: [Float], labels: [Int], classCount: Int) throws(EvaluationError) {
        guard classCount > 0, !labels.isEmpty else { throw .empty }
        guard probabilities.count == labels.count * classCount else {
            throw .shapeMismatch(probabilities: probabilities.count, examples: labels.count, classes: classCount)
        }
        for (index, label) in labels.enumerated() where label < 0 || label >= classCount {
            throw .labelOutOfRange(index: index, label: label, classes: classCount)
        }
        for (index, score) in probabilities.enumerated() where !score.isFinite {
            throw .nonFiniteScore(index: index)
        }
        self.probabilities = probabilities
        self.labels = labels
        self.classCount = classCount
    }

    /// Score of class `c` for example `i`, widened to `Double`.
    @inlinable public func score(_ i: Int, _ c: Int) -> Double { Double(probabilities[i * classCount + c]) }

    /// The predicted class of each example, `[N]`: the argmax of its row, ties going to the lowest
    /// class index (as `numpy.argmax`).
    public var predictedLabels: [Int] {
        (0..<count).map { i in
            let row = probabilities[(i * classCount)..<((i + 1) * classCount)]
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            return best - i * classCount
        }
    }

    /// Number of true examples of each class, `[K]`.
    public var support: [Int] {
        var support = [Int](repeating: 0, count: classCount)
        for label in labels { support[label] += 1 }
        return support
    }
}
