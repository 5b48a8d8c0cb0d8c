import Foundation
import NN
import Tensors
import TestSupport
import Testing

/// The multi-label loss (issue 24): values against the textbook formula, gradients against finite
/// differences, and label weights with the single-label loss's semantics.
@Suite struct SigmoidBinaryCrossEntropyTests {
    static func logits(_ shape: Shape, seed: UInt64 = 7) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        var x = Tensor.uniform(shape: shape, in: -4...4, using: &generator)
        x[0] = 30  // far into saturation: the stable form must not overflow or lose the value
        x[1] = -30
        return x
    }

    static let targets = Tensor(shape: [3, 4], values: [1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0])

    /// `−t·log σ(z) − (1 − t)·log(1 − σ(z))` in Double, with `t = y(1 − ε) + ε/2` (Keras's
    /// `BinaryCrossentropy(label_smoothing=)`), weighted per element and averaged by the weights.
    static func textbook(_ z: Tensor, _ y: Tensor, smoothing: Double, positive: [Double]?, negative: [Double]?) -> Double {
        var total = 0.0, weights = 0.0
        for i in 0..<z.count {
            let k = i % z.shape[1], yes = y[i] > 0.5
            let t = (yes ? 1 - smoothing : 0) + smoothing / 2
            let logit = Double(z[i])
            // log σ(z) = −log(1 + e^−z), log(1 − σ(z)) = −log(1 + e^z), each computed on its stable side.
            let logP = logit >= 0 ? -log1p(exp(-logit)) : logit - log1p(exp(logit))
            let logQ = logit >= 0 ? -logit - log1p(exp(-logit)) : -log1p(exp(logit))
            let w = yes ? positive?[k] ?? 1 : negative?[k] ?? 1
            total += w * -(t * logP + (1 - t) * logQ)
            weights += w
        }
        return total / weights
    }

    @Test(arguments: [(0.0, false), (0.1, false), (0.0, true), (0.2, true)])
    func valueMatchesTheTextbookFormula(smoothing: Double, weighted: Bool) {
        let positive: [Double]? = weighted ? [0.6, 3, 1.5, 2] : nil, negative: [Double]? = weighted ? [1.4, 0.6, 0.75, 0.7] : nil
        let loss = SigmoidBinaryCrossEntropy(labelSmoothing: Float(smoothing), positiveWeights: positive?.map(Float.init),
                                             negativeWeights: negative?.map(Float.init))
        let z = Self.logits([3, 4])
        let value = Double(loss.forward(logits: z, targets: Self.targets))
        let expected = Self.textbook(z, Self.targets, smoothing: smoothing, positive: positive, negative: negative)
        #expect(abs(value - expected) < 1e-5 * max(1, expected), "\(value) vs \(expected)")
        for i in 0..<z.count { #expect(abs(Double(loss.lastProbabilities[i]) - 1 / (1 + exp(-Double(z[i])))) < 1e-6) }
    }

    @Test(arguments: [(Float(0), false), (0.1, false), (0, true), (0.2, true)])
    func gradientMatchesFiniteDifferences(smoothing: Float, weighted: Bool) {
        let loss = SigmoidBinaryCrossEntropy(labelSmoothing: smoothing, positiveWeights: weighted ? [0.6, 3, 1.5, 2] : nil,
                                             negativeWeights: weighted ? [1.4, 0.6, 0.75, 0.7] : nil)
        var z = Self.logits([3, 4])
        z[0] = 0.3  // saturated logits have a vanishing gradient: check the informative range here
        z[1] = -0.4
        let result = lossGradientCheck(loss: loss, logits: z, targets: Self.targets)
        #expect(result.passed, "\(result)")
    }

    /// A label weight multiplies the loss of its positive (or negative) elements whatever the
    /// smoothing: from zero logits, every label's gradient points to its own target.
    @Test(arguments: [Float(0), 0.1, 0.3])
    func everyLabelIsPulledTowardsItsTarget(smoothing: Float) {
        let loss = SigmoidBinaryCrossEntropy(labelSmoothing: smoothing, positiveWeights: [50, 0.5, 1, 20], negativeWeights: [0.5, 50, 1, 0.5])
        _ = loss.forward(logits: Tensor(shape: [3, 4]), targets: Self.targets)
        let gradient = loss.backward()
        for i in 0..<gradient.count {
            #expect(Self.targets[i] > 0.5 ? gradient[i] < 0 : gradient[i] > 0, "element \(i): gradient \(gradient[i])")
        }
    }

    @Test func sigmoidActivationMatchesTheLoss() {
        var z = Self.logits([3, 4])
        let loss = SigmoidBinaryCrossEntropy()
        _ = loss.forward(logits: z, targets: Self.targets)
        OutputActivation.sigmoid.apply(to: &z)
        for i in 0..<z.count { #expect(abs(z[i] - loss.lastProbabilities[i]) <= 1e-6) }
    }
}
