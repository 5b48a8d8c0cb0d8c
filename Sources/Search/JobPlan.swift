import Foundation
import NN
import Training

/// What a job decides before its first trial (`JobPlanner.plan`): the search's share of the budget,
/// its regime, whether the class-imbalance gene is searched, and the least time the job needs.
///
/// Saved with the job: a job resumed after an interruption goes on under the plan its first run
/// made, since calibrating again could decide otherwise (see `SearchRegime`).
public struct JobPlan: Codable, Equatable, Sendable {
    /// `false`: no search; one given candidate trains with the whole budget.
    public var searches: Bool
    /// The whole budget, worker-seconds (with one worker, seconds of wall-clock time).
    public var budgetSeconds: Double
    /// The search's share of the budget, seconds from the budget's start. The search may run past
    /// it into time the final training could not use (`ArchitectureSearch.deadline(_:budgetEnd:)`).
    public var searchSeconds: Double
    /// Cost model, rung size, pick rule and augmentation floor of the search.
    public var regime: SearchRegime
    /// Whether the class-imbalance gene (class weighting, class sampling) is open to the search
    /// (`SearchSpace.imbalanced`). Stored as `class_weighting_searched`, its name when weighting was its only value.
    public var rebalancingSearched: Bool
    /// Seconds the job needs after its calibration at least: the cheapest trial and one final
    /// epoch (priced by the calibration), and 2 s for the rest.
    public var minimumSecondsAfterCalibration: Double

    enum CodingKeys: String, CodingKey {
        case searches, budgetSeconds = "budget_seconds", searchSeconds = "search_seconds", regime
        case rebalancingSearched = "class_weighting_searched", minimumSecondsAfterCalibration = "minimum_seconds_after_calibration"
    }

    public init(searches: Bool, budgetSeconds: Double, searchSeconds: Double, regime: SearchRegime, rebalancingSearched: Bool,
                minimumSecondsAfterCalibration: Double) {
        self.searches = searches
        self.budgetSeconds = budgetSeconds
        self.searchSeconds = searchSeconds
        self.regime = regime
        self.rebalancingSearched = rebalancingSearched
        self.minimumSecondsAfterCalibration = minimumSecondsAfterCalibration
    }

    /// Seconds for the final training and the evaluation.
    public var finalTrainingSeconds: Double { budgetSeconds - searchSeconds }

    /// `settings` as this plan decided them, for a search seeded with `seed`.
    public func searchSettings(_ settings: SearchSettings, seed: UInt64) -> SearchSettings {
        var settings = settings
        settings.seed = seed
        settings.finalTrainingSeconds = finalTrainingSeconds
        settings.baseImageEpochs = regime.baseImageEpochs
        settings.favourCapacityWithinNoise = regime.favourCapacityWithinNoise
        return settings
    }

    /// Why a plan read back from a file cannot be one a job made, or `nil`.
    public var problem: String? {
        if let problem = regime.problem { return problem }
        let seconds = [budgetSeconds, searchSeconds, minimumSecondsAfterCalibration]
        if !seconds.allSatisfy({ $0.isFinite && $0 >= 0 }) || searchSeconds > budgetSeconds { return "impossible seconds \(seconds)" }
        return nil
    }

    /// Checks that the job can still finish when `elapsedSeconds` of the budget are gone.
    /// - Parameter resumed: whether the job is resuming after an interruption.
    /// - Throws: `SearchError.budgetTooSmall` (with the budget to ask for), or
    ///   `SearchError.tooLittleLeftToResume` for a resumed job.
    public func checkFeasible(elapsedSeconds: Double, resumed: Bool) throws {
        let needed = elapsedSeconds + minimumSecondsAfterCalibration
        guard needed > budgetSeconds else { return }
        if resumed { throw SearchError.tooLittleLeftToResume(usedSeconds: elapsedSeconds, budgetSeconds: budgetSeconds) }
        throw SearchError.budgetTooSmall(requested: budgetSeconds, needed: needed)
    }
}

/// The job's search policy in one place: from the budget, the calibration and the dataset's
/// statistics, how long the search runs, under which regime, and whether the job fits at all.
public struct JobPlanner: Sendable {
    /// A TRAIN imbalance (largest class over smallest) above this opens the class-imbalance gene
    /// (`SearchSpace.rebalancings`) to the search; the trials then measure whether it helps.
    /// See docs/decisions/0019-class-imbalance-at-its-root.md.
    public static let rebalancingRatio = 3.0

    public var budgetSeconds: Double
    /// The search's share of the budget, 0–1; `nil` takes `defaultSearchShare`.
    public var searchShare: Double?
    public var settings: SearchSettings
    public var statistics: DatasetStatistics

    public init(budgetSeconds: Double, searchShare: Double?, settings: SearchSettings, statistics: DatasetStatistics) {
        self.budgetSeconds = budgetSeconds
        self.searchShare = searchShare
        self.settings = settings
        self.statistics = statistics
    }

    /// The search's share of a budget of `budgetSeconds`: 25 % up to 15 minutes, then rising
    /// linearly to 45 % at an hour and 50 % at two hours, 50 % beyond. Short budgets need most of
    /// their time for the final model: a short search's one-epoch top rung cannot tell candidates
    /// apart at the final horizon. The share is continuous, so a longer budget never gives the final
    /// training less time (with steps, 16 minutes trained the final 2.45 minutes less than 15 did).
    /// See docs/decisions/0001-search-share-of-the-budget.md and 0042.
    public static func defaultSearchShare(budgetSeconds: Double) -> Double {
        // (budget in seconds, share) corners, joined by straight lines.
        let corners: [(seconds: Double, share: Double)] = [(900, 0.25), (3600, 0.45), (7200, 0.5)]
        guard budgetSeconds > corners[0].seconds else { return corners[0].share }
        for (low, high) in zip(corners, corners.dropFirst()) where budgetSeconds <= high.seconds {
            return low.share + (high.share - low.share) * (budgetSeconds - low.seconds) / (high.seconds - low.seconds)
        }
        return corners[corners.count - 1].share
    }

    /// The search space: `inputShape` `[C, H, W]` images of `classes` classes, the class-imbalance
    /// gene open when TRAIN is imbalanced (`rebalancingRatio`).
    public func space(inputShape: [Int], classes: Int) -> SearchSpace {
        SearchSpace(inputShape: inputShape, classes: classes, imbalanced: statistics.imbalanceRatio > Self.rebalancingRatio,
                    trainImages: statistics.trainImages)
    }

    /// The plan.
    /// - Parameters:
    ///   - calibration: the cost model the calibration measured (`ArchitectureSearch.calibrate`).
    ///   - startingFLOPs: forward FLOPs per image of each starting architecture (the first prices the regime).
    ///   - fixedFLOPs: forward FLOPs per image of the candidate trained without a search, or `nil` for a search.
    public func plan(calibration: CostModel, startingFLOPs: [Double], fixedFLOPs: Double?) -> JobPlan {
        let share = searchShare ?? Self.defaultSearchShare(budgetSeconds: budgetSeconds)
        let searchSeconds = budgetSeconds * share
        let regime = SearchRegime.decide(
            calibration: calibration, seedFLOPs: startingFLOPs[0], settings: settings, searchSeconds: searchSeconds,
            finalSeconds: budgetSeconds - searchSeconds, trainImages: statistics.trainImages,
            validationImages: statistics.validationImages, search: fixedFLOPs == nil)
        // The cheapest rung-0 trial (none without a search) and one final epoch, scored on the search's VALIDATION subset.
        let scored = Double(min(settings.validationImages, statistics.validationImages))
        var sized = settings
        sized.baseImageEpochs = regime.baseImageEpochs
        let rung = sized.rung(0, trainImages: statistics.trainImages)
        let cheapestTrial = fixedFLOPs != nil ? 0 : startingFLOPs.map {
            calibration.seconds(flops: $0, trainImages: Double(rung.images * rung.epochs), scoredImages: scored * Double(rung.epochs))
        }.min() ?? 0
        let finalEpoch = calibration.seconds(flops: fixedFLOPs ?? startingFLOPs[0], trainImages: Double(statistics.trainImages),
                                             scoredImages: scored)
        return JobPlan(searches: fixedFLOPs == nil, budgetSeconds: budgetSeconds, searchSeconds: searchSeconds, regime: regime,
                       rebalancingSearched: statistics.imbalanceRatio > Self.rebalancingRatio,
                       minimumSecondsAfterCalibration: cheapestTrial + finalEpoch + 2)
    }
}

/// How the time left after the search is split between the final training and the evaluation.
public struct FinalTrainingBudget: Equatable, Sendable {
    /// Estimated seconds of one final-training epoch: all of TRAIN, then all of VALIDATION scored.
    public var epochSeconds: Double
    /// Seconds kept for the evaluation: VALIDATION once per test-time augmentation on offer, then
    /// TEST once at the costliest one's views, and 2 s.
    public var evaluationSeconds: Double
    /// Epochs that fit before the evaluation, 1 … `FinalTrainingPlan.maximumEpochs`.
    public var epochs: Int

    /// Seconds per image the final network costs: the best trial's own rate when it trained that
    /// network (`forwardFLOPs`) on at least an epoch's worth of TRAIN images (images × epochs), else
    /// the cost model's price.
    ///
    /// Such a trial measured the final's epoch itself, its per-epoch costs included; the cost model
    /// is a line through every trial, which one odd trial can move by half. A shorter trial is not
    /// used: its fixed costs weigh more per image. See docs/decisions/0037-final-priced-by-its-trial.md.
    public let secondsPerImage: Double
    /// Whether `secondsPerImage` is the best trial's measured rate.
    public let measured: Bool

    /// - Parameters:
    ///   - cost: the search's cost model at its end.
    ///   - forwardFLOPs: forward FLOPs per image of the final network.
    ///   - bestTrial: the trial that scored the candidate (`nil`: none did).
    ///   - candidate: the candidate trained (its augmentation decides the test-time augmentations on offer).
    ///   - secondsLeft: seconds until the budget's end.
    ///   - testTimeAugmentation: whether the final model may use test-time augmentation.
    public init(cost: CostModel, forwardFLOPs: Double, bestTrial: TrialRecord? = nil, candidate: Candidate, statistics: DatasetStatistics,
                secondsLeft: Double, testTimeAugmentation: Bool) {
        let trialRate = bestTrial.flatMap { trial in
            trial.flops == Int(forwardFLOPs)
                ? trial.finalSecondsPerImage(trainImages: statistics.trainImages, scoredImages: statistics.validationImages) : nil
        }
        measured = trialRate != nil
        let price = trialRate.map { CostModel(secondsPerImage: $0, secondsPerImageFLOP: 0) } ?? cost
        secondsPerImage = price.secondsPerImage(flops: forwardFLOPs)
        epochSeconds = max(1e-3, price.seconds(flops: forwardFLOPs, trainImages: Double(statistics.trainImages),
                                               scoredImages: Double(statistics.validationImages)))
        // Translations are on offer when the candidate has them, or when the final training may be
        // long enough for `FinalTrainingPlan` to add them.
        let mayTranslate = candidate.cropPadding > 0 || secondsLeft / epochSeconds >= Double(FinalTrainingPlan.regularizationEpochs)
        let views = Self.offered(candidate: candidate, translation: mayTranslate, testTimeAugmentation: testTimeAugmentation).map(\.views)
        let scored = views.reduce(0, +) * statistics.validationImages + views.max()! * statistics.testImages
        evaluationSeconds = price.seconds(flops: forwardFLOPs, trainImages: 0, scoredImages: Double(scored)) + 2
        epochs = max(1, min(FinalTrainingPlan.maximumEpochs, Int((secondsLeft - evaluationSeconds) / epochSeconds)))
    }

    /// The test-time augmentations a final model of `candidate` may use, cheapest first: those that
    /// suit its training augmentation, or none when `testTimeAugmentation` is off.
    public static func offered(candidate: Candidate, translation: Bool, testTimeAugmentation: Bool) -> [TestTimeAugmentation] {
        testTimeAugmentation ? TestTimeAugmentation.offered(horizontalFlip: candidate.horizontalFlip, translation: translation) : [.none]
    }
}
