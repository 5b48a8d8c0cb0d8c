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
    /// Worker-seconds of the budget used when the search ended (`nil` until it did, and in stores
    /// written before it was kept).
    var usedSeconds: Double? = nil

    /// What the store keeps of it for the next unit.
    var end: SearchEnd {
        SearchEnd(best: best, bestTrialID: bestTrialID, trialImageEpochs: trialImageEpochs, cost: cost, strategy: strategy,
                  usedSeconds: usedSeconds)
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
    var usedSeconds: Double?
}

extension TrainingJob {
    /// The search's outcome when the job has no search: the fixed candidate, trained with the whole budget.
    func fixedOutcome(_ planned: PlannedJob, fixed: Candidate) -> SearchOutcome {
        say("no search: training the \(planned.fixedDescription) \(Self.name(fixed)) with the whole budget")
        return SearchOutcome(planned: planned, best: fixed, warmStart: nil, trialImageEpochs: options.fixedCandidate?.trialImageEpochs,
                             trials: [], cost: planned.plan.regime.costModel,
                             strategy: "none: the \(planned.fixedDescription) \(Self.name(fixed)) trained with the whole budget")
    }

    /// One unit of the architecture search (ASHA with regularized evolution) on the worker holding
    /// the job's lease: a trial trained as a trial unit (`runTrialUnit`), as any other worker may train
    /// others beside it; or, when none is to be started, a wait of at most a second for those in
    /// flight; or, once none is in flight, the search's end, its outcome kept in the store.
    /// - Throws: `JobCancelled` when `shouldStop` ended it; `SearchError.noTrialFinished` when no
    ///   trial finished and too little time is left to train anyway.
    func trialUnit(shouldStop: @escaping @Sendable () -> Bool) throws {
        let planned = try restoredPlan()
        if !searchAnnounced {
            searchAnnounced = true
            announce(planned)
        }
        switch try runTrialUnit(planned, shouldStop: shouldStop) {
        case .trained: return
        case .wait:
            let until = Date().addingTimeInterval(1)
            while Date() < until, !shouldStop() { Thread.sleep(forTimeInterval: 0.1) }
            if shouldStop() { throw JobCancelled() }
        case let .ended(reason):
            if reason == .cancelled || shouldStop() { throw JobCancelled() }
            let trials = try store.trials(jobID: id)
            let search = makeSearch(planned, trials: trials, best: storedBestTrial(trials))
            do {
                try endSearch(outcome(of: try search.result(reason), search: search, planned: planned))
            } catch SearchError.noTrialFinished
                where !shouldStop() && planned.clock.left > search.estimatedSeconds(planned.space.startingArchitectures()[0], images: planned.data.splits.train.count, epochs: 1) {
                try endSearch(cheapestStartingArchitecture(search, planned: planned))
            }
        }
    }

    /// What a trial unit came to.
    enum TrialUnitOutcome {
        /// A trial was trained and recorded.
        case trained(Search.TrialRecord)
        /// No trial to start now: those in flight on other workers decide what comes next.
        case wait
        /// The search is over, for this reason, and no trial is in flight.
        case ended(SearchStopReason)
    }

    /// Claims a trial unit of the job's search (`JobStore.claimTrialUnit`): one a stopped worker left,
    /// or the next trial, decided under the job's lock from the stored trials and those in flight, with
    /// the search's worker-seconds left (its share, less what the job used and what the trials in
    /// flight are priced at). Trains it under the unit's own lease, renewed meanwhile, and records it
    /// with its energy, its worker and its time charged to the job, in one transaction; the best
    /// trial's network is kept as `best-trial.ckpt` first.
    /// - Returns: `.wait` also when the unit's lease was lost (nothing was written).
    /// - Throws: `StoreError` when the store fails.
    func runTrialUnit(_ planned: PlannedJob, shouldStop: @escaping @Sendable () -> Bool) throws -> TrialUnitOutcome {
        chargedUntil = Date()
        let (claimed, decision) = try claimTrialUnit(planned)
        guard let unit = claimed else {
            if case let .ended(reason) = decision { return .ended(reason) }
            return .wait
        }
        let keeper = LeaseKeeper(store: store, lease: unit.lease, leaseSeconds: leaseSeconds, heartbeatSeconds: heartbeatSeconds)
        keeper.start()
        defer { keeper.stop() }
        let trial = try JSONDecoder().decode(PlannedTrial.self, from: unit.decision)
        let search = makeSearch(planned, trials: try store.trials(jobID: id))
        // A unit claimed again (its worker stopped) may take no more than the search has left now.
        var allowed = trial.allowedSeconds
        if unit.attempt > 1 {
            let used = try store.job(id)?.usedSeconds ?? 0
            allowed = max(0, min(allowed, search.searchSeconds(share: planned.plan.searchSeconds, budget: options.budget.seconds) - used))
        }
        let stop: () -> Bool = { shouldStop() || keeper.isLost }
        let trained: (Search.TrialRecord, Sequential?) = simulatedTrialSeconds.map { (search.simulate(trial, id: unit.trialID, seconds: $0, shouldStop: stop), nil) }
            ?? search.train(trial, id: unit.trialID, deadline: Date().addingTimeInterval(allowed), shouldStop: stop)
        if keeper.isLost { return .wait }
        if trained.0.stopReason == .cancelled {
            try? store.releaseLease(keeper.lease)  // trained again by the next claim
            return .ended(.cancelled)
        }
        guard let record = try recordTrialUnit(trained.0, network: trained.1, planned: planned, lease: keeper.lease) else { return .wait }
        return .trained(record)
    }

    /// Claims a trial unit of the job's search for this worker, deciding a new trial when no stopped
    /// worker left one; returns it (`nil`: none) and the decision made (`.wait` when none was).
    private func claimTrialUnit(_ planned: PlannedJob) throws -> (TrialUnit?, ArchitectureSearch.Decision) {
        var decision = ArchitectureSearch.Decision.wait
        let budget = options.budget.seconds, share = planned.plan.searchSeconds
        let unit = try store.claimTrialUnit(jobID: id, owner: worker ?? Self.inProcessWorker, leaseSeconds: leaseSeconds) { job, trials, units in
            let search = self.makeSearch(planned, trials: trials)
            let now = Date()
            let inFlight = try units.map { try JSONDecoder().decode(PlannedTrial.self, from: $0.decision) }
            // What the trials in flight are priced at, or have run for when longer, is spent.
            let committed = zip(units, inFlight).map { max($1.estimatedSeconds, now.timeIntervalSince($0.claimedAt)) }.reduce(0, +)
            decision = search.decide(remaining: search.searchSeconds(share: share, budget: budget) - job.usedSeconds - committed, inFlight: inFlight)
            guard case let .trial(trial) = decision else { return nil }
            return try JSONEncoder.sorted.encode(trial)
        }
        return (unit, decision)
    }

    /// Records a trained trial under its unit's `lease`: its network as `best-trial.ckpt` when it is the
    /// best so far, then the trial with its energy, worker and time, in the transaction that ends the unit.
    /// - Returns: the trial as recorded, or `nil` when the unit's lease was lost (another worker claimed
    ///   it after this one was cut off past its lease): nothing was written.
    private func recordTrialUnit(_ trained: Search.TrialRecord, network: Sequential?, planned: PlannedJob, lease: JobLease) throws -> Search.TrialRecord? {
        var record = trained
        record.energy = unitEnergy()
        record.worker = worker
        let budget = options.budget.seconds, finished = record
        do {
            try makeSearch(planned, trials: try store.trials(jobID: id))
                .record(record, network: network, onNewBest: checkpointer(planned, store: store.fenced(by: lease)))
            let seconds = takeUnchargedSeconds()
            try store.finishTrialUnit(lease, trial: finished) {
                $0.trialsDone += 1
                if finished.error == nil { $0.bestValidationScore = max($0.bestValidationScore ?? 0, finished.validationScore) }
                if let energy = finished.energy { $0.add(energy) }
                $0.usedSeconds += seconds
                $0.progress = min(1, $0.usedSeconds / budget)
            }
        } catch StoreError.leaseLost {
            return nil
        }
        try folder.appendSearchLog(record)
        onEvent(.trial(record))
        return record
    }

    /// The worker named in a trial unit's lease when no worker runs the job (it runs in-process).
    static let inProcessWorker = "in-process:\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"

    /// Keeps the search's outcome in the store for the final training, and moves the job on to it.
    func endSearch(_ outcome: SearchOutcome) throws {
        try chargeTime()
        var outcome = outcome
        outcome.usedSeconds = record.usedSeconds
        try store.saveValue(jobID: id, key: SearchEnd.key, try JSONEncoder.sorted.encode(outcome.end))
        searched = outcome
        let energy = unitEnergy()
        try update {
            $0.state = .training
            $0.add(energy)
        }
    }

    /// The search as the stored `trials` leave it (a search is made again for each decision: other
    /// workers add trials), with the best trial's network when `best` is its checkpoint.
    func makeSearch(_ planned: PlannedJob, trials: [Search.TrialRecord], best: (trialID: Int, network: Sequential)? = nil) -> ArchitectureSearch {
        ArchitectureSearch(trainer: planned.data.trainer, space: planned.space, settings: planned.settings,
                           initialCost: planned.plan.regime.costModel, previousTrials: trials, previousBest: best)
    }

    /// Tells the log how the search will run, or what an interrupted run of it left.
    private func announce(_ planned: PlannedJob) {
        guard planned.previousTrials.isEmpty else {
            say("resuming after an interruption: \(planned.previousTrials.count) finished trials kept, \(Budget.format(record.usedSeconds)) "
                + "of the budget used" + (planned.planKept ? ", its plan kept" : ""))
            return
        }
        let search = makeSearch(planned, trials: [])
        let settings = planned.settings, floor = planned.space.augmentationFloor
        let rungs = (0..<settings.rungs).map { settings.rung($0, trainImages: planned.data.splits.train.count) }.map { "\($0.images) images × \($0.epochs)" }
        say("searching until \(Budget.format(planned.plan.searchSeconds)) of the \(options.budget) budget "
            + "(rungs: \(rungs.joined(separator: ", ")); proposals under ~\(search.maximumFLOPs.map { String($0 / 1_000_000) } ?? "any") MFLOPs per image"
            + (floor == .none ? "" : "; every candidate trains with at least ±\(floor.cropPadding) px "
                + "translation and p \(floor.erasingProbability) erasing, as the long final training will") + ")")
    }

    /// Checkpoints the best trial so far as it finishes: a resumed job starts from it.
    private func checkpointer(_ planned: PlannedJob, store: any JobStore) -> (Search.TrialRecord, Sequential) throws -> Void {
        let normalization = planned.trainNormalization
        let space = planned.space, labels = planned.data.labels
        return { trial, network in
            let spec = trial.candidate.architecture.architecture(inputShape: space.inputShape, classes: space.classes, name: "trial-\(trial.id)")
            let checkpoint = Checkpoint(
                network: network, architecture: spec, normalization: normalization, labelNames: labels,
                metadata: ["job_id": self.id, "trial": String(trial.id), "candidate": trial.candidate.summary,
                           "validation_accuracy": String(trial.validationScore)])
            try store.writeArtifact(jobID: self.id, name: JobFolder.bestTrialName, try checkpoint.encoded())
        }
    }

    private func outcome(of result: SearchResult, search: ArchitectureSearch, planned: PlannedJob) -> SearchOutcome {
        let ended = switch result.stopReason {
        case .converged: "converged"
        case .finalTrainingFirst: "ended once the starting architectures were scored (the final training needs the rest of the budget: "
            + "it would give the best candidate fewer than \(planned.settings.proposalFinalEpochs ?? 0) epochs)"
        default: "used its share of the budget"
        }
        let past = record.usedSeconds - planned.plan.searchSeconds
        if past > 1 {
            say("the search used \(Budget.format(past)) past its share: the final training of its best "
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
