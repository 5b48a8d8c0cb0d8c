import Energy
import Evaluation
import Foundation
import Search

extension TrainingJob {
    /// Writes the report (`report.json`, `report.html`) and records the job's success and its model
    /// in the store in one transaction, with a warning when the model is no better than the
    /// majority-class baseline.
    /// The report's energy is the job's: what every unit before this one recorded in the store,
    /// whichever worker ran it, plus this unit's; each trial's is the one the store keeps with it.
    /// - Throws: `JobError.io` when a report file cannot be written; `StoreError`.
    func publish(_ evaluated: EvaluatedModel) throws -> EvaluationReport {
        let model = evaluated.model, data = model.data
        let stopReason = Self.stopReason(model)
        var finished = try store.job(id) ?? record
        let used = finished.usedSeconds + takeUnchargedSeconds()
        finished.add(unitEnergy())
        let trialEnergy = Dictionary(try store.trials(jobID: id).compactMap { trial in trial.energy.map { (trial.id, $0) } }) { first, _ in first }
        let report = EvaluationReport(
            test: evaluated.test, multiLabelTest: evaluated.multiLabelTest, jobID: id,
            dataset: DatasetSummary(manifest: options.manifest.path, partitions: data.summary.partitions,
                                    notes: data.splits.notes + data.summary.warnings),
            search: SearchLog(strategy: model.searched.strategy, trials: model.searched.trials.map { Self.reportTrial($0, energy: trialEnergy[$0.id]) },
                              pickedTrial: model.searched.bestTrialID),
            budget: try budgetSummary(model, used: used, stopReason: stopReason),
            machine: MachineInfo.current(),
            model: ModelSummary(architecture: model.candidate.summary + (model.end.members > 1 ? " (ensemble of \(model.end.members))" : ""),
                                parameters: try model.architecture.parameterCount(), flops: try model.architecture.forwardFLOPsPerImage(),
                                testTimeAugmentation: evaluated.testTimeAugmentation.rawValue, validationScore: evaluated.validationScore,
                                validationBaselineScore: data.statistics.validationBaselineScore,
                                precision: model.network.precision.rawValue),
            energy: finished.energy)
        for warning in report.warnings { say("warning: \(warning)") }
        // In the store for the server on any machine; also in the job's folder here (the same files with SQLite).
        let json = try report.jsonData(), html = Data(report.html().utf8)
        try folder.writeAtomically(json, to: folder.reportURL)
        try folder.writeAtomically(html, to: folder.reportHTMLURL)
        try store.writeArtifact(jobID: id, name: folder.reportURL.lastPathComponent, json)
        try store.writeArtifact(jobID: id, name: folder.reportHTMLURL.lastPathComponent, html)
        if let scores = evaluated.testScores { try store.writeArtifact(jobID: id, name: JobFolder.testScoresName, try scores.jsonData()) }
        finished.state = .succeeded
        finished.usedSeconds = used
        finished.progress = 1
        finished.testAccuracy = evaluated.testAccuracy
        finished.stopReason = stopReason
        finished.bestValidationScore = model.end.bestValidationScore
        finished.warning = report.warnings.isEmpty ? nil : report.warnings.joined(separator: "; ")
        try store.completeJob(finished, model: try modelRecord(evaluated, architecture: report.model?.architecture ?? ""))
        try update { _ in }  // the store's record, with its update time, exported to `job.json`
        return report
    }

    /// The budget's use: `used` worker-seconds in all, by phase as the search's and the final
    /// training's ends recorded it, and the wall clock since the budget's clock started.
    private func budgetSummary(_ model: FinalModel, used: Double, stopReason: String) throws -> BudgetSummary {
        var budget = BudgetSummary(requestedSeconds: options.budget.seconds, usedSeconds: used, stopReason: stopReason,
                                   importSeconds: model.data.summary.importSeconds)
        if let search = model.searched.usedSeconds, let final = model.end.usedSeconds {
            budget.searchSeconds = search
            budget.finalTrainingSeconds = final - search
            budget.evaluationSeconds = used - final
        }
        if let value = try store.value(jobID: id, key: Self.budgetClockKey), let started = Double(String(decoding: value, as: UTF8.self)) {
            budget.wallClockSeconds = Date().timeIntervalSince1970 - started
        }
        return budget
    }

    /// The servable model's row, from the model in hand.
    private func modelRecord(_ evaluated: EvaluatedModel, architecture: String) throws -> ModelRecord {
        let resolution = evaluated.model.data.dataset.resolution
        return ModelRecord(id: id, labels: evaluated.model.data.labels, width: resolution.width, height: resolution.height,
                           channels: resolution.channels, architecture: architecture,
                           parameters: try evaluated.model.architecture.parameterCount(), testAccuracy: evaluated.testAccuracy)
    }

    /// Why the final training stopped, for the report and the job's record.
    private static func stopReason(_ model: FinalModel) -> String {
        switch model.end.stopReason {
        case .deadline: "budget reached"
        case .converged: "converged"
        case .noBetterThanBaseline: "no better than the baseline"
        default: model.end.epochs >= FinalTrainingPlan.maximumEpochs ? "reached the ceiling of \(model.end.epochs) epochs" : "completed the planned epochs"
        }
    }

    private static func reportTrial(_ trial: TrialRecord, energy: EnergyUse?) -> TrialSummary {
        TrialSummary(id: trial.id, architecture: trial.architecture, parameters: trial.parameters, flops: trial.flops,
                               epochs: trial.epochs, validationScore: trial.error == nil ? trial.validationScore : nil,
                               seconds: trial.seconds, energy: energy ?? trial.energy, worker: trial.worker)
    }
}
