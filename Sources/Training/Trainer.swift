import Datasets
import Evaluation
import Foundation
import NN
import Tensors

/// What a trainer scores a network by on VALIDATION, to keep its best epoch and to rank trials.
public enum ValidationMetric: String, Codable, Sendable {
    /// Top-1 accuracy (single-label).
    case accuracy
    /// Mean over the labels with a VALIDATION example of each label's average precision
    /// (multi-label; `BinaryRanking.averagePrecision`, scikit-learn's `average_precision_score`).
    case meanAveragePrecision = "mean_average_precision"

    /// For messages: "accuracy", "mean AP".
    public var name: String { self == .accuracy ? "accuracy" : "mean AP" }
}

/// What happened in one epoch.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    /// Fraction of TRAIN images answered exactly: top-1 (single-label), or every label right at a
    /// 0.5 score (multi-label, scikit-learn's `accuracy_score`, "subset accuracy").
    public var trainAccuracy: Double
    /// The trainer's `metric` on VALIDATION (JSON key `validation_accuracy`, named before multi-label).
    public var validationScore: Double
    /// Seconds since training started.
    public var seconds: Double
    /// Training images per second in this epoch.
    public var imagesPerSecond: Double
}

/// Why training ended.
public enum StopReason: String, Codable, Sendable {
    /// All planned epochs ran.
    case completed
    /// The VALIDATION score stopped improving (`TrainingConfig.patience`).
    case converged
    /// The deadline (compute budget) was reached.
    case deadline
    /// The caller asked to stop (Ctrl-C, job cancelled).
    case cancelled
    /// The VALIDATION score stayed at or below the baseline's (`Trainer.train(baseline:)`).
    case noBetterThanBaseline = "no_better_than_baseline"
}

/// The outcome of `Trainer.train`: the network holds the best-VALIDATION weights.
public struct TrainingOutcome {
    public var network: Sequential
    public var normalization: ChannelNormalization
    public var history: [EpochRecord]
    public var bestValidationScore: Double
    public var bestEpoch: Int
    public var stopReason: StopReason
    public var seconds: Double
}

/// Trains one architecture with one configuration on a decoded dataset: mini-batch gradient descent
/// with SoftmaxCrossEntropy (single-label) or SigmoidBinaryCrossEntropy (multi-label), scored on
/// VALIDATION after every epoch by `metric`, keeping the best weights.
public struct Trainer {
    public var splits: TrainingSplits
    public var dataset: DecodedDataset
    public var classCount: Int
    /// The label sets, for a multi-label dataset; `nil` for a single-label one.
    public let multiHot: MultiHotLabels?
    /// The arithmetic of the networks it trains (`Precision`); they keep it for inference.
    public var precision = Precision.fp32

    public init(dataset: DecodedDataset, splits: TrainingSplits) {
        self.dataset = dataset
        self.splits = splits
        classCount = dataset.header.labels.count
        multiHot = MultiHotLabels(dataset: dataset)
    }

    /// Softmax over the classes, or a sigmoid per label for a multi-label dataset.
    public var output: OutputActivation { multiHot == nil ? .softmax : .sigmoid }
    /// Accuracy, or mean average precision for a multi-label dataset.
    public var metric: ValidationMetric { multiHot == nil ? .accuracy : .meanAveragePrecision }

    /// What a model that learned only TRAIN's label frequencies scores on `indices` by `metric`: the
    /// accuracy of always answering `majorityClass`, or, multi-label, the mean AP of scoring each
    /// label by a constant (its TRAIN prevalence), which is the mean of the labels' positive rates on
    /// `indices` (a constant score ranks nothing: AP = the positive rate). 0 when `indices` is empty.
    public func baselineScore(on indices: [Int], majorityClass: Int) -> Double {
        guard !indices.isEmpty else { return 0 }
        guard let multiHot else {
            return Double(indices.filter { Int(dataset.labels[$0]) == majorityClass }.count) / Double(indices.count)
        }
        let rates = multiHot.counts(indices).filter { $0 > 0 }.map { Double($0) / Double(indices.count) }
        return rates.isEmpty ? 0 : rates.reduce(0, +) / Double(rates.count)
    }

    /// Trains `architecture` with `config`.
    /// - Parameters:
    ///   - trainIndices: a subset of TRAIN to use (multi-fidelity search); all of TRAIN by default.
    ///   - deadline: training stops after the epoch step that passes it (checked every batch).
    ///   - shouldStop: polled every batch; `true` cancels.
    ///   - onEpoch: called after each epoch; an error it throws ends the training with that error.
    ///   - replan: called after each of the first two epochs with the measured timing; a larger
    ///     epoch count it returns stretches the learning-rate schedule to fill the time that is left.
    ///   - initialNetwork: weights to start from instead of a fresh initialisation (warm start: the
    ///     search's best trial continues as the final model). Must be built from `architecture`;
    ///     it is trained in place.
    ///   - onCoolDown: with the `warmupStableDecay` schedule, called when the cool-down starts
    ///     before the planned one, after `epoch`, for `epochs` epochs; `plateau`: VALIDATION stopped
    ///     improving (the stop reason is then `converged`), else the deadline is near (`deadline`).
    ///   - baseline: the accuracy of always answering TRAIN's most frequent class on VALIDATION.
    ///     Training stops (`noBetterThanBaseline`) when the best VALIDATION accuracy is still at or
    ///     below it after `max(3, config.patience)` epochs: a network that has learned nothing a
    ///     constant answer could not by then is not worth the rest of the budget (issue 19's final
    ///     training ran 22 epochs at 0.13 %).
    /// - Throws: `NNError` when the architecture does not build for this input, or
    ///   `NNError.invalidArchitecture` when `initialNetwork` does not match it.
    public func train(
        _ architecture: ArchitectureSpec, config: TrainingConfig, trainIndices: [Int]? = nil, deadline: Date? = nil,
        shouldStop: () -> Bool = { false }, onEpoch: (EpochRecord) throws -> Void = { _ in },
        replan: (EpochRecord) -> Int? = { _ in nil }, initialNetwork: Sequential? = nil,
        onCoolDown: (_ epoch: Int, _ epochs: Int, _ plateau: Bool) -> Void = { _, _, _ in },
        baseline: Double? = nil
    ) throws -> TrainingOutcome {
        let started = Date()
        let network = try architecture.build(seed: config.seed, precision: precision)
        if let initialNetwork {
            let source = snapshot(initialNetwork)
            let target = snapshot(network)
            guard source.count == target.count, zip(source, target).allSatisfy({ $0.shape == $1.shape }) else {
                throw NNError.invalidArchitecture("the initial network does not match architecture \(architecture.name)")
            }
            restore(network, source)
        }
        let train = trainIndices ?? splits.train
        let normalization = BatchLoader.fitNormalization(dataset: dataset, indices: splits.train)
        let loader = BatchLoader(dataset: dataset, normalization: normalization, multiHot: multiHot)
        let batchSize = min(config.batchSize, max(1, train.count))
        let stepsPerEpoch = max(1, train.count / batchSize)  // drop the last partial batch, as BatchNorm prefers
        var config = config
        var schedule = config.makeSchedule(stepsPerEpoch: stepsPerEpoch)
        let optimizer = config.makeOptimizer()
        let parameters = network.parameters
        if let first = network.layers.first { first.needsInputGradient = false }
        var classWeights: [Float]?
        if config.classWeighting, multiHot == nil {
            var counts = [Int](repeating: 0, count: classCount)
            for i in train { counts[Int(dataset.labels[i])] += 1 }
            let present = counts.filter { $0 > 0 }.count
            classWeights = counts.map { $0 == 0 ? 0 : Float(train.count) / Float(present * $0) }
        }
        let loss = SoftmaxCrossEntropy(labelSmoothing: config.labelSmoothing, classWeights: classWeights)
        let multiLabelLoss = multiHot.map { labelSets in
            // Each label's two-class problem weighted "balanced" (n / (2·count), scikit-learn's
            // `compute_class_weight`), so a rare label's positives are not drowned by its negatives.
            guard config.classWeighting else { return SigmoidBinaryCrossEntropy(labelSmoothing: config.labelSmoothing) }
            let positives = labelSets.counts(train), n = Float(train.count)
            let weight = { (count: Int) in count == 0 ? Float(0) : n / (2 * Float(count)) }
            return SigmoidBinaryCrossEntropy(labelSmoothing: config.labelSmoothing, positiveWeights: positives.map(weight),
                                             negativeWeights: positives.map { weight(train.count - $0) })
        }
        var targets = Tensor.empty
        let augmenter = Augmenter(options: config.augmentation, seed: config.seed &+ 1)
        var generator = SeededGenerator(seed: config.seed &+ 2)

        var order = train
        var sampler = config.classSampling == .natural || multiHot != nil ? nil
            : ClassSampler(indices: train, labels: { Int(dataset.labels[$0]) }, sampling: config.classSampling)
        var batch = Tensor.empty
        var labels: [Int] = []
        var history: [EpochRecord] = []
        var best = -1.0, bestLoss = Double.infinity, bestEpoch = 0, sinceBest = 0
        var bestWeights = snapshot(network)
        var step = 0
        var reason = StopReason.completed
        var coolDown: (endEpoch: Int, reason: StopReason)?  // a cool-down started before the planned one
        var epoch = 0
        epochs: while epoch < max(1, config.epochs) {
            epoch += 1
            let epochStart = Date()
            if sampler == nil { order.shuffle(using: &generator) } else { order = sampler!.epoch(count: train.count, using: &generator) }
            var lossSum = 0.0, correct = 0, seen = 0
            for s in 0..<stepsPerEpoch {
                if shouldStop() { reason = .cancelled; break epochs }
                if let deadline, Date() >= deadline { reason = .deadline; break epochs }
                loader.fill(&batch, labels: &labels, indices: order[s * batchSize ..< (s + 1) * batchSize])
                augmenter.apply(to: &batch)
                let logits = network.forward(batch, training: true)
                let logitsGradient: Tensor
                if let multiLabelLoss {
                    loader.fillTargets(&targets, indices: order[s * batchSize ..< (s + 1) * batchSize])
                    lossSum += Double(multiLabelLoss.forward(logits: logits, targets: targets)) * Double(labels.count)
                    correct += Self.exactMatches(multiLabelLoss.lastProbabilities, targets: targets)
                    logitsGradient = multiLabelLoss.backward()
                } else {
                    lossSum += Double(loss.forward(logits: logits, labels: labels)) * Double(labels.count)
                    let predicted = loss.lastProbabilities.argmaxRows()
                    correct += zip(predicted, labels).filter { $0 == $1 }.count
                    logitsGradient = loss.backward()
                }
                seen += labels.count
                _ = network.backward(logitsGradient)
                if let norm = config.gradientClipNorm { _ = clipGradientNorm(parameters, maximumNorm: norm) }
                optimizer.learningRate = schedule.learningRate(at: step)
                optimizer.step(parameters)
                step += 1
            }
            let (validation, validationLoss) = score(network, loader: loader, indices: splits.validation)
            let record = EpochRecord(
                epoch: epoch, trainLoss: lossSum / Double(max(1, seen)), trainAccuracy: Double(correct) / Double(max(1, seen)),
                validationScore: validation, seconds: Date().timeIntervalSince(started),
                imagesPerSecond: Double(seen) / max(1e-9, Date().timeIntervalSince(epochStart)))
            history.append(record)
            try onEpoch(record)
            if validation > best + config.minimumImprovement || best < 0 {
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            // Ties in accuracy (common on a small VALIDATION set) go to the lower log loss, so a
            // network that keeps learning is not thrown away for its first epoch's weights.
            if validation > best || (validation == best && validationLoss < bestLoss) {
                best = validation
                bestLoss = validationLoss
                bestEpoch = epoch
                bestWeights = snapshot(network)
            }
            if let baseline, best <= baseline, epoch >= max(3, config.patience) {
                reason = .noBetterThanBaseline
                break
            }
            let validationPlateau = sinceBest >= config.patience && Double(epoch) >= config.earliestStop * Double(config.epochs)
            if let end = coolDown?.endEpoch {
                if epoch >= end { reason = coolDown!.reason; break }
            } else if let wsd = schedule as? WarmupStableDecaySchedule {
                // Only the stable phase can end early, and it ends with a cool-down (never at the
                // peak learning rate): on a plateau, or when only the cool-down still fits before
                // the deadline. Warm-up and a planned cool-down run as planned.
                if wsd.isStable(at: step) {
                    // At the peak learning rate VALIDATION accuracy is noisy and hides progress that
                    // the cool-down reveals (a 60-minute job's plateau at epoch 23 came while the
                    // training loss still fell 3 % per 10 epochs, and cooling down then gave +1.1
                    // points). So a plateau here also needs the training loss to have stopped falling.
                    let lossBefore = history.count > config.patience ? history[history.count - 1 - config.patience].trainLoss : .infinity
                    let converged = validationPlateau && record.trainLoss > (1 - config.minimumTrainLossDecrease) * lossBefore
                    let epochsLeft = deadline.map { $0.timeIntervalSinceNow / (Date().timeIntervalSince(started) / Double(epoch)) } ?? .infinity
                    let length = max(1, Int((config.decayFraction * Double(epoch)).rounded()))
                    if converged || epochsLeft < Double(length + 1) {
                        let epochs = max(1, Int(min(Double(length), epochsLeft)))
                        schedule = wsd.coolingDown(at: step, steps: epochs * stepsPerEpoch)
                        coolDown = (epoch + epochs, converged ? .converged : .deadline)
                        config.epochs = epoch + epochs
                        onCoolDown(epoch, epochs, converged)
                    }
                }
            } else if validationPlateau {
                reason = .converged
                break
            }
            if coolDown == nil, epoch <= 2, let planned = replan(record), planned > config.epochs {
                config.epochs = planned
                schedule = config.makeSchedule(stepsPerEpoch: stepsPerEpoch)
            }
        }
        if history.isEmpty {
            // Stopped before one epoch finished: score what there is.
            best = score(network, loader: loader, indices: splits.validation).score
            bestWeights = snapshot(network)
        }
        restore(network, bestWeights)
        return TrainingOutcome(
            network: network, normalization: normalization, history: history, bestValidationScore: max(best, 0),
            bestEpoch: bestEpoch, stopReason: reason, seconds: Date().timeIntervalSince(started))
    }

    /// Scores `[indices.count, K]`, row-major, in inference mode (softmax probabilities, or each
    /// label's sigmoid for a multi-label dataset), averaged over the views of `testTimeAugmentation`
    /// (as a `Classifier` of the same checkpoint computes them).
    public func probabilities(_ network: Sequential, normalization: ChannelNormalization, indices: [Int],
                              testTimeAugmentation: TestTimeAugmentation = .none, batchSize: Int = 256) -> [Float] {
        let loader = BatchLoader(dataset: dataset, normalization: normalization, multiHot: multiHot)
        return probabilities(network, loader: loader, indices: indices, testTimeAugmentation: testTimeAugmentation, batchSize: batchSize)
    }

    func probabilities(_ network: Sequential, loader: BatchLoader, indices: [Int],
                       testTimeAugmentation: TestTimeAugmentation = .none, batchSize: Int = 256) -> [Float] {
        var result: [Float] = []
        var batch = Tensor.empty
        var labels: [Int] = []
        for start in stride(from: 0, to: indices.count, by: batchSize) {
            loader.fill(&batch, labels: &labels, indices: indices[start..<min(indices.count, start + batchSize)])
            result += testTimeAugmentation.probabilities(of: batch, network: network, output: output).storage
        }
        return result
    }

    /// The `metric` on `indices` (accuracy or mean AP, a fraction), averaged over the views of
    /// `testTimeAugmentation`.
    public func score(_ network: Sequential, normalization: ChannelNormalization, indices: [Int],
                      testTimeAugmentation: TestTimeAugmentation = .none) -> Double {
        score(network, loader: BatchLoader(dataset: dataset, normalization: normalization, multiHot: multiHot), indices: indices,
              testTimeAugmentation: testTimeAugmentation).score
    }

    /// The `metric` and the mean log loss (natural log, probabilities clamped at 1e-7; per label for
    /// a multi-label dataset) on `indices`.
    func score(_ network: Sequential, loader: BatchLoader, indices: [Int],
               testTimeAugmentation: TestTimeAugmentation = .none) -> (score: Double, logLoss: Double) {
        guard !indices.isEmpty else { return (0, .infinity) }
        let probabilities = probabilities(network, loader: loader, indices: indices, testTimeAugmentation: testTimeAugmentation)
        if let multiHot { return Self.multiLabelScore(probabilities, indices: indices, multiHot: multiHot) }
        var correct = 0
        var loss = 0.0
        for (row, index) in indices.enumerated() {
            let line = probabilities[row * classCount ..< (row + 1) * classCount]
            let label = Int(dataset.labels[index])
            if line.indices.max(by: { line[$0] < line[$1] })! - row * classCount == label { correct += 1 }
            loss -= log(Double(max(line[row * classCount + label], 1e-7)))
        }
        return (Double(correct) / Double(indices.count), loss / Double(indices.count))
    }

    /// Mean AP over the labels with a positive among `indices`, and the mean binary log loss.
    static func multiLabelScore(_ probabilities: [Float], indices: [Int], multiHot: MultiHotLabels) -> (score: Double, logLoss: Double) {
        let k = multiHot.labelCount
        var precisions: [Double] = []
        var loss = 0.0
        for label in 0..<k {
            let scores = indices.indices.map { Double(probabilities[$0 * k + label]) }
            let positives = indices.map { multiHot.has($0, label) }
            if let ap = BinaryRanking.averagePrecision(scores: scores, positives: positives) { precisions.append(ap) }
            for (p, positive) in zip(scores, positives) { loss -= log(max(positive ? p : 1 - p, 1e-7)) }
        }
        let mean = precisions.isEmpty ? 0 : precisions.reduce(0, +) / Double(precisions.count)
        return (mean, loss / Double(indices.count * k))
    }

    /// Rows of `probabilities` (`[N, K]` sigmoids) whose labels at a 0.5 score are exactly `targets`' row.
    static func exactMatches(_ probabilities: Tensor, targets: Tensor) -> Int {
        let rows = probabilities.shape[0], k = probabilities.shape[1]
        var matches = 0
        probabilities.withUnsafePointer { p in
            targets.withUnsafePointer { t in
                for row in 0..<rows where (0..<k).allSatisfy({ (p[row * k + $0] >= 0.5) == (t[row * k + $0] > 0.5) }) { matches += 1 }
            }
        }
        return matches
    }

    func snapshot(_ network: Sequential) -> [Tensor] { network.parameters.map(\.value) + network.buffers.map(\.value) }

    func restore(_ network: Sequential, _ values: [Tensor]) {
        let parameters = network.parameters, buffers = network.buffers
        for (i, parameter) in parameters.enumerated() { parameter.value = values[i] }
        for (i, buffer) in buffers.enumerated() { buffer.value = values[parameters.count + i] }
    }
}
