import NN
import Training

/// How the search's best candidate is trained as the final model, given how much longer the final
/// training runs than the trial that picked it.
///
/// A trial measures a candidate at a short horizon (at most a few epochs), the final training at a
/// long one (tens of epochs), whose end is not known in advance: it stops when VALIDATION accuracy
/// plateaus, or at the deadline. So the final training uses a warmup–stable–decay schedule
/// (`WarmupStableDecaySchedule`): whenever it ends, it ends with a cool-down. With the trials'
/// one-cycle schedule, a plateau stop came while the learning rate was still high, before the
/// anneal. See docs/decisions/0014-warmup-stable-decay-final-schedule.md.
///
/// Two choices made at the short horizon do not carry over:
/// - **Warm start.** Starting from the trial's weights saves the trial's work, but a network
///   trained to the end of a short schedule and then trained again generalises worse than a fresh
///   one given the same total training (Ash & Adams 2020, "On Warm-Starting Neural Network
///   Training", https://arxiv.org/abs/1910.08475). So the final run starts from the trial only
///   when the trial did a large share of the final's work (`warmStartRatio`); then the saving
///   matters and the two horizons are alike. See docs/decisions/0015-final-training-warm-start-only-when-short.md.
/// - **Little augmentation.** Within a trial, augmentation only slows fitting, so short trials
///   favour candidates without it; over a long final training those overfit. When the final
///   horizon is at least `regularizationRatio` times the trial's and at least
///   `regularizationEpochs` epochs, a candidate below `AugmentationFloor.longTraining` (±2 px,
///   random erasing p 0.25) is raised to it. A search that knew its final training would be long
///   already trained every candidate with that floor (`SearchSpace.augmentationFloor`); then this
///   changes nothing. Below ~20 epochs the floor cost more than it gave.
///   See docs/decisions/0010-augmentation-floor-for-long-finals.md.
public struct FinalTrainingPlan: Equatable, Sendable {
    /// Final image-epochs over the trial's: how much longer the final training runs.
    public var horizonRatio: Double
    /// Start from the trial's weights.
    public var warmStart: Bool
    /// The candidate as trained (its augmentation may differ from the search's).
    public var candidate: Candidate
    /// The configuration to train with: `candidate.trainingConfig(epochs:seed:)` with the
    /// warmup–stable–decay schedule.
    public var config: TrainingConfig
    /// What was changed from the candidate's own configuration and why, for the job's log.
    public var notes: [String]

    /// The final training's ceiling in epochs: past it, a small dataset's training has long since
    /// plateaued, and the time it cannot use goes to the search (`SearchSettings.budgetEnd`).
    public static let maximumEpochs = 100
    /// Final horizons up to this many times the trial's start from its weights.
    public static let warmStartRatio = 3.0
    /// Final horizons from this many times the trial's, and of at least `regularizationEpochs`
    /// epochs, add the mild augmentations a candidate lacks.
    public static let regularizationRatio = 4.0
    public static let regularizationEpochs = 30

    /// - Parameters:
    ///   - candidate: the search's best candidate.
    ///   - trialImageEpochs: training images × epochs of the trial that scored it (`nil`: no trial,
    ///     e.g. a seed trained with the whole budget, which keeps its configuration and starts fresh).
    ///   - trainImages: TRAIN images of the final training.
    ///   - epochs: epochs planned for the final training.
    ///   - seed: seeds initialisation, shuffling and augmentation.
    public init(candidate: Candidate, trialImageEpochs: Int?, trainImages: Int, epochs: Int, seed: UInt64) {
        self.candidate = candidate
        config = Self.config(candidate, epochs: epochs, seed: seed)
        notes = []
        guard let trialImageEpochs, trialImageEpochs > 0 else {
            horizonRatio = .infinity
            warmStart = false
            return
        }
        horizonRatio = Double(trainImages) * Double(epochs) / Double(trialImageEpochs)
        warmStart = horizonRatio <= Self.warmStartRatio
        if !warmStart {
            notes.append(String(format: "the final training runs %.0f× longer than the best trial: it starts from fresh weights", horizonRatio))
        }
        if Self.needsRegularization(horizonRatio: horizonRatio, epochs: Double(epochs)) {
            let floor = AugmentationFloor.longTraining
            if candidate.cropPadding < floor.cropPadding {
                notes.append("the final training is long and the candidate has no random translation: adding ±\(floor.cropPadding) px")
            }
            if candidate.erasingProbability < floor.erasingProbability {
                notes.append("the final training is long and the candidate has no random erasing: adding it with p \(floor.erasingProbability)")
            }
            self.candidate = floor.applied(to: candidate)
            config = Self.config(self.candidate, epochs: epochs, seed: seed)
        }
    }

    /// Whether a final training of `epochs` epochs, `horizonRatio` times longer than its trial (in
    /// image-epochs), trains with at least `AugmentationFloor.longTraining`.
    public static func needsRegularization(horizonRatio: Double, epochs: Double) -> Bool {
        horizonRatio >= regularizationRatio && epochs >= Double(regularizationEpochs)
    }

    static func config(_ candidate: Candidate, epochs: Int, seed: UInt64) -> TrainingConfig {
        var config = candidate.trainingConfig(epochs: epochs, seed: seed)
        config.schedule = .warmupStableDecay
        return config
    }
}
