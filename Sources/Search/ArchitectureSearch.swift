import Energy
import Foundation
import NN
import Tensors
import Training

/// One finished (or abandoned) trial: a candidate trained at one fidelity.
public struct TrialRecord: Codable, Sendable {
    public var id: Int
    /// Multi-fidelity rung: 0 is the cheapest.
    public var rung: Int
    public var candidate: Candidate
    public var architecture: String
    public var parameters: Int
    /// Forward FLOPs per image.
    public var flops: Int
    public var epochs: Int
    public var trainImages: Int
    /// VALIDATION accuracy, in [0, 1], on `validationImages` images.
    public var validationScore: Double
    /// VALIDATION images the trial was scored on: the search's fixed subset below the top rung, all
    /// of VALIDATION at it (`nil` in search logs written before top-rung trials were scored on all).
    public var validationImages: Int?
    /// Accuracy of always answering TRAIN's most frequent class on those same VALIDATION images, the
    /// majority-class baseline a trial must beat to be of any use (`nil` in logs written before it).
    public var baselineScore: Double? = nil
    public var seconds: Double
    /// Seconds since the search started when the trial ended.
    public var endedAt: Double
    public var stopReason: StopReason
    public var error: String?
    /// Energy the trial's work unit used and its CO2e, set by the job that records the trial (`nil`
    /// in search logs written before it, and for trials the search keeps in memory).
    public var energy: EnergyUse? = nil
    /// The worker that ran it (its lease owner, `HOST:PID:RANDOM`), set by the job that records the trial
    /// (`nil` in search logs written before it, and when no worker ran the job).
    public var worker: String? = nil

    enum CodingKeys: String, CodingKey {
        case id, rung, candidate, architecture, parameters, flops, epochs, trainImages = "train_images"
        case validationScore = "validation_accuracy", validationImages = "validation_images", baselineScore = "baseline_accuracy", seconds, endedAt = "ended_at", stopReason = "stop_reason", error
        case energy, worker
    }

    /// Seconds per image the trial processed, a scored VALIDATION image counting 1/3 of a training
    /// one as in `CostModel`; `nil` when it trained no epoch. `scoredImages` stands for
    /// `validationImages` in search logs written before it was kept.
    public func secondsPerImage(scoredImages: Int) -> Double? {
        guard epochs > 0 else { return nil }
        let scored = validationImages ?? scoredImages
        return seconds / (Double(trainImages * epochs) + Double(scored * epochs) / 3)
    }

    /// Seconds per image of a final training of this trial's network over all of TRAIN, as the trial
    /// measured it: its own rate when it trained on at least an epoch's worth of TRAIN
    /// (`trainImages` images × epochs), else `nil`. A shorter trial's fixed costs weigh more per
    /// image. See docs/decisions/0037-final-priced-by-its-trial.md.
    public func finalSecondsPerImage(trainImages: Int, scoredImages: Int) -> Double? {
        error == nil && self.trainImages * epochs >= trainImages ? secondsPerImage(scoredImages: scoredImages) : nil
    }

    /// Why a record read back from a search log cannot be a trial this search made, or `nil`.
    public var problem: String? {
        let checks: [(Bool, String)] = [
            (id >= 1, "trial id \(id)"),
            ((0...16).contains(rung), "rung \(rung)"),
            (parameters >= 0 && flops >= 0 && epochs >= 0 && trainImages >= 0 && (validationImages ?? 0) >= 0, "negative counts"),
            ((0...1).contains(validationScore), "validation accuracy \(validationScore)"),
            ((0...1).contains(baselineScore ?? 0), "baseline accuracy \(baselineScore ?? 0)"),
            (seconds.isFinite && seconds >= 0 && endedAt.isFinite && endedAt >= 0, "times \(seconds), \(endedAt)"),
        ]
        return checks.first { !$0.0 }.map { "trial \(id) has an impossible \($0.1)" }
    }
}

/// A trial the search decided on, before it trains (`ArchitectureSearch.decide`). It is kept with its
/// trial unit in the store, so that trials decided while it trains know of it, and a unit claimed
/// again after its worker stopped trains the same trial.
public struct PlannedTrial: Codable, Sendable, Equatable {
    public var candidate: Candidate
    /// Multi-fidelity rung: 0 is the cheapest.
    public var rung: Int
    /// The trial it promotes (ASHA), or `nil` for a starting architecture or a new candidate.
    public var parent: Int?
    /// Seconds the cost model priced it at when it was decided.
    public var estimatedSeconds: Double
    /// Seconds of the search it may take at most: what was left when it was decided.
    public var allowedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case candidate, rung, parent, estimatedSeconds = "estimated_seconds", allowedSeconds = "allowed_seconds"
    }

    public init(candidate: Candidate, rung: Int, parent: Int?, estimatedSeconds: Double, allowedSeconds: Double) {
        self.candidate = candidate
        self.rung = rung
        self.parent = parent
        self.estimatedSeconds = estimatedSeconds
        self.allowedSeconds = allowedSeconds
    }
}

/// Why the search ended.
public enum SearchStopReason: String, Codable, Sendable {
    case budget
    /// Validation accuracy stopped improving.
    case converged
    /// The seeds were scored, and the final training needs the rest of the search's share: it
    /// could not give the best candidate `SearchSettings.proposalFinalEpochs` epochs.
    case finalTrainingFirst = "final_training_first"
    case cancelled
}

public struct SearchResult {
    public var trials: [TrialRecord]
    public var best: TrialRecord
    public var stopReason: SearchStopReason
    /// The cost model as measured by the trials.
    public var costModel: CostModel
    /// The best trial's trained network (its best-VALIDATION weights): the final training starts
    /// from it, so the time the search spent on the winner is not lost.
    public var bestNetwork: Sequential?
}

/// Settings of the multi-fidelity search.
public struct SearchSettings: Sendable {
    /// Training resource of rung 0, in images × epochs; rung r gets `η^r` times as much (see
    /// `rung(_:trainImages:)`). `TrainingJob` scales it with the budget.
    public var baseImageEpochs = 8000
    /// Number of rungs.
    public var rungs = 3
    /// Promotion ratio η: the top 1/η of a rung go up, with η times the resource.
    public var reduction = 3
    /// VALIDATION images used to score trials below the top rung (a fixed subset, for speed).
    public var validationImages = 2000
    /// Score top-rung trials on all of VALIDATION. The best trial is picked among them, and on a
    /// 2,000-image subset the standard error of an accuracy near 90 % is 0.7 points: more than
    /// the gap between the leading candidates. All of a 10,000-image VALIDATION set costs about
    /// 7 % more work per top-rung epoch and brings the error to 0.3 points.
    public var scoreTopRungOnAllValidation = true
    /// Set when the final training will run many times longer than the top rung's trials. The
    /// best trial is then the one with the most forward FLOPs per image among the top-rung trials
    /// within one standard error of the most accurate, or a larger seed architecture's within
    /// `seedMarginStandardErrors`: a short horizon favours networks that learn fast over those that
    /// end higher (short-horizon bias, Wu et al. 2018, https://arxiv.org/abs/1803.02021), and within
    /// the noise of the VALIDATION estimate the trials cannot tell them apart.
    /// See docs/decisions/0011-favour-capacity-within-noise.md and 0040-larger-seed-within-its-margin.md.
    public var favourCapacityWithinNoise = false
    /// A proposal replaces the best seed architecture's trial at the best trial's rung only when
    /// it leads by more than this many standard errors of VALIDATION accuracy: the incumbent
    /// stays unless a challenger clearly beats it, as in SMAC's intensification (Hutter et al.
    /// 2011, "Sequential Model-Based Optimization for General Algorithm Configuration"). The seeds
    /// are known-good at long horizons; a proposal's lead at a trial's short one is partly the
    /// short-horizon bias. See docs/decisions/0012-incumbent-seed-protection.md.
    public var seedMarginStandardErrors = 2.0
    /// Trials of different rungs are compared on one footing: the best trial comes from the highest
    /// rung that has a trial within this many standard errors of the most accurate trial of any rung
    /// (`bestTrial()`). A higher rung trains longer and usually scores higher, so it still wins within
    /// the noise; a lower-rung trial far more accurate is not beaten by a higher-rung one far worse.
    /// See docs/decisions/0019-class-imbalance-at-its-root.md.
    public var rungMarginStandardErrors = 2.0
    /// Regularized evolution: population (the most recently tried candidates) and tournament sizes.
    public var populationSize = 12
    public var tournamentSize = 4
    /// Search stops when this many trials in a row fail to raise the best accuracy by 0.2 points.
    public var convergencePatience = 8
    /// Seconds the final training will have. With it, a proposed candidate the final training
    /// could not give `minimumFinalEpochs` epochs (priced by the current cost model) is not tried:
    /// it would lose to a smaller network trained longer. So are seeds, but the cheapest
    /// (`startingArchitecturesToTry`). `nil`: no cap.
    public var finalTrainingSeconds: Double?
    public var minimumFinalEpochs = 8
    /// Proposals are tried only when `finalTrainingSeconds` would give the best trial's candidate
    /// at least this many epochs; below it, the search ends once the seeds are scored and their
    /// share of the budget goes to the final training: such a final is short of epochs, and the
    /// search's time would be taken from it. See docs/decisions/0013-final-training-first-on-short-finals.md.
    /// 30 is also where `FinalTrainingPlan` starts to regularise a long final training.
    /// `nil`: no such rule.
    public var proposalFinalEpochs: Int? = 30
    /// A fixed cap on forward FLOPs per image for proposed candidates (overrides the one above).
    public var maximumFLOPs: Int?
    public var seed: UInt64 = 0

    public init() {}

    /// TRAIN images and epochs of `rung` when TRAIN has `trainImages`: a resource of
    /// `baseImageEpochs · η^rung` image-epochs as one epoch over a fixed subset of TRAIN while it is
    /// smaller than TRAIN, else as whole epochs over all of TRAIN (more images rather than more
    /// passes over a few).
    public func rung(_ rung: Int, trainImages: Int) -> (images: Int, epochs: Int) {
        var resource = Double(baseImageEpochs)
        for _ in 0..<rung { resource *= Double(reduction) }
        let train = max(1, trainImages)
        if resource < Double(train) { return (max(1, Int(resource)), 1) }
        return (train, max(1, Int((resource / Double(train)).rounded())))
    }
}

/// Budgeted architecture and hyper-parameter search.
///
/// Strategy: ASHA, asynchronous successive halving (Li et al. 2020, "A System for Massively
/// Parallel Hyperparameter Tuning", https://arxiv.org/abs/1810.05934) over rungs of increasing
/// training images × epochs, run one trial at a time. The seed architectures go first, each
/// straight to the highest rung it can afford: Hyperband's conservative bracket (Li et al. 2018,
/// "Hyperband", https://arxiv.org/abs/1603.06560), a hedge against the short-horizon bias of
/// low rungs, where small unregularised networks beat those that win with longer training.
/// New rung-0 candidates then come from random samples, then regularized evolution (Real et al. 2019,
/// "Regularized Evolution for Image Classifier Architecture Search",
/// https://arxiv.org/abs/1802.01548): a tournament over the most recent candidates (the seeds
/// among them) picks a parent, one gene is mutated, and old candidates age out of the population.
///
/// Every trial is priced before it starts with a cost model fitted to the trials so far
/// (`CostModel`); a trial that would overrun the deadline is skipped, and a job that could not
/// climb to the best trial's rung before it (`canChallengeTheBest`) is not started.
public final class ArchitectureSearch {
    public let trainer: Trainer
    public let space: SearchSpace
    public let settings: SearchSettings
    /// Whether the best trial's weights are at hand (a resumed search may have lost them).
    public var hasBestNetwork: Bool { bestNetwork != nil && bestNetwork?.trialID == bestTrial()?.id }
    private var generator: SeededGenerator
    private var trials: [TrialRecord] = []
    private var promoted: Set<Int> = []
    private var cost: CostModel
    /// The cost model before any trial (`calibrate`).
    private let initialCost: CostModel
    private let validationSubset: [Int]
    /// TRAIN's most frequent class: what a model that learned nothing but the prior answers.
    public let majorityClass: Int
    /// The network of trial `bestNetwork.trialID` (the best trial when it finished; the best
    /// may have moved to an older trial since, whose weights were not kept).
    private var bestNetwork: (trialID: Int, network: Sequential)?

    /// - Parameters:
    ///   - initialCost: the cost model before any trial ran (see `calibrate`).
    ///   - previousTrials: trials an interrupted run of the same search finished (its search log);
    ///     the search goes on from them: seeds already tried are not repeated, promotions and the
    ///     cost model are restored.
    ///   - previousBest: a kept checkpoint of one of `previousTrials`; used only when that trial is
    ///     the best of them (the log may have run ahead of the checkpoint).
    public init(trainer: Trainer, space: SearchSpace, settings: SearchSettings, initialCost: CostModel,
                previousTrials: [TrialRecord] = [], previousBest: (trialID: Int, network: Sequential)? = nil) {
        self.trainer = trainer
        self.space = space
        self.settings = settings
        generator = SeededGenerator(seed: settings.seed &+ UInt64(previousTrials.count))
        self.initialCost = initialCost
        cost = initialCost
        var validation = trainer.splits.validation
        var shuffler = SeededGenerator(seed: settings.seed &+ 7)
        validation.shuffle(using: &shuffler)
        validationSubset = Array(validation.prefix(settings.validationImages)).sorted()
        var counts = [Int](repeating: 0, count: trainer.classCount)
        for index in trainer.splits.train { counts[Int(trainer.dataset.labels[index])] += 1 }
        majorityClass = counts.indices.max { counts[$0] < counts[$1] } ?? 0
        for trial in previousTrials {
            // A trial at rung r + 1 was promoted from the same candidate's trial at rung r.
            if trial.rung > 0, let parent = trials.last(where: { $0.rung == trial.rung - 1 && $0.candidate == trial.candidate }) {
                promoted.insert(parent.id)
            }
            trials.append(trial)
            if trial.error == nil, trial.stopReason != .cancelled {
                calibrate(with: trial)
                noteScore(trial)
            }
        }
        // New candidates drawn so far (`nextJob` alternates random samples and mutations by this count).
        proposals = previousTrials.filter { $0.rung == 0 && $0.candidate.origin.startingArchitectureName == nil }.count
        if let previousBest, bestTrial()?.id == previousBest.trialID { bestNetwork = previousBest }
    }

    /// The cost model before any trial ran: a line of seconds per image against forward FLOPs
    /// (`CostModel.fit`) through the probes of `seeds` (`probeSecondsPerImage`), or the median
    /// seconds per image × FLOP when they do not determine one. Trials refine it.
    ///
    /// A line through every seed, not one seed's probe in proportion to FLOPs: small networks pay a
    /// per-image cost FLOPs do not show (batch assembly, augmentation, memory-bound layers). See
    /// docs/decisions/0002-cost-model-with-a-per-image-term.md. Probes vary between calibrations, so
    /// trials re-price (`calibrate(with:)`) and the final training re-plans from its own epochs; see
    /// docs/decisions/0003-calibration-probes.md.
    /// - Throws: `SearchError.noTrainingImages` when TRAIN is empty; `NNError` when a seed does
    ///   not build for this input.
    public static func calibrate(trainer: Trainer, seeds: [Candidate], space: SearchSpace) throws -> CostModel {
        var runs: [(flops: Double, secondsPerImage: Double)] = []
        for seed in seeds {
            let spec = seed.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "calibration")
            runs.append((max(1, Double(try spec.forwardFLOPsPerImage())), try probeSecondsPerImage(trainer: trainer, candidate: seed, space: space)))
        }
        return costModel(probes: runs)
    }

    /// The cost model through probes `(forward FLOPs per image, seconds per training image)`:
    /// `CostModel.fit`, or the median seconds per image × FLOP when they do not determine a line.
    public static func costModel(probes: [(flops: Double, secondsPerImage: Double)]) -> CostModel {
        let ratios = probes.map { $0.secondsPerImage / max(1, $0.flops) }.sorted()
        return CostModel.fit(probes, fallback: CostModel(secondsPerImageFLOP: ratios.isEmpty ? 1e-9 : ratios[ratios.count / 2]))
    }

    /// Seconds per training image of `candidate`, timed on a few batches.
    ///
    /// After an untimed one-batch warm-up, two probes of 2 and 6 batches, each timed by its epoch
    /// (`EpochRecord.imagesPerSecond`: the steps and the scoring of 64 VALIDATION images, not the
    /// set-up before them, where fitting the normalization reads every TRAIN image); the difference
    /// is the cost of 4 batches, and what every epoch pays once cancels: the first batch's
    /// allocations, the scoring; the warm-up takes what the process pays once (thread pools, first
    /// page faults). See docs/decisions/0003-calibration-probes.md.
    /// - Throws: `SearchError.noTrainingImages` when TRAIN is empty; `NNError` when `candidate`
    ///   does not build for this input.
    public static func probeSecondsPerImage(trainer: Trainer, candidate: Candidate, space: SearchSpace) throws -> Double {
        let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "calibration")
        guard !trainer.splits.train.isEmpty else { throw SearchError.noTrainingImages }
        var config = candidate.trainingConfig(epochs: 1, seed: 0)
        config.patience = 1
        var calibrationSplits = trainer.splits
        calibrationSplits.validation = Array(trainer.splits.validation.prefix(64))
        var probe = trainer  // keeps its precision
        probe.splits = calibrationSplits
        /// Seconds of one epoch over `batches` batches (fewer when TRAIN is smaller) and its image count.
        func epoch(batches: Int) throws -> (seconds: Double, images: Int) {
            let images = Array(trainer.splits.train.prefix(candidate.batchSize * batches))
            var imagesPerSecond = 0.0
            _ = try probe.train(spec, config: config, trainIndices: images, onEpoch: { imagesPerSecond = $0.imagesPerSecond })
            let batch = min(config.batchSize, images.count)
            let trained = max(1, images.count / batch) * batch  // whole batches only, as `Trainer` trains
            return (Double(trained) / max(1e-9, imagesPerSecond), trained)
        }
        _ = try epoch(batches: 1)  // what the process pays once: thread pools, first allocations, page faults
        let short = try epoch(batches: 2)
        let long = try epoch(batches: 6)
        if long.images > short.images, long.seconds > short.seconds {
            return (long.seconds - short.seconds) / Double(long.images - short.images)
        }
        // TRAIN too small for two probe sizes, or timer noise: the longer probe whole.
        return long.seconds / Double(long.images + calibrationSplits.validation.count / 3)
    }

    /// VALIDATION images that score trials at `rung`.
    func validationIndices(rung: Int) -> [Int] {
        settings.scoreTopRungOnAllValidation && rung == settings.rungs - 1 ? trainer.splits.validation : validationSubset
    }

    /// Estimated seconds of a trial of `candidate` at `rung`.
    func estimatedSeconds(_ candidate: Candidate, rung: Int) -> Double {
        let (images, epochs) = settings.rung(rung, trainImages: trainer.splits.train.count)
        return estimatedSeconds(candidate, images: images, epochs: epochs, validationImages: validationIndices(rung: rung).count)
    }

    /// Estimated seconds of training `candidate` on `images` × `epochs` and scoring it on
    /// `validationImages` (default: the search's VALIDATION subset) after every epoch. A forward
    /// pass is priced at a third of a training step (forward + two backward GEMMs).
    public func estimatedSeconds(_ candidate: Candidate, images: Int, epochs: Int, validationImages: Int? = nil) -> Double {
        let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "estimate")
        let flops = Double((try? spec.forwardFLOPsPerImage()) ?? 1)
        let scored = validationImages ?? validationSubset.count
        return cost.seconds(flops: flops, trainImages: Double(images * epochs), scoredImages: Double(scored * epochs))
    }

    /// Epochs `settings.finalTrainingSeconds` buys `candidate` over all of TRAIN, scored on all of
    /// VALIDATION after each (priced by the cost model); `nil` without a final training budget.
    func finalEpochs(_ candidate: Candidate) -> Double? {
        guard let seconds = settings.finalTrainingSeconds else { return nil }
        return seconds / max(1e-12, finalEpochSeconds(candidate))
    }

    /// Seconds of one final-training epoch of `candidate`: all of TRAIN, then all of VALIDATION
    /// scored. At the rate of its latest trial over an epoch's worth of TRAIN, as the final training
    /// prices it (`FinalTrainingBudget`), else by the cost model.
    func finalEpochSeconds(_ candidate: Candidate) -> Double {
        let train = trainer.splits.train.count, validation = trainer.splits.validation.count
        let measured = trials.reversed().lazy.filter { $0.candidate == candidate }
            .compactMap { $0.finalSecondsPerImage(trainImages: train, scoredImages: self.validationSubset.count) }.first
        guard let measured else { return estimatedSeconds(candidate, images: train, epochs: 1, validationImages: validation) }
        return CostModel(secondsPerImage: measured, secondsPerImageFLOP: 0).seconds(flops: 0, trainImages: Double(train), scoredImages: Double(validation))
    }

    /// Seconds the final training of `candidate` needs at most: `FinalTrainingPlan.maximumEpochs`
    /// epochs over TRAIN, each scored on VALIDATION, priced by the cost model, with half as much
    /// again for the cost model's error and the evaluation.
    public func finalTrainingCeilingSeconds(_ candidate: Candidate) -> Double {
        1.5 * Double(FinalTrainingPlan.maximumEpochs) * finalEpochSeconds(candidate)
    }

    /// When the search stops: `deadline`, or later when the best trial's candidate could not use
    /// the time between `deadline` and `budgetEnd` even at its ceiling of epochs
    /// (`finalTrainingCeilingSeconds`). On a small dataset the final training cannot use a large
    /// share of the budget, and more trials can (issue 19: a 796-image job stopped after 2 of its
    /// 5 minutes).
    public func deadline(_ deadline: Date, budgetEnd: Date?) -> Date {
        guard let budgetEnd, let best = bestTrial() else { return deadline }
        return max(deadline, budgetEnd.addingTimeInterval(-finalTrainingCeilingSeconds(best.candidate)))
    }

    /// What one step of the search did.
    public enum Step {
        /// Trained a trial (finished, or failed with its error) and recorded it.
        case trial(TrialRecord)
        /// The search is over, for this reason.
        case ended(SearchStopReason)
    }

    /// Runs trials until `deadline`, convergence or `shouldStop`, or, when the final training would
    /// be short of epochs, until the seeds are scored (`SearchSettings.proposalFinalEpochs`): `step`
    /// until the search ends, then `result(_:)`.
    /// - Throws: `SearchError.noTrialFinished` when not one trial fit; `SearchError.cancelled` when
    ///   `shouldStop` came first.
    /// - Parameters:
    ///   - budgetEnd: when the final training must end; with it, the search goes on past `deadline`
    ///     into time the final training could not use (`deadline(_:budgetEnd:)`).
    ///   - onTrial: called after every finished trial (one cut off by `shouldStop` is not reported, nor
    ///     kept); an error it throws ends the search with that error.
    ///   - onNewBest: called when a trial becomes the best so far, with its network (to keep a
    ///     checkpoint), before `onTrial`; an error it throws ends the search with that error.
    public func run(deadline searchDeadline: Date, budgetEnd: Date? = nil, shouldStop: @escaping () -> Bool = { false },
                    onTrial: (TrialRecord) throws -> Void = { _ in },
                    onNewBest: (TrialRecord, Sequential) throws -> Void = { _, _ in }) throws -> SearchResult {
        while true {
            switch try step(deadline: searchDeadline, budgetEnd: budgetEnd, shouldStop: shouldStop, onNewBest: onNewBest) {
            case let .trial(record): try onTrial(record)
            case let .ended(reason): return try result(reason)
            }
        }
    }

    /// The search's result once it ended for `reason`.
    /// - Throws: `SearchError.noTrialFinished` when no trial finished; `SearchError.cancelled` when
    ///   none did because the search was cancelled.
    public func result(_ reason: SearchStopReason) throws -> SearchResult {
        guard let best = bestTrial() else { throw reason == .cancelled ? SearchError.cancelled : SearchError.noTrialFinished }
        return SearchResult(trials: trials, best: best, stopReason: reason, costModel: cost,
                            bestNetwork: bestNetwork?.trialID == best.id ? bestNetwork?.network : nil)
    }

    /// One step of the search: decides the next trial from the trials so far (`decide`), trains and
    /// records it; or says why the search ends. The same trials give the same decision, so a search
    /// rebuilt from its stored trials (`init(previousTrials:)`) in another process goes on as this one
    /// would. A trial cut off by `shouldStop` is not recorded (a resumed search trains it again): the
    /// step says `.cancelled`.
    /// - Throws: what `onNewBest` throws.
    public func step(deadline searchDeadline: Date, budgetEnd: Date? = nil, shouldStop: () -> Bool = { false },
                     onNewBest: (TrialRecord, Sequential) throws -> Void = { _, _ in }) throws -> Step {
        if shouldStop() { return .ended(.cancelled) }
        let deadline = deadline(searchDeadline, budgetEnd: budgetEnd)
        let planned: PlannedTrial
        switch decide(remaining: deadline.timeIntervalSinceNow) {
        case let .trial(trial): planned = trial
        case let .ended(reason): return .ended(reason)
        case .wait: return .ended(.budget)  // not reached: with nothing in flight, `decide` does not wait
        }
        let (record, network) = train(planned, id: trials.count + 1, deadline: deadline, shouldStop: shouldStop)
        if record.stopReason == .cancelled { return .ended(.cancelled) }
        try self.record(record, network: network, onNewBest: onNewBest)
        return .trial(record)
    }

    /// What the search does next (`decide`).
    public enum Decision: Equatable {
        /// Train this trial.
        case trial(PlannedTrial)
        /// Nothing to start until a trial in flight finishes (its result decides what comes next).
        case wait
        /// The search is over, for this reason (only when no trial is in flight).
        case ended(SearchStopReason)
    }

    /// Decides the next trial from the trials so far and those in flight (decided, training on other
    /// workers: their promotions, starting architectures and candidates are taken, and the time they
    /// were priced at is not in `remaining`): ASHA's promotion, a starting architecture, or a new
    /// candidate, that can train within `remaining` seconds of the search; or why there is none. For a
    /// search made from the stored trials for this one decision (`init(previousTrials:)`): in-flight
    /// trials count as promoted and tried in this object from then on.
    ///
    /// While a starting architecture is in flight and none has finished, nothing new is started: whether
    /// proposals are tried at all depends on their scores (`SearchSettings.proposalFinalEpochs`).
    public func decide(remaining: Double, inFlight: [PlannedTrial] = []) -> Decision {
        let end = { (reason: SearchStopReason) in inFlight.isEmpty ? Decision.ended(reason) : .wait }
        if !inFlight.isEmpty {
            pending = inFlight
            for trial in inFlight { if let parent = trial.parent { promoted.insert(parent) } }
            proposals += inFlight.filter { $0.parent == nil && $0.candidate.origin.startingArchitectureName == nil }.count
            generator = SeededGenerator(seed: settings.seed &+ UInt64(trials.count + inFlight.count))
        }
        if let reason = stopReason(remaining: remaining) { return end(reason) }
        if seedsLeft.isEmpty, bestTrial() == nil, inFlight.contains(where: { $0.candidate.origin.startingArchitectureName != nil }) { return .wait }
        var skippedInARow = 0
        while true {
            var (candidate, rung, parent) = nextJob(seeds: &seedsLeft, remaining: remaining)
            let isSeed = parent == nil && candidate.origin.startingArchitectureName != nil
            // `nextJob`'s fallback again: no new candidate fits the FLOP cap and the time left.
            if parent == nil, candidate == space.smallest, wasTried(candidate) { return end(.budget) }
            if !isSeed, !canChallengeTheBest(candidate, from: rung, within: remaining) {
                // Not even the cheapest new candidate (`nextJob`'s fallback) could: the rest of the
                // search's share goes to the final training.
                guard let parent else { return end(.budget) }
                promoted.insert(parent)  // cannot climb in time: do not retry this promotion
                continue
            }
            if isSeed {
                // Hyperband's most conservative bracket: a seed starts at the highest rung that
                // leaves at least half of the remaining time to the rest of the search.
                while rung > 0, estimatedSeconds(candidate, rung: rung) > remaining / 2 { rung -= 1 }
            }
            let estimated = estimatedSeconds(candidate, rung: rung)
            if estimated > remaining {
                if let parent { promoted.insert(parent) }  // cannot afford this promotion: do not retry it
                skippedInARow += 1
                if skippedInARow > 20 { return end(.budget) }
                continue
            }
            let trial = PlannedTrial(candidate: candidate, rung: rung, parent: parent, estimatedSeconds: estimated, allowedSeconds: remaining)
            pending.append(trial)
            return .trial(trial)
        }
    }

    /// Trains a decided trial as trial `id`, until `deadline` at the latest; returns its record and,
    /// when it trained, its network. Records nothing (`record(_:network:onNewBest:)` does).
    public func train(_ trial: PlannedTrial, id: Int, deadline: Date, shouldStop: () -> Bool) -> (TrialRecord, Sequential?) {
        let (images, epochs) = settings.rung(trial.rung, trainImages: trainer.splits.train.count)
        return runTrial(trial.candidate, rung: trial.rung, images: images, epochs: epochs, deadline: deadline, shouldStop: shouldStop,
                        since: searchStart, id: id)
    }

    /// A stand-in for `train` that trains nothing: it waits `seconds` (stopping early when `shouldStop`
    /// says so, as `.cancelled`) and scores the trial with a fixed pseudo-random accuracy of its
    /// candidate and rung, the same on every worker. For `autovision bench workers`, which measures
    /// what the store and the search cost per trial with the training taken out.
    public func simulate(_ trial: PlannedTrial, id: Int, seconds: Double, shouldStop: () -> Bool) -> TrialRecord {
        let (images, epochs) = settings.rung(trial.rung, trainImages: trainer.splits.train.count)
        var record = newRecord(trial.candidate, rung: trial.rung, images: images, id: id)
        let started = Date()
        while Date().timeIntervalSince(started) < seconds {
            if shouldStop() {
                record.stopReason = .cancelled
                break
            }
            Thread.sleep(forTimeInterval: min(0.05, max(0, seconds - Date().timeIntervalSince(started))))
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in "\(trial.candidate.summary)|\(trial.rung)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        record.epochs = epochs
        record.baselineScore = 0
        record.validationScore = 0.5 + 0.3 * Double(hash % 10_000) / 10_000 + 0.05 * Double(trial.rung)
        record.seconds = Date().timeIntervalSince(started)
        record.endedAt = Date().timeIntervalSince(searchStart)
        return record
    }

    /// Adds a finished trial to the search: its promotion taken, the cost model refined, and, when it
    /// is now the best trial, `onNewBest` called with its network.
    /// - Throws: what `onNewBest` throws.
    public func record(_ record: TrialRecord, network: Sequential?, onNewBest: (TrialRecord, Sequential) throws -> Void = { _, _ in }) throws {
        if record.rung > 0, let parent = trials.last(where: { $0.rung == record.rung - 1 && $0.candidate == record.candidate }) {
            promoted.insert(parent.id)
        }
        pending.removeAll { $0.candidate == record.candidate && $0.rung == record.rung }
        trials.append(record)
        trials.sort { $0.id < $1.id }
        if bestTrial()?.id == record.id, let network {
            bestNetwork = (record.id, network)
            try onNewBest(record, network)
        }
        if record.error == nil {
            calibrate(with: record)
            noteScore(record)
        }
    }

    /// Seconds of work the search may use in all, from its start: `share`, or more when the best
    /// trial's candidate could not use the time between `share` and `budget` even at its ceiling of
    /// epochs (as `deadline(_:budgetEnd:)`, in seconds of work rather than on the wall clock).
    public func searchSeconds(share: Double, budget: Double) -> Double {
        guard let best = bestTrial() else { return share }
        return max(share, budget - finalTrainingCeilingSeconds(best.candidate))
    }

    /// Trials decided and not finished (`decide`'s in-flight ones, and its own decision).
    private var pending: [PlannedTrial] = []

    /// Why the search ends before its next trial with `remaining` seconds to its deadline, or `nil`.
    private func stopReason(remaining: Double) -> SearchStopReason? {
        if remaining <= 1 { return .budget }
        if trials.count >= settings.convergencePatience + 3, sinceImprovement >= settings.convergencePatience,
           trials.contains(where: { $0.rung > 0 }) {
            return .converged
        }
        if seedsLeft.isEmpty, let best = bestTrial(), let needed = settings.proposalFinalEpochs,
           let epochs = finalEpochs(best.candidate), epochs < Double(needed) {
            return .finalTrainingFirst
        }
        return nil
    }

    /// When the search started: trials' `endedAt` count from it (a resumed search goes on from its trials' time).
    private lazy var searchStart = Date().addingTimeInterval(-(trials.map(\.endedAt).max() ?? 0))
    /// The starting architectures not tried yet, in order (decided at the first step, with the cost model then).
    private lazy var seedsLeft = startingArchitecturesNotTried()

    private var bestAccuracy = -1.0
    private var sinceImprovement = 0
    private var bestRung = 0

    /// Convergence bookkeeping: trials in a row that did not raise the best score by 0.2 points.
    /// A trial below the best's rung cannot beat it, so it does not count: convergence is judged on
    /// the trials that could have improved the result.
    private func noteScore(_ record: TrialRecord) {
        let score = score(record)
        if score > bestAccuracy + 0.002 {
            sinceImprovement = 0
        } else if record.rung >= bestRung {
            sinceImprovement += 1
        }
        if score > bestAccuracy {
            bestAccuracy = score
            bestRung = record.rung
        }
    }

    /// For promotion, convergence and tournaments: a trial above the majority-class baseline ranks
    /// above every trial at or below it; among those, a higher rung wins, then accuracy.
    func score(_ record: TrialRecord) -> Double {
        beatsBaseline(record) ? Double(record.rung) + record.validationScore : record.validationScore - 1
    }

    /// The baseline's score on `indices` (`Trainer.baselineScore`: always answering `majorityClass`,
    /// or each label's TRAIN prevalence as a constant score).
    public func baselineScore(on indices: [Int]) -> Double {
        trainer.baselineScore(on: indices, majorityClass: majorityClass)
    }

    /// The majority-class baseline on the VALIDATION images `record` was scored on.
    public func baselineScore(_ record: TrialRecord) -> Double {
        record.baselineScore ?? baselineScore(on: validationIndices(rung: record.rung))
    }

    /// Whether `record` is more accurate than always answering TRAIN's most frequent class: a trial
    /// at or below it has learned nothing a constant answer could not, whatever its rung.
    public func beatsBaseline(_ record: TrialRecord) -> Bool { record.validationScore > baselineScore(record) }

    /// Standard error of `record`'s VALIDATION accuracy (binomial, on the images it was scored on).
    private func standardError(_ record: TrialRecord) -> Double {
        let p = record.validationScore
        return (p * (1 - p) / Double(max(1, record.validationImages ?? settings.validationImages))).squareRoot()
    }

    /// The best finished trial. Only trials above their majority-class baseline compete while there
    /// is one (a trial that learned nothing a constant answer could not is never picked over one that
    /// did). Among them, the rung is the highest one with a trial within `rungMarginStandardErrors`
    /// of the most accurate trial of any rung (one footing: a far worse trial does not win by its
    /// rung alone); the pick is the most accurate trial of that rung, or, with
    /// `favourCapacityWithinNoise`, the one with the most FLOPs within one standard error of it, or
    /// a larger seed architecture's within `seedMarginStandardErrors`. A seed architecture's trial at
    /// that rung within `seedMarginStandardErrors` of the most accurate is kept over a proposal.
    ///
    /// Only trials within `maximumFLOPs` as the trials so far price it compete, while there is one:
    /// the cap that kept larger networks from being tried was set before any trial, from the
    /// calibration's estimate. See docs/decisions/0005-pick-within-the-cap-as-trials-price-it.md.
    public func bestTrial() -> TrialRecord? {
        let trained = trials.filter { $0.error == nil && $0.epochs > 0 }
        let withinCap = maximumFLOPs.map { cap in trained.filter { $0.flops <= cap } } ?? trained
        let affordable = withinCap.isEmpty ? trained : withinCap
        let useful = affordable.filter(beatsBaseline)
        let finished = useful.isEmpty ? affordable : useful
        guard let top = finished.max(by: { $0.validationScore < $1.validationScore }) else { return nil }
        let margin = settings.rungMarginStandardErrors * standardError(top)
        let rung = finished.filter { $0.validationScore >= top.validationScore - margin }.map(\.rung).max()!
        let atRung = finished.filter { $0.rung == rung }
        let leader = atRung.max { $0.validationScore < $1.validationScore }!
        let p = leader.validationScore
        let standardError = standardError(leader)
        var pick = leader
        let isSeed = { (trial: TrialRecord) in trial.candidate.origin.startingArchitectureName != nil }
        let seedMargin = settings.seedMarginStandardErrors * standardError
        if settings.favourCapacityWithinNoise {
            let largest = { (trials: [TrialRecord]) in trials.max { ($0.flops, $0.validationScore) < ($1.flops, $1.validationScore) } }
            pick = largest(atRung.filter { $0.validationScore >= p - standardError }) ?? leader
            // A seed keeps its incumbent margin against any smaller network, a smaller seed included.
            if let seed = largest(atRung.filter { isSeed($0) && $0.validationScore >= p - seedMargin }), seed.flops > pick.flops {
                pick = seed
            }
        }
        if !isSeed(pick), let seed = atRung.filter(isSeed).max(by: { $0.validationScore < $1.validationScore }),
           seed.validationScore >= p - seedMargin {
            pick = seed
        }
        return pick
    }

    /// Whether training `candidate` at `rung` and, promoted, at each rung above it up to the best
    /// trial's fits in `seconds` (priced by the cost model). Below the best trial's rung only a
    /// trial far more accurate can replace it (`bestTrial()`), so a job that cannot climb there before
    /// the deadline cannot change the result: with ASHA running to a deadline, the last minutes
    /// of a search would otherwise go to rung-0 trials that nothing can come of.
    func canChallengeTheBest(_ candidate: Candidate, from rung: Int, within seconds: Double) -> Bool {
        let target = max(rung, bestTrial()?.rung ?? 0)
        return (rung...target).map { estimatedSeconds(candidate, rung: $0) }.reduce(0, +) <= seconds
    }

    /// ASHA's job selection: promote the best unpromoted trial in the top 1/η of the highest rung
    /// that has one; otherwise start a new candidate at rung 0 that can reach the best trial's rung
    /// within `remaining` seconds (`canChallengeTheBest`), falling back to the cheapest candidate.
    /// New candidates are random samples or mutations of the population's tournament winners.
    func nextJob(seeds: inout [Candidate], remaining: Double = .infinity) -> (Candidate, rung: Int, parent: Int?) {
        for rung in stride(from: settings.rungs - 2, through: 0, by: -1) {
            let finished = trials.filter { $0.rung == rung && $0.error == nil }.sorted { $0.validationScore > $1.validationScore }
            let top = finished.prefix(finished.count / settings.reduction)
            // A trial at or below the majority-class baseline is not promoted: it has learned nothing yet.
            if let pick = top.first(where: { !promoted.contains($0.id) && beatsBaseline($0) }) { return (pick.candidate, rung + 1, pick.id) }
        }
        if !seeds.isEmpty { return (seeds.removeFirst(), settings.rungs - 1, nil) }
        let population = population()
        proposals += 1
        for _ in 0..<50 {
            let candidate: Candidate
            // Until the population is half full, every other proposal is a random sample, the rest
            // mutations: the seeds are members from the start, and a short search (a few
            // proposals) is better spent near them, as local search is (White et al. 2021, "Local
            // Search is State of the Art for Neural Architecture Search Benchmarks",
            // https://arxiv.org/abs/2005.02960). See docs/decisions/0007-proposals-start-near-the-seeds.md.
            if population.isEmpty || (population.count < settings.populationSize / 2 && proposals % 2 == 1) {
                candidate = space.random(using: &generator)
            } else {
                let contestants = (0..<settings.tournamentSize).map { _ in population.randomElement(using: &generator)! }
                let parent = contestants.max { score($0) < score($1) }!
                candidate = space.mutate(parent.candidate, using: &generator)
            }
            if affordable(candidate), !wasTried(candidate), canChallengeTheBest(candidate, from: 0, within: remaining) {
                return (candidate, 0, nil)
            }
        }
        return (space.smallest, 0, nil)
    }

    /// `startingArchitecturesToTry()` less the seeds a trial already trained, by name: a resumed job decides its
    /// augmentation floor again from a new calibration, and a seed raised differently is the same
    /// seed. See docs/decisions/0008-no-candidate-trained-twice.md.
    func startingArchitecturesNotTried() -> [Candidate] {
        startingArchitecturesToTry().filter { seed in
            !trials.contains { $0.candidate.origin == seed.origin } && !pending.contains { $0.candidate.origin == seed.origin }
        }
    }

    /// Whether a trial already trained `candidate`'s genes (whatever its origin): mutations of a
    /// small population repeat one another. See docs/decisions/0008-no-candidate-trained-twice.md.
    func wasTried(_ candidate: Candidate) -> Bool {
        (trials.map(\.candidate) + pending.map(\.candidate)).contains { tried in
            var same = candidate
            same.origin = tried.origin
            return same == tried
        }
    }

    /// New candidates `nextJob` has drawn.
    private var proposals = 0

    /// Regularized evolution's population: the `populationSize` candidates tried most recently
    /// (by their first trial), each with its best trial, compared as `score` does (higher rung
    /// first, then accuracy). The seeds are members: they skip the low rungs (Hyperband's
    /// conservative bracket), and a population of rung-0 trials alone would never mutate the
    /// known-good architectures, only random samples. See docs/decisions/0007-proposals-start-near-the-seeds.md.
    func population() -> [TrialRecord] {
        var best: [Candidate: TrialRecord] = [:]
        var order: [Candidate] = []
        for trial in trials where trial.error == nil && trial.epochs > 0 {
            if let current = best[trial.candidate] {
                if score(trial) > score(current) { best[trial.candidate] = trial }
            } else {
                order.append(trial.candidate)
                best[trial.candidate] = trial
            }
        }
        return order.suffix(settings.populationSize).map { best[$0]! }
    }

    /// Forward FLOPs per image above which proposals are not tried (see `SearchSettings.finalTrainingSeconds`).
    public var maximumFLOPs: Int? {
        if let fixed = settings.maximumFLOPs { return fixed }
        guard let seconds = settings.finalTrainingSeconds else { return nil }
        let epochImages = Double(trainer.splits.train.count) + Double(trainer.splits.validation.count) / 3
        let perImage = seconds / (Double(settings.minimumFinalEpochs) * max(1, epochImages))
        return Int(min(1e15, cost.maximumFLOPs(secondsPerImage: perImage) ?? 0))
    }

    /// The seed architectures the search tries: those within `maximumFLOPs`, or the cheapest when
    /// none is. A seed the final training could not give `minimumFinalEpochs` epochs would lose to
    /// a smaller network trained longer, as a proposal would. See docs/decisions/0004-seeds-within-the-flop-cap.md.
    func startingArchitecturesToTry() -> [Candidate] {
        let seeds = space.startingArchitectures()
        let within = seeds.filter(affordable)
        if !within.isEmpty { return within }
        return [seeds.min { forwardFLOPs($0) < forwardFLOPs($1) }!]
    }

    private func forwardFLOPs(_ candidate: Candidate) -> Int {
        let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "cap")
        return (try? spec.forwardFLOPsPerImage()) ?? Int.max
    }

    /// Whether `candidate` is within `maximumFLOPs`.
    func affordable(_ candidate: Candidate) -> Bool {
        guard let cap = maximumFLOPs else { return true }
        return forwardFLOPs(candidate) <= cap
    }

    /// Trains one candidate at one rung; returns its record and, when it trained, its network.
    func runTrial(_ candidate: Candidate, rung: Int, images: Int, epochs: Int, deadline: Date, shouldStop: () -> Bool,
                  since: Date, id: Int? = nil) -> (TrialRecord, Sequential?) {
        let id = id ?? trials.count + 1
        let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "trial-\(id)")
        var record = newRecord(candidate, rung: rung, images: images, id: id)
        let started = Date()
        // A fixed, class-mixed subset of TRAIN for this rung (the same for every trial of the rung).
        var subset = trainer.splits.train
        var shuffler = SeededGenerator(seed: settings.seed &+ UInt64(rung) &+ 11)
        subset.shuffle(using: &shuffler)
        subset = Array(subset.prefix(images))
        var splits = trainer.splits
        splits.validation = validationIndices(rung: rung)
        var scorer = trainer  // keeps its precision
        scorer.splits = splits
        var config = candidate.trainingConfig(epochs: epochs, seed: settings.seed &+ UInt64(id))
        config.patience = epochs  // a trial runs its rung's epochs; the search decides what continues
        var network: Sequential?
        do {
            let outcome = try scorer.train(spec, config: config, trainIndices: subset, deadline: deadline, shouldStop: shouldStop)
            record.epochs = outcome.history.count
            record.validationScore = outcome.bestValidationScore
            record.stopReason = outcome.stopReason
            network = outcome.network
        } catch {
            record.error = "\(error)"
        }
        record.seconds = Date().timeIntervalSince(started)
        record.endedAt = Date().timeIntervalSince(since)
        return (record, network)
    }

    /// The record of trial `id` before it trains: what it is, nothing measured yet.
    private func newRecord(_ candidate: Candidate, rung: Int, images: Int, id: Int) -> TrialRecord {
        let spec = candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "trial-\(id)")
        return TrialRecord(
            id: id, rung: rung, candidate: candidate, architecture: candidate.summary, parameters: (try? spec.parameterCount()) ?? 0,
            flops: (try? spec.forwardFLOPsPerImage()) ?? 0, epochs: 0, trainImages: images, validationScore: 0,
            validationImages: validationIndices(rung: rung).count, baselineScore: baselineScore(on: validationIndices(rung: rung)),
            seconds: 0, endedAt: 0, stopReason: .completed, error: nil)
    }

    /// Refines the cost model with a finished trial: a least-squares line of seconds per image
    /// against FLOPs over the trials so far (`CostModel.fit`), or, while they do not determine one,
    /// the calibrated line scaled by the median of measured / priced over them. Scaling keeps the
    /// calibration's per-image term. See docs/decisions/0002-cost-model-with-a-per-image-term.md.
    func calibrate(with record: TrialRecord) {
        guard record.flops > 0, let secondsPerImage = record.secondsPerImage(scoredImages: validationSubset.count) else { return }
        observed.append((Double(record.flops), secondsPerImage))
        let ratios = observed.map { $0.secondsPerImage / initialCost.secondsPerImage(flops: $0.flops) }.sorted()
        cost = CostModel.fit(observed, fallback: initialCost.scaled(by: ratios[ratios.count / 2]))
    }

    private var observed: [(flops: Double, secondsPerImage: Double)] = []
}
