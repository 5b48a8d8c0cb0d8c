import Foundation
import NN
import Search
import Training

/// The plan stage's value: the plan (`JobPlan`, saved with the job) and what the search and the
/// final training start from.
struct PlannedJob {
    var data: ImportedData
    var plan: JobPlan
    /// The search space, with the plan's class-weighting gene and augmentation floor.
    var space: SearchSpace
    /// The search's settings as the plan decided them.
    var settings: SearchSettings
    /// The candidate trained without a search (`--candidate`, `--baseline`), or `nil` for a search.
    var fixed: Candidate?
    /// Trials an interrupted run of this job finished (its search log), which the search goes on from.
    var previousTrials: [Search.TrialRecord]
    var clock: BudgetClock
    /// Whether the plan was the interrupted run's, read back.
    var planKept: Bool

    /// "candidate" or "starting architecture", for the job's log.
    var fixedDescription: String
    /// TRAIN's per-channel normalization (what trials' checkpoints store).
    var trainNormalization: ChannelNormalization
}

extension TrainingJob {
    /// Plans the job (`JobPlanner`): calibrates the cost of training on this machine, decides the
    /// search's share and regime, and checks that the job fits its budget. A job resumed after an
    /// interruption keeps the plan its first run saved.
    /// - Throws: `SearchError.budgetTooSmall` / `.tooLittleLeftToResume` when the job cannot finish
    ///   in its budget; `JobError.failed` for an unknown starting architecture, a candidate that does
    ///   not fit the images, or a search log or plan this job cannot have written.
    /// - Parameter rebuilding: for a later unit run in a new process: the plan and the trials so far
    ///   are the store's, and the budget's clock goes on from the time the job used.
    func plan(_ data: ImportedData, rebuilding: Bool = false) throws -> PlannedJob {
        let planner = JobPlanner(budgetSeconds: options.budget.seconds, searchShare: options.searchFraction, settings: options.search,
                                 statistics: data.statistics)
        var space = planner.space(inputShape: BatchLoader(dataset: data.dataset, normalization: nil).inputShape, classes: data.labels.count)
        let fixed = try fixedCandidate(in: space)
        let previousTrials = fixed == nil && (rebuilding || record.usedSeconds > 0) ? try storedTrials(space: space) : []
        let usedBefore = previousTrials.isEmpty && !rebuilding ? 0 : record.usedSeconds
        let clock = BudgetClock(budgetSeconds: options.budget.seconds, usedBefore: usedBefore)
        self.clock = clock
        chargedUntil = Date()
        if !rebuilding, try store.value(jobID: id, key: Self.budgetClockKey) == nil {
            try store.saveValue(jobID: id, key: Self.budgetClockKey, Data(String(Date().timeIntervalSince1970).utf8))
        }
        let kept = previousTrials.isEmpty && !rebuilding ? nil : try storedPlan()
        if rebuilding, kept == nil { throw JobError.failed("job \(id) is \(record.state.rawValue) but the store has no plan for it; the job cannot resume") }
        let plan = try kept ?? makePlan(planner, data: data, space: space, fixed: fixed)
        space.imbalanced = plan.rebalancingSearched
        space.singleLabel = data.trainer.multiHot == nil
        space.augmentationFloor = plan.regime.augmentationFloor
        if !rebuilding { try plan.checkFeasible(elapsedSeconds: clock.elapsed, resumed: usedBefore > 0) }
        var settings = plan.searchSettings(options.search, seed: options.seed)
        if simulatedTrialSeconds != nil { settings.convergencePatience = 1_000_000_000 }  // simulated scores never improve for long
        return PlannedJob(data: data, plan: plan, space: space, settings: settings, fixed: fixed,
                          previousTrials: previousTrials, clock: clock, planKept: kept != nil,
                          fixedDescription: options.fixedCandidate != nil ? "candidate" : "starting architecture",
                          trainNormalization: BatchLoader.fitNormalization(dataset: data.dataset, indices: data.splits.train))
    }

    /// The store's value holding when the budget's clock started (seconds since 1970, as text): the
    /// report's wall clock counts from it.
    static let budgetClockKey = "budget_clock_started"

    /// The trials an interrupted run of this job finished, from the store.
    /// - Throws: `JobError.failed` for trials this job's search cannot have made.
    private func storedTrials(space: SearchSpace) throws -> [Search.TrialRecord] {
        let trials = try store.trials(jobID: id)
        for (index, trial) in trials.enumerated() {
            // IDs increase; trials trained in parallel may leave a gap while one is in flight.
            let problem = index > 0 && trial.id <= trials[index - 1].id ? "it follows trial \(trials[index - 1].id)"
                : trial.problem ?? space.problem(with: trial.candidate)
            if let problem { throw JobError.failed("trial \(trial.id) of job \(id) cannot have been made by this job's search (\(problem)); the job cannot resume") }
        }
        return trials
    }

    /// The plan an interrupted run of this job made, from the store.
    /// - Throws: `JobError.failed` for a plan this job cannot have made.
    private func storedPlan() throws -> JobPlan? {
        guard let plan = try store.plan(jobID: id) else { return nil }
        if let problem = plan.problem { throw JobError.failed("the stored plan of job \(id) is impossible (\(problem)); the job cannot resume") }
        return plan
    }

    /// The candidate the options say to train without a search, or `nil` for a search.
    private func fixedCandidate(in space: SearchSpace) throws -> Candidate? {
        if let given = options.fixedCandidate?.candidate {
            if let problem = space.problem(with: given) { throw JobError.failed("the candidate cannot train on these images: \(problem)") }
            return given
        }
        guard let name = options.startingArchitecture else { return nil }
        let starting = space.startingArchitectures()
        guard let found = starting.first(where: { $0.origin == .startingArchitecture(name) }) else {
            throw JobError.failed("unknown starting architecture '\(name)' (known: \(starting.map(Self.name).joined(separator: ", ")))")
        }
        return found
    }

    /// Calibrates (a few timed batches of each starting architecture, or of the fixed candidate
    /// alone), plans and saves the plan.
    private func makePlan(_ planner: JobPlanner, data: ImportedData, space: SearchSpace, fixed: Candidate?) throws -> JobPlan {
        let started = Date()
        let starting = space.startingArchitectures()
        let probed = fixed.map { [$0] } ?? starting
        let calibration = try ArchitectureSearch.calibrate(trainer: data.trainer, seeds: probed, space: space)
        let flops = { (candidate: Candidate) in
            Double(try candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "plan").forwardFLOPsPerImage())
        }
        let priced = try probed.map { candidate in
            let epoch = calibration.seconds(flops: try flops(candidate), trainImages: Double(data.statistics.trainImages),
                                            scoredImages: Double(data.statistics.validationImages))
            return "\(Self.name(candidate)) ~\(Budget.format(epoch))"
        }
        let what = fixed == nil ? "each starting architecture" : "the \(options.fixedCandidate != nil ? "candidate" : "starting architecture")"
        say("timed a few batches of \(what) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; "
            + "priced epochs: \(priced.joined(separator: ", "))")
        let plan = planner.plan(calibration: calibration, startingFLOPs: try starting.map(flops), fixedFLOPs: try fixed.map(flops))
        try store.savePlan(jobID: id, plan)
        try folder.writePlan(plan)  // an export, for people reading the job's folder
        return plan
    }
}
