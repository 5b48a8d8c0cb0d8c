import Evaluation
import Foundation
import ImageIO
import NN
import Search
import Training

/// The evaluation stage's value: the model as saved, and its one evaluation on TEST.
struct EvaluatedModel {
    var model: FinalModel
    var testTimeAugmentation: TestTimeAugmentation
    /// VALIDATION accuracy (multi-label: mean AP) with `testTimeAugmentation`.
    var validationScore: Double
    /// The TEST evaluation of a single-label model.
    var test: TestEvaluation?
    /// The TEST evaluation of a multi-label model.
    var multiLabelTest: MultiLabelEvaluation?
    /// Every TEST example's scores.
    var testScores: TestScores?

    /// Fraction of TEST images answered exactly: top-1 accuracy, or multi-label subset accuracy.
    var testAccuracy: Double { multiLabelTest?.subsetAccuracy ?? test?.accuracy ?? 0 }
}

extension TrainingJob {
    /// Picks the test-time augmentation on VALIDATION, saves the model (`model.ckpt`), and
    /// evaluates it on TEST: TEST is used once, here.
    /// - Throws: `JobError.io` when the checkpoint cannot be written; `EvaluationError` for
    ///   probabilities that cannot be scored.
    func evaluate(_ model: FinalModel) throws -> EvaluatedModel {
        try update { $0.state = .evaluating }
        let (policy, validationScore) = pickTestTimeAugmentation(model)
        let data = model.data, splits = data.splits, resolution = data.dataset.resolution
        var metadata = [
            "job_id": id, "working_resolution": String(decoding: try JSONEncoder.sorted.encode(resolution), as: UTF8.self),
            "candidate": model.candidate.summary, "validation_accuracy": String(validationScore),
            "ensemble_members": String(model.end.members), TestTimeAugmentation.metadataKey: policy.rawValue,
            OutputActivation.metadataKey: data.trainer.output.rawValue,
        ]
        let thresholds = try data.trainer.multiHot.map { _ in try labelThresholds(model, policy: policy) }
        if let thresholds { metadata[Predictor.thresholdsKey] = String(decoding: try JSONEncoder().encode(thresholds), as: UTF8.self) }
        let checkpoint = Checkpoint(network: model.network, architecture: model.architecture, normalization: model.normalization,
                                    labelNames: data.labels, metadata: metadata)
        try writeArtifact(try checkpoint.encoded(), name: JobFolder.modelName)
        let probabilities = data.trainer.probabilities(model.network, normalization: model.normalization, indices: splits.test,
                                                       testTimeAugmentation: policy)
        if let thresholds, let multiHot = data.trainer.multiHot {
            let statistics = data.statistics
            let scores = try MultiLabelScores(scores: probabilities, targets: multiHot.rows(splits.test), labelCount: multiHot.labelCount)
            let test = try MultiLabelEvaluation(scores: scores, labelNames: data.labels, thresholds: thresholds,
                                                trainPrevalence: statistics.trainClassCounts.map { Double($0) / Double(max(1, statistics.trainImages)) })
            let k = scores.labelCount
            let testScores = try TestScores(labels: data.labels, multiLabel: true, examples: splits.test.enumerated().map { position, image in
                TestScores.Example(image: image, line: Int(data.dataset.lines[image]), labels: (0..<k).filter { scores.has(position, $0) },
                                   scores: Array(probabilities[position * k..<(position + 1) * k]))
            })
            return EvaluatedModel(model: model, testTimeAugmentation: policy, validationScore: validationScore, multiLabelTest: test,
                                  testScores: testScores)
        }
        let labels = splits.test.map { Int(data.dataset.labels[$0]) }
        var test = try TestEvaluation(
            probabilities: probabilities, labels: labels, classNames: data.labels,
            scoreThreshold: options.scoreThreshold, references: splits.test.map { "manifest line \(data.dataset.lines[$0])" },
            majorityClass: data.statistics.majorityClass)
        test.attachThumbnails { index in
            let pixels = Array(data.dataset.pixels(splits.test[index]))
            let image = Image(width: resolution.width, height: resolution.height, channels: resolution.channels, pixels: pixels)
            return (try? PNGEncoder.encode(image)).map { Data($0) }
        }
        let k = data.labels.count
        let testScores = try TestScores(labels: data.labels, examples: splits.test.enumerated().map { position, image in
            TestScores.Example(image: image, line: Int(data.dataset.lines[image]), labels: [labels[position]],
                               scores: Array(probabilities[position * k..<(position + 1) * k]))
        })
        return EvaluatedModel(model: model, testTimeAugmentation: policy, validationScore: validationScore, test: test, testScores: testScores)
    }

    /// Each label's score threshold, chosen on VALIDATION to maximise its F1 (`LabelThresholds`).
    private func labelThresholds(_ model: FinalModel, policy: TestTimeAugmentation) throws -> [Double] {
        let data = model.data
        guard let multiHot = data.trainer.multiHot else { return [] }
        let probabilities = data.trainer.probabilities(model.network, normalization: model.normalization, indices: data.splits.validation,
                                                       testTimeAugmentation: policy)
        let scores = try MultiLabelScores(scores: probabilities, targets: multiHot.rows(data.splits.validation),
                                          labelCount: multiHot.labelCount)
        return LabelThresholds.maximizingF1(scores)
    }

    /// The test-time augmentation with the highest VALIDATION score, cheapest first: a costlier
    /// one multiplies the inference work, so it must raise the score to be kept.
    private func pickTestTimeAugmentation(_ model: FinalModel) -> (TestTimeAugmentation, validationScore: Double) {
        let candidate = model.candidate, data = model.data
        let offered = FinalTrainingBudget.offered(candidate: candidate, translation: candidate.cropPadding > 0,
                                                  testTimeAugmentation: options.testTimeAugmentation)
        if !options.testTimeAugmentation, candidate.horizontalFlip || candidate.cropPadding > 0 {
            say("test-time augmentation is off: single-view predictions")
        }
        var best = (TestTimeAugmentation.none, -1.0)
        for policy in offered {
            let value = data.trainer.score(model.network, normalization: model.normalization, indices: data.splits.validation,
                                              testTimeAugmentation: policy)
            if value > best.1 { best = (policy, value) }
        }
        guard offered.count > 1 else { return best }
        let tried = offered.dropFirst().map { $0 == .horizontalFlip ? "mirror images" : "one-pixel shifts" }.joined(separator: " or ")
        let accuracy = percent(best.1)
        let decision = switch best.0 {
        case .none: "kept single-view predictions: averaging with \(tried) did not raise the VALIDATION \(data.trainer.metric.name) (\(accuracy))"
        case .horizontalFlip: "averaging each prediction with the mirror image's (the model trained with flips): VALIDATION \(accuracy)"
        case .shifts: "averaging each prediction over the image and its four one-pixel shifts (the model trained with translations): "
            + "VALIDATION \(accuracy)"
        }
        say(decision)
        return best
    }
}
