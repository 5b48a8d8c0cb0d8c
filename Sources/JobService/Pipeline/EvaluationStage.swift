import Evaluation
import Foundation
import ImageIO
import NN
import Search

/// The evaluation stage's value: the model as saved, and its one evaluation on TEST.
struct EvaluatedModel {
    var model: FinalModel
    var testTimeAugmentation: TestTimeAugmentation
    /// VALIDATION accuracy with `testTimeAugmentation`.
    var validationAccuracy: Double
    var test: TestEvaluation
}

extension TrainingJob {
    /// Picks the test-time augmentation on VALIDATION, saves the model (`model.ckpt`), and
    /// evaluates it on TEST: TEST is used once, here.
    /// - Throws: `JobError.io` when the checkpoint cannot be written; `EvaluationError` for
    ///   probabilities that cannot be scored.
    func evaluate(_ model: FinalModel) throws -> EvaluatedModel {
        try update { $0.state = .evaluating }
        let (policy, validationAccuracy) = pickTestTimeAugmentation(model)
        let data = model.data, splits = data.splits, resolution = data.dataset.resolution
        let checkpoint = Checkpoint(
            network: model.network, architecture: model.architecture, normalization: model.normalization, labelNames: data.labels,
            metadata: [
                "job_id": id, "working_resolution": String(decoding: try JSONEncoder.sorted.encode(resolution), as: UTF8.self),
                "candidate": model.candidate.summary, "validation_accuracy": String(validationAccuracy),
                "ensemble_members": String(model.end.members), TestTimeAugmentation.metadataKey: policy.rawValue,
            ])
        try writeArtifact(try checkpoint.encoded(), name: JobFolder.modelName)
        let probabilities = data.trainer.probabilities(model.network, normalization: model.normalization, indices: splits.test,
                                                       testTimeAugmentation: policy)
        var test = try TestEvaluation(
            probabilities: probabilities, labels: splits.test.map { Int(data.dataset.labels[$0]) }, classNames: data.labels,
            scoreThreshold: options.scoreThreshold, references: splits.test.map { "manifest line \(data.dataset.lines[$0])" },
            majorityClass: data.statistics.majorityClass)
        test.attachThumbnails { index in
            let pixels = Array(data.dataset.pixels(splits.test[index]))
            let image = Image(width: resolution.width, height: resolution.height, channels: resolution.channels, pixels: pixels)
            return (try? PNGEncoder.encode(image)).map { Data($0) }
        }
        return EvaluatedModel(model: model, testTimeAugmentation: policy, validationAccuracy: validationAccuracy, test: test)
    }

    /// The test-time augmentation with the highest VALIDATION accuracy, cheapest first: a costlier
    /// one multiplies the inference work, so it must raise the accuracy to be kept.
    private func pickTestTimeAugmentation(_ model: FinalModel) -> (TestTimeAugmentation, validationAccuracy: Double) {
        let candidate = model.candidate, data = model.data
        let offered = FinalTrainingBudget.offered(candidate: candidate, translation: candidate.cropPadding > 0,
                                                  testTimeAugmentation: options.testTimeAugmentation)
        if !options.testTimeAugmentation, candidate.horizontalFlip || candidate.cropPadding > 0 {
            say("test-time augmentation is off: single-view predictions")
        }
        var best = (TestTimeAugmentation.none, -1.0)
        for policy in offered {
            let value = data.trainer.accuracy(model.network, normalization: model.normalization, indices: data.splits.validation,
                                              testTimeAugmentation: policy)
            if value > best.1 { best = (policy, value) }
        }
        guard offered.count > 1 else { return best }
        let tried = offered.dropFirst().map { $0 == .horizontalFlip ? "mirror images" : "one-pixel shifts" }.joined(separator: " or ")
        let accuracy = percent(best.1)
        let decision = switch best.0 {
        case .none: "kept single-view predictions: averaging with \(tried) did not raise VALIDATION accuracy (\(accuracy))"
        case .horizontalFlip: "averaging each prediction with the mirror image's (the model trained with flips): VALIDATION \(accuracy)"
        case .shifts: "averaging each prediction over the image and its four one-pixel shifts (the model trained with translations): "
            + "VALIDATION \(accuracy)"
        }
        say(decision)
        return best
    }
}
