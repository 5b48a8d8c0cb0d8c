import Datasets
import Foundation
import NN
import Testing
import TestSupport
@testable import Training

/// A Fashion-MNIST slice prepared from the Debian package, imported and cached once per test run.
enum FashionSlice {
    static let folder = processScratchDirectory(prefix: "autovision-training-slice-")
    /// Suites run in parallel: one writes the slice while no other imports it (a half-written PNG
    /// was once rejected, leaving 599 TEST images).
    private static let lock = NSLock()

    static func dataset(perClass: Int = 60) throws -> DecodedDataset {
        try lock.withLock {
            let root = folder.appendingPathComponent("\(perClass)")
            let manifest = root.appendingPathComponent("manifest.csv")
            if !FileManager.default.fileExists(atPath: manifest.path) {
                _ = try FashionMNISTExport.write(to: root, perClass: perClass, seed: 1)
            }
            let result = try DatasetImporter().importManifest(at: manifest)
            return try DatasetCache.open(for: result, in: root.appendingPathComponent("cache")).dataset
        }
    }
}

@Suite(.serialized) struct TrainerTests {
    @Test func smallModelLearnsFashionMNISTWellAboveChance() throws {
        let dataset = try FashionSlice.dataset()
        let splits = TrainingSplits(dataset: dataset)
        #expect(splits.train.count == 600 && splits.validation.count == 600 && splits.test.count == 600)
        var config = TrainingConfig()
        config.epochs = 3
        config.batchSize = 32
        config.optimizer = .adam
        config.learningRate = 1e-3
        let trainer = Trainer(dataset: dataset, splits: splits)
        var epochs: [EpochRecord] = []
        let outcome = try trainer.train(try ArchitectureSpec.reference(named: "small"), config: config, onEpoch: { epochs.append($0) })
        #expect(epochs.count == 3)
        #expect(outcome.bestValidationScore > 0.6, "chance is 0.1; got \(outcome.bestValidationScore)")
        let probabilities = trainer.probabilities(outcome.network, normalization: outcome.normalization, indices: splits.test)
        #expect(probabilities.count == 600 * 10)
        let rowSum: Float = probabilities[0..<10].reduce(0, +)
        #expect(abs(rowSum - 1) < 1e-4)
    }

    @Test func deadlineStopsTrainingAndKeepsTheBestWeights() throws {
        let dataset = try FashionSlice.dataset()
        var config = TrainingConfig()
        config.epochs = 50
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        let outcome = try trainer.train(try ArchitectureSpec.reference(named: "mlp"), config: config, deadline: Date().addingTimeInterval(1.5))
        #expect(outcome.stopReason == .deadline || outcome.stopReason == .converged)
        #expect(outcome.seconds < 10)
        #expect(outcome.history.count < 50)
    }

    @Test func warmStartContinuesFromTheGivenWeightsAndRefusesAMismatch() throws {
        let dataset = try FashionSlice.dataset()
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        var config = TrainingConfig()
        config.epochs = 2
        config.batchSize = 32
        config.optimizer = .adam
        config.learningRate = 1e-3
        let spec = try ArchitectureSpec.reference(named: "small")
        let first = try trainer.train(spec, config: config)
        // A warm start with a zero learning rate keeps the given weights (only BatchNorm's running
        // statistics move), so it scores like them.
        var frozen = config
        frozen.learningRate = 0
        frozen.epochs = 1
        let continued = try trainer.train(spec, config: frozen, initialNetwork: first.network)
        #expect(abs(continued.bestValidationScore - first.bestValidationScore) < 0.03)
        let fresh = try trainer.train(spec, config: frozen)
        #expect(fresh.bestValidationScore < first.bestValidationScore - 0.2, "an untrained network is near chance")
        #expect(throws: NNError.self) {
            try trainer.train(try ArchitectureSpec.reference(named: "mlp"), config: frozen, initialNetwork: first.network)
        }
    }

    @Test func earlyStoppingWaitsForHalfThePlannedEpochs() throws {
        let dataset = try FashionSlice.dataset()
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        var config = TrainingConfig()
        config.epochs = 6
        config.patience = 1
        config.learningRate = 0  // VALIDATION accuracy cannot improve after the first epoch
        let outcome = try trainer.train(try ArchitectureSpec.reference(named: "mlp"), config: config)
        #expect(outcome.stopReason == .converged)
        #expect(outcome.history.count == 3, "patience 1 would stop after epoch 2; half of 6 epochs run first")
    }

    @Test func aPlateauUnderWarmupStableDecayStartsTheCoolDownInsteadOfStopping() throws {
        let dataset = try FashionSlice.dataset()
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        var config = TrainingConfig()
        config.schedule = .warmupStableDecay
        config.epochs = 20
        config.patience = 2
        config.earliestStop = 0.25
        config.learningRate = 0  // VALIDATION accuracy cannot improve after the first epoch
        var coolDowns: [[Int]] = []
        let record = { (epoch: Int, epochs: Int, plateau: Bool) in coolDowns.append([epoch, epochs, plateau ? 1 : 0]) }
        let outcome = try trainer.train(try ArchitectureSpec.reference(named: "mlp"), config: config, onCoolDown: record)
        // Plateau after epoch 5 (patience 2 is reached at epoch 3, but a quarter of 20 epochs runs
        // first); the cool-down is 20 % of the 5 epochs run: 1 epoch, then it stops as converged.
        #expect(coolDowns == [[5, 1, 1]])
        #expect(outcome.history.count == 6)
        #expect(outcome.stopReason == .converged)

        // A deadline 12 epochs away: the cool-down starts when about 2 epochs are left (20 % of
        // the ~10 run), so training ends annealed, for the deadline, before the 200 planned epochs.
        // 200, not 20: the two timed epochs may run beside other tests and the rest alone, several
        // times faster, and the deadline must still come first.
        config.learningRate = 1e-3
        config.batchSize = 32
        config.patience = 1_000
        coolDowns = []
        let small = try ArchitectureSpec.reference(named: "small")
        var timing = config
        timing.epochs = 2
        let epochSeconds = try trainer.train(small, config: timing).seconds / 2
        config.epochs = 200
        let bounded = try trainer.train(small, config: config, deadline: Date().addingTimeInterval(12 * epochSeconds),
                                        onCoolDown: record)
        #expect(coolDowns.count == 1 && coolDowns[0][2] == 0, "one cool-down, for the deadline: \(coolDowns)")
        #expect(bounded.history.count < 200)
    }

    @Test func emptyValidationAndTestAreCarvedFromTrainByContent() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("carve-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prepared = try FashionMNISTExport.write(to: scratch, perClass: 20, seed: 3)
        let text = try String(contentsOf: prepared.manifest, encoding: .utf8)
        let trainOnly = text.split(separator: "\n").filter { $0.hasPrefix("TRAIN,") }.joined(separator: "\n")
        let manifest = scratch.appendingPathComponent("train-only.csv")
        try Data(trainOnly.utf8).write(to: manifest)
        let result = try DatasetImporter().importManifest(at: manifest)
        let dataset = try DatasetCache.open(for: result, in: scratch.appendingPathComponent("cache")).dataset
        let splits = TrainingSplits(dataset: dataset)
        #expect(splits.train.count + splits.validation.count + splits.test.count == 200)
        #expect(!splits.validation.isEmpty && !splits.test.isEmpty)
        #expect(Set(splits.train).isDisjoint(with: splits.validation) && Set(splits.validation).isDisjoint(with: splits.test))
        #expect(splits.notes.count == 2)
        let again = TrainingSplits(dataset: dataset)
        #expect(again.validation == splits.validation && again.test == splits.test)
    }
}
