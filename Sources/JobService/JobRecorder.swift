import Evaluation
import Foundation
import NN
import Search

/// Records a `TrainingJob` in the job store as it runs, from the outside: the job keeps writing
/// its folder (`job.json`, `search.jsonl`, …); the recorder mirrors its record into the store on
/// every event, adds each trial, polls the store's cancellation flag, and at the end records the
/// outcome — for a success, the job's state and its servable model in one transaction, after
/// `model.ckpt` and the report were renamed into place.
///
/// Usage: create it, pass `record(_:)` into the job's event handler, `attach(_:)` the job, run it
/// with `shouldStop` including `cancelRequested`, then `finish()`.
public final class JobRecorder: @unchecked Sendable {
    public let store: any JobStore
    private let lock = NSLock()
    private var job: TrainingJob?
    private var lastCancelCheck = Date.distantPast
    private var cancelled = false

    public init(store: any JobStore) {
        self.store = store
    }

    /// Registers the job in the store (or takes over the record the service queued) as run by this process.
    public func attach(_ job: TrainingJob) throws {
        lock.lock()
        self.job = job
        lock.unlock()
        if try store.job(job.id) == nil {
            try store.insertJob(job.record)
        } else {
            try sync(job)
        }
        try store.setRunner(jobID: job.id, pid: getpid())
    }

    /// Call from the job's event handler (on the job's thread).
    public func record(_ event: JobEvent) {
        lock.lock()
        let job = self.job
        lock.unlock()
        guard let job else { return }
        if case let .trial(trial) = event { try? store.addTrial(jobID: job.id, trial) }
        try? sync(job)
    }

    /// `true` once someone asked the store to cancel the job (polled at most once a second).
    public var cancelRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let job, !cancelled else { return cancelled }
        if Date().timeIntervalSince(lastCancelCheck) >= 1 {
            lastCancelCheck = Date()
            cancelled = (try? store.isCancelRequested(job.id)) ?? false
        }
        return cancelled
    }

    /// Records the job's final state; for a success, with its model in the same transaction.
    public func finish() {
        lock.lock()
        let job = self.job
        lock.unlock()
        guard let job else { return }
        guard job.record.state == .succeeded, let model = try? Self.modelRecord(for: job.folder, record: job.record) else {
            try? sync(job)
            return
        }
        var record = job.record
        if let stored = try? store.job(job.id) {
            record.datasetID = stored.datasetID
            record.createdAt = stored.createdAt
        }
        do {
            try store.completeJob(record, model: model)
        } catch {
            try? sync(job)
        }
    }

    /// The store's record follows the job's, keeping what only the store knows (its dataset, its creation time).
    private func sync(_ job: TrainingJob) throws {
        let current = job.record
        try store.updateJob(job.id) { stored in
            let datasetID = stored.datasetID, createdAt = stored.createdAt, state = stored.state
            stored = current
            if current.state == .queued { stored.state = state }  // never back to the queue (claimed)
            stored.datasetID = datasetID ?? current.datasetID
            stored.createdAt = createdAt
        }
    }

    /// The model row of a finished job, from its checkpoint and report.
    public static func modelRecord(for folder: JobFolder, record: JobRecord) throws -> ModelRecord {
        let predictor = try Predictor(folder: folder)
        let report = try EvaluationReport.decode(from: Data(contentsOf: folder.reportURL))
        let resolution = predictor.resolution
        return ModelRecord(
            id: folder.id, labels: predictor.labels, width: resolution.width, height: resolution.height, channels: resolution.channels,
            architecture: report.model?.architecture ?? "", parameters: report.model?.parameters ?? predictor.classifier.network.parameterCount,
            testAccuracy: record.testAccuracy ?? report.test.accuracy)
    }
}
