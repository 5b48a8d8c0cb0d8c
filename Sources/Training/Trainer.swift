import Datasets
import Foundation
import NN
import Tensors

/// What happened in one epoch.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double
    /// Seconds since training started.
    public var seconds: Double
    /// Training images per second in this epoch.
    public var imagesPerSecond: Double
}

/// Why training ended.
public enum StopReason: String, Codable, Sendable {
    /// All planned epochs ran.
    case completed
    /// VALIDATION accuracy stopped improving (`TrainingConfig.patience`).
    case converged
    /// The deadline (compute budget) was reached.
    case deadline
    /// The caller asked to stop (Ctrl-C, job cancelled).
    case cancelled
    /// VALIDATION accuracy stayed at or below the majority-class baseline (`Trainer.train(baseline:)`).
    case noBetterThanBaseline = "no_better_than_baseline"
}

/// The outcome of `Trainer.train`: the network holds the best-VALIDATION weights.
public struct TrainingOutcome {
    public var network: Sequential
    public var normalization: ChannelNormalization
    public var history: [EpochRecord]
    public var bestValidationAccuracy: Double
    public var bestEpoch: Int
    public var stopReason: StopReason
    public var seconds: Double
}

/// Trains one architecture with one configuration on a decoded dataset: mini-batch gradient descent
/// with SoftmaxCrossEntropy, evaluated on VALIDATION after every epoch, keeping the best weights.
public struct Trainer {
    public var splits: TrainingSplits
    public var dataset: DecodedDataset
    public var classCount: Int

    public init(dataset: DecodedDataset, splits: TrainingSplits) {
        self.dataset = dataset
        self.splits = splits
        classCount = dataset.header.labels.count
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
        let network = try architecture.build(seed: config.seed)
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
        let loader = BatchLoader(dataset: dataset, normalization: normalization)
        let batchSize = min(config.batchSize, max(1, train.count))
        let stepsPerEpoch = max(1, train.count / batchSize)  // drop the last partial batch, as BatchNorm prefers
        var config = config
        var schedule = config.makeSchedule(stepsPerEpoch: stepsPerEpoch)
        let optimizer = config.makeOptimizer()
        let parameters = network.parameters
        if let first = network.layers.first { first.needsInputGradient = false }
        var classWeights: [Float]?
        if config.classWeighting {
            var counts = [Int](repeating: 0, count: classCount)
            for i in train { counts[Int(dataset.labels[i])] += 1 }
            let present = counts.filter { $0 > 0 }.count
            classWeights = counts.map { $0 == 0 ? 0 : Float(train.count) / Float(present * $0) }
        }
        let loss = SoftmaxCrossEntropy(labelSmoothing: config.labelSmoothing, classWeights: classWeights)
        let augmenter = Augmenter(options: config.augmentation, seed: config.seed &+ 1)
        var generator = SeededGenerator(seed: config.seed &+ 2)

        var order = train
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
            order.shuffle(using: &generator)
            var lossSum = 0.0, correct = 0, seen = 0
            for s in 0..<stepsPerEpoch {
                if shouldStop() { reason = .cancelled; break epochs }
                if let deadline, Date() >= deadline { reason = .deadline; break epochs }
                loader.fill(&batch, labels: &labels, indices: order[s * batchSize ..< (s + 1) * batchSize])
                augmenter.apply(to: &batch)
                let logits = network.forward(batch, training: true)
                lossSum += Double(loss.forward(logits: logits, labels: labels)) * Double(labels.count)
                let predicted = loss.lastProbabilities.argmaxRows()
                correct += zip(predicted, labels).filter { $0 == $1 }.count
                seen += labels.count
                _ = network.backward(loss.backward())
                if let norm = config.gradientClipNorm { _ = clipGradientNorm(parameters, maximumNorm: norm) }
                optimizer.learningRate = schedule.learningRate(at: step)
                optimizer.step(parameters)
                step += 1
            }
            let (validation, validationLoss) = score(network, loader: loader, indices: splits.validation)
            let record = EpochRecord(
                epoch: epoch, trainLoss: lossSum / Double(max(1, seen)), trainAccuracy: Double(correct) / Double(max(1, seen)),
                validationAccuracy: validation, seconds: Date().timeIntervalSince(started),
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
            best = accuracy(network, loader: loader, indices: splits.validation)
            bestWeights = snapshot(network)
        }
        restore(network, bestWeights)
        return TrainingOutcome(
            network: network, normalization: normalization, history: history, bestValidationAccuracy: max(best, 0),
            bestEpoch: bestEpoch, stopReason: reason, seconds: Date().timeIntervalSince(started))
    }

    /// Softmax probabilities `[indices.count, K]`, row-major, in inference mode, averaged over the
    /// views of `testTimeAugmentation` (as a `Classifier` of the same checkpoint computes them).
    public func probabilities(_ network: Sequential, normalization: ChannelNormalization, indices: [Int],
                              testTimeAugmentation: TestTimeAugmentation = .none, batchSize: Int = 256) -> [Float] {
        let loader = BatchLoader(dataset: dataset, normalization: normalization)
        return Self.probabilities(network, loader: loader, indices: indices, testTimeAugmentation: testTimeAugmentation,
                                  batchSize: batchSize)
    }

    static func probabilities(_ network: Sequential, loader: BatchLoader, indices: [Int],
                              testTimeAugmentation: TestTimeAugmentation = .none, batchSize: Int = 256) -> [Float] {
        var result: [Float] = []
        var batch = Tensor.empty
        var labels: [Int] = []
        for start in stride(from: 0, to: indices.count, by: batchSize) {
            loader.fill(&batch, labels: &labels, indices: indices[start..<min(indices.count, start + batchSize)])
            result += testTimeAugmentation.probabilities(of: batch, network: network).storage
        }
        return result
    }

    /// Top-1 accuracy on `indices`, a fraction, averaged over the views of `testTimeAugmentation`.
    public func accuracy(_ network: Sequential, normalization: ChannelNormalization, indices: [Int],
                         testTimeAugmentation: TestTimeAugmentation = .none) -> Double {
        score(network, loader: BatchLoader(dataset: dataset, normalization: normalization), indices: indices,
              testTimeAugmentation: testTimeAugmentation).accuracy
    }

    func accuracy(_ network: Sequential, loader: BatchLoader, indices: [Int]) -> Double {
        score(network, loader: loader, indices: indices).accuracy
    }

    /// Accuracy and mean log loss (natural log, probabilities clamped at 1e-7) on `indices`.
    func score(_ network: Sequential, loader: BatchLoader, indices: [Int],
               testTimeAugmentation: TestTimeAugmentation = .none) -> (accuracy: Double, logLoss: Double) {
        guard !indices.isEmpty else { return (0, .infinity) }
        let probabilities = Self.probabilities(network, loader: loader, indices: indices, testTimeAugmentation: testTimeAugmentation)
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

    func snapshot(_ network: Sequential) -> [Tensor] { network.parameters.map(\.value) + network.buffers.map(\.value) }

    func restore(_ network: Sequential, _ values: [Tensor]) {
        let parameters = network.parameters, buffers = network.buffers
        for (i, parameter) in parameters.enumerated() { parameter.value = values[i] }
        for (i, buffer) in buffers.enumerated() { buffer.value = values[parameters.count + i] }
    }
}
