/// Everything that can go wrong when scoring predictions or building a report.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The probability array does not hold `examples × classes` values.
    case shapeMismatch(probabilities: Int, examples: Int, classes: Int)
    /// There must be at least one class and one example.
    case empty
    /// `labels[index]` is not in `0..<classes`.
    case labelOutOfRange(index: Int, label: Int, classes: Int)
    /// A score is NaN or infinite (flat index into the probability array).
    case nonFiniteScore(index: Int)
    /// `classNames` must name every class exactly once, in index order.
    case classNamesMismatch(names: Int, classes: Int)
    /// Top-k accuracy needs `1 ≤ k`.
    case invalidTopK(Int)
    /// The score threshold must be a finite number in `[0, 1]`.
    case invalidThreshold(Double)
    /// A reference or thumbnail list does not have one entry per example.
    case attachmentCountMismatch(expected: Int, actual: Int)
    /// The report could not be encoded or decoded as JSON.
    case json(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(probabilities, examples, classes):
            "\(probabilities) probabilities for \(examples) examples × \(classes) classes"
        case .empty: "nothing to evaluate: no examples or no classes"
        case let .labelOutOfRange(index, label, classes): "label \(label) of example \(index) is outside 0..<\(classes)"
        case let .nonFiniteScore(index): "score \(index) is not a finite number"
        case let .classNamesMismatch(names, classes): "\(names) class names for \(classes) classes"
        case let .invalidTopK(k): "top-k accuracy needs k ≥ 1, got \(k)"
        case let .invalidThreshold(t): "score threshold \(t) is outside [0, 1]"
        case let .attachmentCountMismatch(expected, actual): "\(actual) entries for \(expected) examples"
        case let .json(message): "report JSON: \(message)"
        }
    }
}
