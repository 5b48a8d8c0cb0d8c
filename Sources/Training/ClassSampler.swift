import Foundation
import Tensors

/// How often each class's TRAIN examples are drawn into an epoch.
///
/// With `q` = 1 for `natural`, ½ for `squareRoot` and 0 for `balanced`, class `c` with `n_c`
/// examples fills a share `n_c^q / Σ_k n_k^q` of each epoch: Kang et al. 2020, "Decoupling
/// Representation and Classifier for Long-Tailed Recognition" (ICLR), section 3.1; square-root
/// sampling is Mahajan et al. 2018's. An epoch keeps its length (TRAIN's size), so a rare class's
/// examples repeat within it and a large class's are only partly seen.
public enum ClassSampling: String, Codable, Sendable, CaseIterable {
    /// Every example once per epoch, in a new random order (instance-balanced).
    case natural
    /// Classes in proportion to the square root of their size.
    case squareRoot = "square_root"
    /// Every class equally often.
    case balanced

    /// The exponent `q` of the class sizes.
    public var exponent: Double {
        switch self {
        case .natural: 1
        case .squareRoot: 0.5
        case .balanced: 0
        }
    }
}

/// Draws the example order of an epoch under a `ClassSampling` (single-label only).
///
/// Each draw picks a class with probability `n_c^q / Σ_k n_k^q`, then that class's next example
/// from a queue of its examples in random order, reshuffled once used up, so within a class every
/// example is seen before any is repeated (less variance than drawing with replacement).
struct ClassSampler {
    private var examples: [[Int]]
    private var next: [Int]
    /// Cumulative class probabilities, the last one 1.
    private let cumulative: [Double]

    /// - Parameters:
    ///   - indices: the TRAIN examples to draw from (dataset indices).
    ///   - labels: the class of each dataset index.
    init(indices: [Int], labels: (Int) -> Int, sampling: ClassSampling) {
        var byClass: [Int: [Int]] = [:]
        for index in indices { byClass[labels(index), default: []].append(index) }
        examples = byClass.keys.sorted().map { byClass[$0]! }
        next = Array(repeating: 0, count: examples.count)
        let weights = examples.map { pow(Double($0.count), sampling.exponent) }
        let total = weights.reduce(0, +)
        var sum = 0.0
        cumulative = weights.map { sum += $0 / total; return sum }
    }

    /// `count` dataset indices: the epoch's order.
    mutating func epoch(count: Int, using generator: inout SeededGenerator) -> [Int] {
        guard !examples.isEmpty else { return [] }
        return (0..<count).map { _ in
            let roll = Double.random(in: 0..<1, using: &generator)
            let c = cumulative.firstIndex { roll < $0 } ?? cumulative.count - 1
            if next[c] == 0 { examples[c].shuffle(using: &generator) }
            let index = examples[c][next[c]]
            next[c] = (next[c] + 1) % examples[c].count
            return index
        }
    }
}
