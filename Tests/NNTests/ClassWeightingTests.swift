import NN
import Tensors
import Testing

/// Issue 19: class weights with label smoothing at an extreme imbalance.
@Suite struct ClassWeightingTests {
    /// "Balanced" weights `N / (K · n_c)` of the clip-art collection: 22 classes from 2,158
    /// images down to 3.
    static let counts = [2158, 900, 700, 500, 400, 300, 250, 200, 150, 120, 100, 80, 60, 50, 40, 30, 20, 15, 10, 6, 4, 3]
    static var balancedWeights: [Float] {
        let total = Float(counts.reduce(0, +))
        return counts.map { total / (Float(counts.count) * Float($0)) }
    }

    /// From uniform logits, gradient descent on the loss of one example raises its true class's
    /// logit most, whatever the smoothing and whatever the class. With each smoothed component
    /// weighted by its own class's weight (PyTorch's `cross_entropy(weight=, label_smoothing=)`), a
    /// largest-class example at ε = 0.1 pushed hardest towards the rarest classes: their weight
    /// times their smoothing mass (0.1/22 · 33) outweighed the true class's (0.9 · 0.05).
    @Test(arguments: [Float(0), 0.1, 0.2])
    func everyExampleIsPulledTowardsItsTrueClass(labelSmoothing: Float) {
        let classes = Self.counts.count
        let loss = SoftmaxCrossEntropy(labelSmoothing: labelSmoothing, classWeights: Self.balancedWeights)
        for label in [0, 1, classes / 2, classes - 1] {
            _ = loss.forward(logits: Tensor(shape: [1, classes]), labels: [label])
            let gradient = loss.backward()
            let steepest = (0..<classes).min { gradient[$0] < gradient[$1] }!
            #expect(steepest == label, "ε \(labelSmoothing), label \(label): the gradient favours class \(steepest)")
        }
    }

    /// A batch of the largest class alone, trained from uniform logits (a free bias per class),
    /// ends predicting that class.
    @Test func aBatchOfTheLargestClassLearnsIt() {
        let classes = Self.counts.count
        let loss = SoftmaxCrossEntropy(labelSmoothing: 0.1, classWeights: Self.balancedWeights)
        var logits = Tensor(shape: [4, classes])
        for _ in 0..<200 {
            _ = loss.forward(logits: logits, labels: [0, 0, 0, 0])
            let gradient = loss.backward()
            for i in 0..<logits.count { logits[i] -= 5 * gradient[i] }
        }
        #expect(loss.lastProbabilities.argmaxRows() == [0, 0, 0, 0])
    }
}
