import Foundation
import NN
import Search

extension TrainingJob {
    /// The planned job: as the previous unit left it in this object, or rebuilt from the store
    /// (the decoded images the import kept, the stored plan, the trials so far, the budget used).
    func restoredPlan() throws -> PlannedJob {
        if let planned { return planned }
        let planned = try plan(try restoredImport(), rebuilding: true)
        self.planned = planned
        return planned
    }

    /// The search's outcome: as the search's last unit left it, or rebuilt from the store (its
    /// `SearchEnd`, and the best trial's checkpoint to start the final training from).
    /// - Throws: `JobError.failed` when the store has no end of the search.
    func restoredSearch() throws -> SearchOutcome {
        if let searched { return searched }
        let planned = try restoredPlan()
        guard let data = try store.value(jobID: id, key: SearchEnd.key) else {
            throw JobError.failed("job \(id) is \(record.state.rawValue) but the store has no end of its search; the job cannot resume")
        }
        let end = try JSONDecoder().decode(SearchEnd.self, from: data)
        let warmStart = storedBestTrial(planned.previousTrials).flatMap { $0.trialID == end.bestTrialID ? $0.network : nil }
        let searched = SearchOutcome(planned: planned, best: end.best, warmStart: warmStart, trialImageEpochs: end.trialImageEpochs,
                                     trials: planned.previousTrials, cost: end.cost, strategy: end.strategy, bestTrialID: end.bestTrialID,
                                     usedSeconds: end.usedSeconds)
        self.searched = searched
        return searched
    }

    /// The final model: as the final training's unit left it, or rebuilt from the store (`final.ckpt`
    /// and its `FinalTrainingEnd`).
    /// - Throws: `JobError.failed` when the store has neither; `NNError` for a checkpoint that does not load.
    func restoredModel() throws -> FinalModel {
        if let finalModel { return finalModel }
        let searched = try restoredSearch()
        guard let value = try store.value(jobID: id, key: FinalTrainingEnd.key),
              let bytes = try store.readArtifact(jobID: id, name: JobFolder.finalTrainingName) else {
            throw JobError.failed("job \(id) is \(record.state.rawValue) but the store has no final training's network; the job cannot resume")
        }
        let end = try JSONDecoder().decode(FinalTrainingEnd.self, from: value)
        let checkpoint = try Checkpoint.decode(bytes, path: "\(JobFolder.finalTrainingName) of job \(id)")
        guard let normalization = checkpoint.normalization else {
            throw JobError.failed("\(JobFolder.finalTrainingName) of job \(id) has no normalization; the job cannot resume")
        }
        let model = FinalModel(searched: searched, candidate: searched.best, network: try checkpoint.makeNetwork(),
                               architecture: checkpoint.architecture, normalization: normalization, end: end)
        finalModel = model
        return model
    }

    /// The best trial's network the store keeps, when it is one of `trials` with the candidate it
    /// says (a worker that lost its lease cannot have written it, but an older run may have).
    func storedBestTrial(_ trials: [Search.TrialRecord]) -> (trialID: Int, network: Sequential)? {
        guard !trials.isEmpty, let bytes = try? store.readArtifact(jobID: id, name: JobFolder.bestTrialName),
              let checkpoint = try? Checkpoint.decode(bytes, path: JobFolder.bestTrialName),
              let trialID = checkpoint.metadata["trial"].flatMap(Int.init),
              trials.first(where: { $0.id == trialID })?.candidate.summary == checkpoint.metadata["candidate"],
              let network = try? checkpoint.makeNetwork() else { return nil }
        return (trialID, network)
    }
}
