import Foundation
import Search

/// A `JobStore` in memory, for tests and for embedding a job where nothing must be kept: the same
/// contract as `SQLiteJobStore` (the store contract suite runs against both), with one lock
/// serialising every change, as a transaction would.
public final class InMemoryJobStore: JobStore, @unchecked Sendable {
    private let lock = NSLock()
    private var jobsByID: [String: JobRecord] = [:]
    private var cancelRequested: Set<String> = []
    private var runners: [String: Int32] = [:]
    private var trialsByJob: [String: [Int: TrialRecord]] = [:]
    private var plansByJob: [String: JobPlan] = [:]
    private var modelsByID: [String: ModelRecord] = [:]
    private var datasetsByID: [String: DatasetRecord] = [:]

    /// Called with a write's name (`"addTrial"`, `"updateJob"`, …) before it is made; an error
    /// returned fails that write, as a database that went away would. For tests of what a job does
    /// when the store does not take a state.
    public var faultInjection: (@Sendable (String) -> StoreError?)? {
        get { locked { fault } }
        set { locked { fault = newValue } }
    }
    private var fault: (@Sendable (String) -> StoreError?)?

    public init() {}

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// `locked`, for a write named `operation` that `faultInjection` may fail.
    private func writing<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        try locked {
            if let error = fault?(operation) { throw error }
            return try body()
        }
    }

    // MARK: Jobs

    public func insertJob(_ record: JobRecord) throws {
        try writing("insertJob") {
            guard jobsByID[record.id] == nil else { throw StoreError.conflict("job '\(record.id)' exists") }
            jobsByID[record.id] = record
        }
    }

    public func job(_ id: String) throws -> JobRecord? { locked { jobsByID[id] } }

    public func jobs() throws -> [JobRecord] {
        locked { jobsByID.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    @discardableResult
    public func updateJob(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord {
        try writing("updateJob") {
            guard var record = jobsByID[id] else { throw StoreError.notFound(kind: "job", id: id) }
            try change(&record)
            record.updatedAt = Date()
            jobsByID[id] = record
            return record
        }
    }

    @discardableResult
    public func requestCancel(_ id: String) throws -> JobRecord {
        try writing("requestCancel") {
            guard var record = jobsByID[id] else { throw StoreError.notFound(kind: "job", id: id) }
            if record.state == .queued {
                record.state = .cancelled
                record.stopReason = "cancelled before it started"
                record.updatedAt = Date()
                jobsByID[id] = record
            } else if !record.state.isFinished {
                cancelRequested.insert(id)
            }
            return record
        }
    }

    public func isCancelRequested(_ id: String) throws -> Bool { locked { cancelRequested.contains(id) } }

    public func setRunner(jobID: String, pid: Int32) throws { try writing("setRunner") { runners[jobID] = pid } }

    public func deleteJob(_ id: String) throws {
        try writing("deleteJob") {
            guard let record = jobsByID[id] else { throw StoreError.notFound(kind: "job", id: id) }
            guard record.state.isFinished else {
                throw StoreError.conflict("job '\(id)' is \(record.state.rawValue): cancel it first (POST /v1/jobs/\(id)/cancel or autovision jobs cancel \(id))")
            }
            jobsByID[id] = nil
            trialsByJob[id] = nil
            plansByJob[id] = nil
            modelsByID[id] = nil
            cancelRequested.remove(id)
            runners[id] = nil
        }
    }

    public func claimNextJob(pid: Int32) throws -> JobRecord? {
        try writing("claimNextJob") {
            let queued = jobsByID.values.filter { $0.state == .queued }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            for var record in queued {
                let dataset = record.datasetID.flatMap { datasetsByID[$0] }
                if dataset?.state == .importing { continue }  // waits in `queued`
                if let dataset, dataset.state == .failed {
                    record.state = .failed
                    record.failureReason = "dataset import failed: \(dataset.failureReason ?? "see GET /v1/datasets/\(dataset.id)")"
                } else {
                    record.state = .importing
                }
                record.updatedAt = Date()
                jobsByID[record.id] = record
                if record.state == .importing {
                    runners[record.id] = pid
                    return record
                }
            }
            return nil
        }
    }

    public func recoverOrphanedJobs(_ recover: (inout JobRecord) -> Void) throws -> [JobRecord] {
        try writing("recoverOrphanedJobs") {
            var recovered: [JobRecord] = []
            for var record in jobsByID.values.sorted(by: { $0.id < $1.id }) where record.state != .queued && !record.state.isFinished {
                if let pid = runners[record.id], pid == getpid() || processIsAlive(pid) { continue }
                recover(&record)
                record.updatedAt = Date()
                jobsByID[record.id] = record
                runners[record.id] = nil
                recovered.append(record)
            }
            return recovered
        }
    }

    public func completeJob(_ record: JobRecord, model: ModelRecord) throws {
        try writing("completeJob") {
            guard jobsByID[record.id] != nil else { throw StoreError.notFound(kind: "job", id: record.id) }
            var record = record
            record.updatedAt = Date()
            jobsByID[record.id] = record
            modelsByID[model.id] = model
        }
    }

    // MARK: Plans

    public func savePlan(jobID: String, _ plan: JobPlan) throws {
        try writing("savePlan") {
            guard jobsByID[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
            plansByJob[jobID] = plan
        }
    }

    public func plan(jobID: String) throws -> JobPlan? { locked { plansByJob[jobID] } }

    // MARK: Trials

    public func addTrial(jobID: String, _ trial: TrialRecord) throws {
        try writing("addTrial") {
            guard jobsByID[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
            trialsByJob[jobID, default: [:]][trial.id] = trial
        }
    }

    public func trials(jobID: String) throws -> [TrialRecord] {
        locked { (trialsByJob[jobID] ?? [:]).values.sorted { $0.id < $1.id } }
    }

    // MARK: Models

    public func model(_ id: String) throws -> ModelRecord? { locked { modelsByID[id] } }

    public func models() throws -> [ModelRecord] {
        locked { modelsByID.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    // MARK: Datasets

    public func insertDataset(_ record: DatasetRecord) throws {
        try writing("insertDataset") {
            guard datasetsByID[record.id] == nil else { throw StoreError.conflict("dataset '\(record.id)' exists") }
            datasetsByID[record.id] = record
        }
    }

    public func dataset(_ id: String) throws -> DatasetRecord? { locked { datasetsByID[id] } }

    public func datasets() throws -> [DatasetRecord] {
        locked { datasetsByID.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    @discardableResult
    public func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try writing("updateDataset") {
            guard var record = datasetsByID[id] else { throw StoreError.notFound(kind: "dataset", id: id) }
            try change(&record)
            record.updatedAt = Date()
            datasetsByID[id] = record
            return record
        }
    }

    public func deleteDataset(_ id: String) throws {
        try writing("deleteDataset") {
            guard datasetsByID[id] != nil else { throw StoreError.notFound(kind: "dataset", id: id) }
            let users = jobsByID.values.filter { $0.datasetID == id && !$0.state.isFinished }.sorted { $0.createdAt < $1.createdAt }.map(\.id)
            if !users.isEmpty {
                throw StoreError.conflict("dataset '\(id)' is used by unfinished job(s) \(users.joined(separator: ", ")): cancel them or wait until they finish")
            }
            datasetsByID[id] = nil
            for (jobID, record) in jobsByID where record.datasetID == id { jobsByID[jobID]?.datasetID = nil }  // as ON DELETE SET NULL
        }
    }
}
