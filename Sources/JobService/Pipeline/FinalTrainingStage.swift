import Foundation
import NN
import Search
import Training

/// The final training stage's value: the final model's network and architecture, and how its
/// training went.
struct FinalModel {
    var searched: SearchOutcome
    /// The candidate trained (its augmentation may differ from the search's).
    var candidate: Candidate
    /// The network served: the first member alone, or the average of the ensemble's members kept.
    var network: Sequential
    /// `network`'s architecture.
    var architecture: ArchitectureSpec
    /// TRAIN's per-channel normalization, which the network's input is standardised by.
    var normalization: ChannelNormalization
    var end: FinalTrainingEnd

    var data: ImportedData { searched.planned.data }
}

/// How the final training went, kept in the store for the evaluation (`JobStore.saveValue`, key
/// `final_training`) with the network (artifact `final.ckpt`).
struct FinalTrainingEnd: Codable {
    static let key = "final_training"
    /// Why the final training's own network (the ensemble's first member) stopped.
    var stopReason: StopReason
    /// Its best VALIDATION accuracy.
    var bestValidationScore: Double
    /// Networks averaged by the model.
    var members: Int
    /// Epochs the final training planned at its end.
    var epochs: Int
    /// Worker-seconds of the budget used when it ended (`nil` in stores written before it was kept).
    var usedSeconds: Double? = nil
}

extension TrainingJob {
    /// The final training's unit: trains the model and keeps it in the store (`final.ckpt` and its
    /// `FinalTrainingEnd`), then moves the job on to its evaluation.
    func finalTrainingUnit(shouldStop: @escaping @Sendable () -> Bool) throws {
        var model = try trainFinalModel(try restoredSearch(), shouldStop: shouldStop)
        try chargeTime()
        model.end.usedSeconds = record.usedSeconds
        let checkpoint = Checkpoint(network: model.network, architecture: model.architecture, normalization: model.normalization,
                                    labelNames: model.data.labels, metadata: ["job_id": id, "candidate": model.candidate.summary])
        try writeArtifact(try checkpoint.encoded(), name: JobFolder.finalTrainingName)
        try store.saveValue(jobID: id, key: FinalTrainingEnd.key, try JSONEncoder.sorted.encode(model.end))
        finalModel = model
        let energy = unitEnergy()
        try update {
            $0.state = .evaluating
            $0.add(energy)
        }
    }

    /// Trains the search's best candidate with the time left, and more ensemble members when it
    /// ends early (`FinalEnsemble`).
    /// - Throws: `JobCancelled` when `shouldStop` ended it; `NNError` / `TrainingError` from the training.
    func trainFinalModel(_ searched: SearchOutcome, shouldStop: @escaping @Sendable () -> Bool) throws -> FinalModel {
        try update { $0.state = .training }
        let planned = searched.planned, data = planned.data, clock = planned.clock
        let spec = searched.best.architecture.architecture(inputShape: planned.space.inputShape, classes: planned.space.classes, name: "final")
        let budget = FinalTrainingBudget(cost: searched.cost, forwardFLOPs: Double(try spec.forwardFLOPsPerImage()),
                                         bestTrial: searched.trials.first { $0.id == searched.bestTrialID }, candidate: searched.best,
                                         statistics: data.statistics, secondsLeft: clock.left, testTimeAugmentation: options.testTimeAugmentation)
        let plan = FinalTrainingPlan(candidate: searched.best, trialImageEpochs: searched.trialImageEpochs, trainImages: data.splits.train.count,
                                     epochs: budget.epochs, seed: options.seed)
        var config = plan.config
        // Without early stopping no plateau is ever long enough: patience beyond the planned epochs.
        config.patience = options.earlyStopping ? max(3, budget.epochs / 4) : budget.epochs + 1
        let warmStart = plan.warmStart ? searched.warmStart : nil
        for note in plan.notes { say(note) }
        say("training the final model for up to \(budget.epochs) epochs (~\(Budget.format(budget.epochSeconds)) each, "
            + (budget.measured ? "as the best trial ran" : "as the cost model prices it") + ")"
            + (warmStart != nil ? ", starting from the best trial's weights" : ""))
        let deadline = clock.end.addingTimeInterval(-budget.evaluationSeconds)
        var (first, epochs) = try trainFirstMember(spec, config: config, deadline: deadline, warmStart: warmStart, data: data, shouldStop: shouldStop)
        // A final model no better than the baseline is never kept over a trial that beat it (issue 19):
        // the time left continues the best trial's network instead.
        if first.stopReason == .noBetterThanBaseline, warmStart == nil, let trial = searched.warmStart,
           data.trainer.score(trial, normalization: first.normalization, indices: data.splits.validation) > data.statistics.validationBaselineScore {
            say("continuing from the best trial's weights, which beat the baseline on VALIDATION, for the time left")
            (first, epochs) = try trainFirstMember(spec, config: config, deadline: deadline, warmStart: trial, data: data, shouldStop: shouldStop)
        }
        config.epochs = epochs
        var ensemble = FinalEnsemble(first: first)
        try trainMoreMembers(&ensemble, spec: spec, config: config, evaluationSeconds: budget.evaluationSeconds, planned: planned,
                             shouldStop: shouldStop)
        let kept = ensemble.kept { data.trainer.score($0, normalization: first.normalization, indices: data.splits.validation) }
        if ensemble.members.count > 1 {
            say("keeping \(kept.count) of the \(ensemble.members.count) networks trained: their average scores \(percent(kept.validationScore)) "
                + "on VALIDATION (the final training's network alone: \(percent(first.bestValidationScore)))")
        }
        explainTimeLeft(ensemble, epochs: epochs, evaluationSeconds: budget.evaluationSeconds, clock: clock)
        return FinalModel(searched: searched, candidate: plan.candidate, network: ensemble.network(members: kept.count),
                          architecture: try FinalEnsemble.architecture(spec, members: kept.count), normalization: first.normalization,
                          end: FinalTrainingEnd(stopReason: first.stopReason, bestValidationScore: first.bestValidationScore,
                                                members: kept.count, epochs: epochs))
    }

    /// The final training's own network; returns it with the epochs planned at its end.
    private func trainFirstMember(_ spec: ArchitectureSpec, config: TrainingConfig, deadline: Date, warmStart: Sequential?,
                                  data: ImportedData, shouldStop: () -> Bool) throws -> (TrainingOutcome, epochs: Int) {
        var planned = config.epochs
        let outcome = try data.trainer.train(spec, config: config, deadline: deadline, shouldStop: shouldStop, onEpoch: recordEpoch, replan: { epoch in
            // The cost model is an estimate: once epochs are measured, fill the time that is left.
            let perEpoch = epoch.seconds / Double(epoch.epoch)
            let fits = min(FinalTrainingPlan.maximumEpochs, epoch.epoch + Int(0.97 * deadline.timeIntervalSinceNow / perEpoch))
            guard fits > planned else { return nil }
            planned = fits
            self.say("epochs take ~\(Budget.format(perEpoch)): planning \(planned) epochs")
            return planned
        }, initialNetwork: warmStart, onCoolDown: { epoch, epochs, plateau in
            self.say("after epoch \(epoch): " + (plateau ? "the validation \(data.trainer.metric.name) has plateaued" : "the budget is nearly used")
                + "; annealing the learning rate over \(epochs) more epoch\(epochs == 1 ? "" : "s")")
        }, baseline: data.statistics.validationBaselineScore)
        if outcome.stopReason == .cancelled { throw JobCancelled() }
        if outcome.stopReason == .noBetterThanBaseline {
            say("stopped the final training after \(outcome.history.count) epochs: VALIDATION \(data.trainer.metric.name) "
                + "\(percent(outcome.bestValidationScore)) is no better than \(data.baselineDescription) (\(percent(data.statistics.validationBaselineScore)))")
        }
        return (outcome, planned)
    }

    /// Charges an epoch's time and passes it on.
    private func recordEpoch(_ epoch: EpochRecord) throws {
        try update { $0.bestValidationScore = max($0.bestValidationScore ?? 0, epoch.validationScore) }
        try chargeTime()
        onEvent(.epoch(epoch))
    }

    /// Time the final training left trains more members of the final model, each from other random
    /// weights, while another fits before its share of the evaluation's reserve.
    private func trainMoreMembers(_ ensemble: inout FinalEnsemble, spec: ArchitectureSpec, config: TrainingConfig, evaluationSeconds: Double,
                                  planned: PlannedJob, shouldStop: () -> Bool) throws {
        guard Self.endedByItself(ensemble.members[0]) else { return }
        while ensemble.members.count < options.maximumEnsembleMembers, !shouldStop() {
            let count = ensemble.members.count
            // Each member adds its share of the evaluation's inference work.
            let memberEnd = planned.clock.end.addingTimeInterval(-Double(count + 1) * evaluationSeconds)
            guard ensemble.fitsAnother(in: memberEnd.timeIntervalSinceNow) else { return }
            var memberConfig = config
            memberConfig.seed = FinalEnsemble.seed(member: count, jobSeed: options.seed)
            say("\(Budget.format(memberEnd.timeIntervalSinceNow)) left after the final training: training ensemble member \(count + 1) "
                + "(the same architecture from other random weights) for up to \(config.epochs) epochs")
            let member = try planned.data.trainer.train(spec, config: memberConfig, deadline: memberEnd, shouldStop: shouldStop, onEpoch: recordEpoch,
                                                        baseline: planned.data.statistics.validationBaselineScore)
            if member.stopReason == .cancelled { throw JobCancelled() }
            ensemble.append(member)
        }
    }

    /// Whether a training ended by itself (converged or ran its epochs), not at the deadline.
    private static func endedByItself(_ outcome: TrainingOutcome) -> Bool {
        outcome.stopReason == .converged || outcome.stopReason == .completed
    }

    /// Says why the final training left a large part of the budget unused (it is not charged).
    private func explainTimeLeft(_ ensemble: FinalEnsemble, epochs: Int, evaluationSeconds: Double, clock: BudgetClock) {
        let first = ensemble.members[0], count = ensemble.members.count
        let left = clock.left - Double(count) * evaluationSeconds
        guard left > 0.2 * options.budget.seconds, Self.endedByItself(first) else { return }
        let why = count >= options.maximumEnsembleMembers ? "the final model has its most networks (\(options.maximumEnsembleMembers))"
            : count > 1 ? "another ensemble member would not fit"
            : first.stopReason == .converged ? "VALIDATION accuracy stopped improving"
            : "it reached \(epochs >= FinalTrainingPlan.maximumEpochs ? "its ceiling of" : "the planned") \(epochs) epochs"
        say("the final training ended with \(Budget.format(left)) of the budget left: \(why); the time left is not charged")
    }
}
