import Foundation
import NN
import Search
import Training

/// The search stage's value: the candidate the final training trains and what it starts from.
struct SearchOutcome {
    var planned: PlannedJob
    var best: Candidate
    /// The best trial's network, when the final training may start from it.
    var warmStart: Sequential?
    /// TRAIN images × epochs of the trial that scored `best` (`nil`: no trial).
    var trialImageEpochs: Int?
    var trials: [Search.TrialRecord]
    /// The cost model at the search's end (trials refine the calibration's).
    var cost: CostModel
    /// How the candidate was chosen, for the report.
    var strategy: String
    /// The trial that scored `best` (`nil`: no trial did).
    var bestTrialID: Int? = nil

    /// What the store keeps of it for the next unit.
    var end: SearchEnd {
        SearchEnd(best: best, bestTrialID: bestTrialID, trialImageEpochs: trialImageEpochs, cost: cost, strategy: strategy)
    }
}

/// What the search hands to the final training through the store (`JobStore.saveValue`, key `search`).
struct SearchEnd: Codable {
    static let key = "search"
    var best: Candidate
    var bestTrialID: Int?
    var trialImageEpochs: Int?
    var cost: CostModel
    var strategy: String
}

extension TrainingJob {
    /// The search's outcome when the job has no search: the fixed candidate, trained with the whole budget.
    func fixedOutcome(_ planned: PlannedJob, fixed: Candidate) -> SearchOutcome {
        say("no search: training the \(planned.fixedDescription) \(Self.name(fixed)) with the whole budget")
        return SearchOutcome(planned: planned, best: fixed, warmStart: nil, trialImageEpochs: options.fixedCandidate?.trialImageEpochs,
                             trials: [], cost: planned.plan.regime.costModel,
                             strategy: "none: the \(planned.fixedDescription) \(Self.name(fixed)) trained with the whole budget")
    }

    /// One step of the architecture search (ASHA with regularized evolution): the next trial, decided
    /// from the trials so far, trained and recorded; or the search's end, its outcome kept in the store.
    /// - Throws: `JobCancelled` when `shouldStop` ended it; `SearchError.noTrialFinished` when no
    ///   trial finished and too little time is left to train anyway.
    func trialUnit(shouldStop: @escaping @Sendable () -> Bool) throws {
        let planned = try restoredPlan()
        let search = architectureSearch ?? makeSearch(planned)
        architectureSearch = search
        let searchEnd = planned.clock.start.addingTimeInterval(planned.plan.searchSeconds)
        do {
            switch try search.step(deadline: searchEnd, budgetEnd: planned.clock.end, shouldStop: shouldStop, onNewBest: checkpointer(planned)) {
            case let .trial(trial): try recordTrial(trial)
            case let .ended(reason):
                if reason == .cancelled || shouldStop() { throw JobCancelled() }
                try endSearch(outcome(of: try search.result(reason), search: search, planned: planned, searchEnd: searchEnd))
            }
        } catch SearchError.cancelled {
            throw JobCancelled()
        } catch SearchError.noTrialFinished
            where !shouldStop() && planned.clock.left > search.estimatedSeconds(planned.space.startingArchitectures()[0], images: planned.data.splits.train.count, epochs: 1) {
            try endSearch(cheapestStartingArchitecture(search, planned: planned))
        }
    }

    /// Keeps the search's outcome in the store for the final training, and moves the job on to it.
    func endSearch(_ outcome: SearchOutcome) throws {
        try store.saveValue(jobID: id, key: SearchEnd.key, try JSONEncoder.sorted.encode(outcome.end))
        searched = outcome
        let energy = unitEnergy()
        try update {
            $0.state = .training
            $0.add(energy)
        }
    }

    /// The search, going on from an interrupted run's trials and best checkpoint when there are any.
    private func makeSearch(_ planned: PlannedJob) -> ArchitectureSearch {
        let search = ArchitectureSearch(trainer: planned.data.trainer, space: planned.space, settings: planned.settings,
                                        initialCost: planned.plan.regime.costModel, previousTrials: planned.previousTrials,
                                        previousBest: storedBestTrial(planned.previousTrials))
        if planned.previousTrials.isEmpty {
            announce(search, planned: planned)
        } else {
            say("resuming after an interruption: \(planned.previousTrials.count) finished trials kept, \(Budget.format(record.usedSeconds)) "
                + "of the budget used" + (planned.planKept ? ", its plan kept" : "") + (search.hasBestNetwork ? ", the best trial's weights restored" : ""))
        }
        return search
    }

    private func announce(_ search: ArchitectureSearch, planned: PlannedJob) {
        let settings = planned.settings, floor = planned.space.augmentationFloor
        let rungs = (0..<settings.rungs).map { settings.rung($0, trainImages: planned.data.splits.train.count) }.map { "\($0.images) images × \($0.epochs)" }
        say("searching until \(Budget.format(planned.plan.searchSeconds)) of the \(options.budget) budget "
            + "(rungs: \(rungs.joined(separator: ", ")); proposals under ~\(search.maximumFLOPs.map { String($0 / 1_000_000) } ?? "any") MFLOPs per image"
            + (floor == .none ? "" : "; every candidate trains with at least ±\(floor.cropPadding) px "
                + "translation and p \(floor.erasingProbability) erasing, as the long final training will") + ")")
    }

    /// Records a finished trial in the store (and its export, the search log) with the energy its
    /// unit used, adds that to the job's, and charges its time.
    private func recordTrial(_ trial: Search.TrialRecord) throws {
        var trial = trial
        trial.energy = unitEnergy()
        trial.worker = worker
        try store.addTrial(jobID: id, trial)
        try folder.appendSearchLog(trial)
        try update {
            $0.trialsDone = trial.id  // trials are numbered 1, 2, 3, … in the store: right even after a kill between the two writes
            if trial.error == nil { $0.bestValidationScore = max($0.bestValidationScore ?? 0, trial.validationScore) }
            if let energy = trial.energy { $0.add(energy) }
        }
        try chargeTime()
        onEvent(.trial(trial))
    }

    /// Checkpoints the best trial so far as it finishes: a resumed job starts from it.
    private func checkpointer(_ planned: PlannedJob) -> (Search.TrialRecord, Sequential) throws -> Void {
        let normalization = planned.trainNormalization
        let space = planned.space, labels = planned.data.labels
        return { trial, network in
            let spec = trial.candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "trial-\(trial.id)")
            let checkpoint = Checkpoint(
                network: network, architecture: spec, normalization: normalization, labelNames: labels,
                metadata: ["job_id": self.id, "trial": String(trial.id), "candidate": trial.candidate.summary,
                           "validation_accuracy": String(trial.validationScore)])
            try self.writeArtifact(try checkpoint.encoded(), name: JobFolder.bestTrialName)
        }
    }

    private func outcome(of result: SearchResult, search: ArchitectureSearch, planned: PlannedJob, searchEnd: Date) -> SearchOutcome {
        let ended = switch result.stopReason {
        case .converged: "converged"
        case .finalTrainingFirst: "ended once the starting architectures were scored (the final training needs the rest of the budget: "
            + "it would give the best candidate fewer than \(planned.settings.proposalFinalEpochs ?? 0) epochs)"
        default: "used its share of the budget"
        }
        if Date() > searchEnd.addingTimeInterval(1) {
            say("the search ran \(Budget.format(Date().timeIntervalSince(searchEnd))) past its share: the final training of its best "
                + "candidate needs at most ~\(Budget.format(search.finalTrainingCeilingSeconds(result.best.candidate))) "
                + "(\(FinalTrainingPlan.maximumEpochs) epochs), so the rest of the budget went to more trials")
        }
        let count = result.trials.count, baseline = planned.data.baselineDescription
        say("search \(ended) after \(count) trial\(count == 1 ? "" : "s"); "
            + "best: trial \(result.best.id) (\(result.best.architecture)), validation \(planned.data.trainer.metric.name) "
            + "\(percent(result.best.validationScore)) against \(percent(search.baselineScore(result.best))) for \(baseline)")
        if !search.beatsBaseline(result.best) {
            say("warning: no trial beat \(baseline) on VALIDATION")
        }
        return SearchOutcome(planned: planned, best: result.best.candidate, warmStart: result.bestNetwork,
                             trialImageEpochs: result.best.trainImages * result.best.epochs, trials: result.trials, cost: result.costModel,
                             strategy: "ASHA (asynchronous successive halving) with regularized evolution; \(count) trials; "
                                 + "search stopped: \(result.stopReason.rawValue)", bestTrialID: result.best.id)
    }

    /// The search's share ran out before a trial finished (on a loaded machine the calibration can
    /// take most of a short budget's share): the cheapest starting architecture trains with the rest
    /// of the budget, rather than the job failing with most of its budget unused.
    private func cheapestStartingArchitecture(_ search: ArchitectureSearch, planned: PlannedJob) -> SearchOutcome {
        let rung = planned.settings.rung(0, trainImages: planned.data.splits.train.count)
        let price = { (candidate: Candidate) in search.estimatedSeconds(candidate, images: rung.images, epochs: rung.epochs) }
        let best = planned.space.startingArchitectures().min { price($0) < price($1) }!
        say("the search's share of the budget ran out before a trial finished; training the starting architecture "
            + "\(Self.name(best)) with the rest of the budget")
        return SearchOutcome(planned: planned, best: best, warmStart: nil, trialImageEpochs: nil, trials: [], cost: planned.plan.regime.costModel,
                             strategy: "none: the search's share ran out before a trial finished; the starting architecture \(Self.name(best)) "
                                 + "trained with the rest of the budget")
    }
}
