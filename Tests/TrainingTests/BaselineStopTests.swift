import Datasets
import Foundation
import NN
import Testing
@testable import Training

/// Issue 19: the final training ran 22 epochs at 0.13 % VALIDATION with nothing stopping it.
@Suite(.serialized) struct BaselineStopTests {
    @Test func trainingThatStaysAtOrBelowTheBaselineStops() throws {
        let dataset = try FashionSlice.dataset()
        let trainer = Trainer(dataset: dataset, splits: TrainingSplits(dataset: dataset))
        var config = TrainingConfig()
        config.epochs = 20
        config.patience = 2
        config.batchSize = 64
        let spec = try ArchitectureSpec.reference(named: "mlp")
        // A baseline no network can beat (every accuracy is ≤ 1): it stops after max(3, patience) epochs.
        let stopped = try trainer.train(spec, config: config, baseline: 1)
        #expect(stopped.stopReason == .noBetterThanBaseline)
        #expect(stopped.history.count == 3)
        // Above the baseline, training goes on as before.
        config.epochs = 4
        let kept = try trainer.train(spec, config: config, baseline: 0.1)
        #expect(kept.stopReason != .noBetterThanBaseline)
        #expect(kept.bestValidationScore > 0.1)
    }
}
