import Foundation
import NN
import Tensors
import Testing
@testable import Training

/// `ClassSampler` draws classes in the shares Kang et al. 2020 define (`n_c^q / Σ n_k^q`), and
/// the trainer trains on its order.
struct ClassSamplerTests {
    /// 400, 100 and 25 examples: dataset indices 0..<400 are class 0, 400..<500 class 1, the rest class 2.
    let indices = Array(0..<525)
    func label(_ index: Int) -> Int { index < 400 ? 0 : index < 500 ? 1 : 2 }

    func shares(_ sampling: ClassSampling, draws: Int) -> [Double] {
        var sampler = ClassSampler(indices: indices, labels: label, sampling: sampling)
        var generator = SeededGenerator(seed: 7)
        var counts = [0, 0, 0]
        for _ in 0..<(draws / indices.count) {
            for index in sampler.epoch(count: indices.count, using: &generator) { counts[label(index)] += 1 }
        }
        return counts.map { Double($0) / Double(draws) }
    }

    @Test(arguments: [(ClassSampling.balanced, [1.0, 1, 1]), (.squareRoot, [20.0, 10, 5]), (.natural, [400.0, 100, 25])])
    func classesAreDrawnInProportionToTheirSizeToThePowerQ(sampling: ClassSampling, weights: [Double]) {
        let draws = 525 * 40
        let total = weights.reduce(0, +)
        for (share, weight) in zip(shares(sampling, draws: draws), weights) {
            let p = weight / total
            let standardError = (p * (1 - p) / Double(draws)).squareRoot()
            #expect(abs(share - p) < 5 * standardError, "\(sampling): share \(share), expected \(p)")
        }
    }

    @Test func aClassIsSeenWholeBeforeAnyOfItsExamplesRepeats() {
        var sampler = ClassSampler(indices: indices, labels: label, sampling: .balanced)
        var generator = SeededGenerator(seed: 3)
        let rare = sampler.epoch(count: indices.count, using: &generator).filter { label($0) == 2 }
        #expect(rare.count > 3 * 25, "a balanced epoch draws the 25 rare examples about 7 times each")
        for start in stride(from: 0, to: rare.count - 25, by: 25) {
            #expect(Set(rare[start ..< start + 25]).count == 25, "every 25 consecutive draws of the class are its 25 examples")
        }
    }

    @Test func theSameSeedDrawsTheSameOrder() {
        var a = ClassSampler(indices: indices, labels: label, sampling: .squareRoot)
        var b = ClassSampler(indices: indices, labels: label, sampling: .squareRoot)
        var ga = SeededGenerator(seed: 11), gb = SeededGenerator(seed: 11)
        #expect(a.epoch(count: 525, using: &ga) == b.epoch(count: 525, using: &gb))
    }

    /// On a TRAIN set 60:1 imbalanced (all 60 of one Fashion-MNIST class, 1 of each other), a
    /// network trained on balanced epochs answers the large class far less often on the balanced
    /// VALIDATION set than one trained on natural epochs.
    @Test func balancedEpochsTeachTheRareClasses() throws {
        let dataset = try FashionSlice.dataset()
        let splits = TrainingSplits(dataset: dataset)
        var perClass = [Int: Int]()
        let train = splits.train.filter { index in
            let c = Int(dataset.labels[index])
            perClass[c, default: 0] += 1
            return c == 0 || perClass[c]! <= 1
        }
        let trainer = Trainer(dataset: dataset, splits: splits)
        func largeClassShare(_ sampling: ClassSampling) throws -> Double {
            var config = TrainingConfig()
            config.epochs = 15
            config.batchSize = 16
            config.optimizer = .adam
            config.learningRate = 1e-3
            config.classSampling = sampling
            let outcome = try trainer.train(try ArchitectureSpec.reference(named: "mlp"), config: config, trainIndices: train)
            let probabilities = trainer.probabilities(outcome.network, normalization: outcome.normalization, indices: splits.validation)
            let predicted = (0..<splits.validation.count).map { row in (0..<10).max { probabilities[row * 10 + $0] < probabilities[row * 10 + $1] }! }
            return Double(predicted.filter { $0 == 0 }.count) / Double(predicted.count)
        }
        let natural = try largeClassShare(.natural), balanced = try largeClassShare(.balanced)
        #expect(balanced < natural - 0.1, "share of VALIDATION answered with the large class: natural \(natural), balanced \(balanced)")
    }
}
