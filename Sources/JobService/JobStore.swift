import Datasets
import Foundation
import Search

/// The state of an uploaded dataset: `importing → ready`, or `failed`.
public enum DatasetState: String, Codable, Sendable, CaseIterable {
    case importing, ready, failed
}

/// A dataset registered with the service: a manifest whose images live under `root`.
///
/// `manifest` is the service's own copy of the uploaded manifest, rewritten so that every relative
/// image path is absolute under `root` (each row stays on its original line, so line numbers in
/// errors are the user's). `summary` is the import summary once the import has run.
public struct DatasetRecord: Codable, Sendable, Equatable {
    public var id: String
    public var state: DatasetState
    public var name: String?
    /// Absolute folder the manifest's relative paths start from.
    public var root: String
    /// The rewritten manifest the importer and the training jobs read.
    public var manifest: String
    public var multiLabel: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var images: Int?
    public var labels: [String]?
    public var summary: ImportSummary?
    public var failureReason: String?

    enum CodingKeys: String, CodingKey {
        case id, state, name, root, manifest, multiLabel = "multi_label", createdAt = "created_at", updatedAt = "updated_at"
        case images, labels, summary, failureReason = "failure_reason"
    }

    public init(id: String, root: String, manifest: String, multiLabel: Bool, name: String? = nil, now: Date = Date()) {
        self.id = id
        state = .importing
        self.name = name
        self.root = root
        self.manifest = manifest
        self.multiLabel = multiLabel
        createdAt = now
        updatedAt = now
    }

    public static func == (a: DatasetRecord, b: DatasetRecord) -> Bool { a.id == b.id && a.state == b.state && a.updatedAt == b.updatedAt }
}

/// A servable model: written once, when its job succeeded (after `model.ckpt` was renamed into
/// place), so a model row always names a complete checkpoint. Its ID is its job's ID.
public struct ModelRecord: Codable, Sendable, Equatable {
    public var id: String
    public var labels: [String]
    public var width: Int
    public var height: Int
    public var channels: Int
    public var architecture: String
    public var parameters: Int
    public var testAccuracy: Double
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, labels, width, height, channels, architecture, parameters, testAccuracy = "test_accuracy", createdAt = "created_at"
    }

    public init(id: String, labels: [String], width: Int, height: Int, channels: Int, architecture: String, parameters: Int,
                testAccuracy: Double, createdAt: Date = Date()) {
        self.id = id
        self.labels = labels
        self.width = width
        self.height = height
        self.channels = channels
        self.architecture = architecture
        self.parameters = parameters
        self.testAccuracy = testAccuracy
        self.createdAt = createdAt
    }
}

/// Errors of the store, each with a message a user can act on.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// `kind` is "job", "dataset" or "model".
    case notFound(kind: String, id: String)
    /// The change conflicts with the current state (deleting a running job, a dataset in use, …).
    case conflict(String)
    case database(String)
    /// A write about a job by a worker whose lease on it expired (`JobStore.fenced(by:)`).
    case leaseLost(jobID: String)

    public var description: String {
        switch self {
        case let .leaseLost(jobID): "this worker's lease on job '\(jobID)' expired and the job was queued again; it writes nothing more"
        case let .notFound(kind, id): "no \(kind) '\(id)'"
        case let .conflict(message): message
        case let .database(message): "job store: \(message)"
        }
    }
}

/// Where datasets, jobs, trials and models are recorded. The CLI and the server share one store,
/// at the same time: every state change is one transaction.
public protocol JobStore: AnyObject, Sendable {
    // Jobs
    func insertJob(_ record: JobRecord) throws
    func job(_ id: String) throws -> JobRecord?
    /// Newest first.
    func jobs() throws -> [JobRecord]
    /// Reads, changes and writes a job in one transaction; returns the new record.
    @discardableResult func updateJob(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord
    /// A queued job is cancelled at once; a running one is flagged and stops between batches.
    /// Finished jobs are returned unchanged.
    @discardableResult func requestCancel(_ id: String) throws -> JobRecord
    func isCancelRequested(_ id: String) throws -> Bool
    /// Removes a finished job's rows (its folder is the caller's). Throws `.conflict` for an unfinished job.
    func deleteJob(_ id: String) throws

    // Leases: a worker runs a job while it holds the job's lease, renewing it (heartbeats) before it
    // expires; a job whose lease expired (worker killed, paused, partitioned) is queued again.

    /// Inserts `record` already claimed by `owner` (state `importing`, leased), in one transaction:
    /// no other worker can take it between its insertion and its claim (`autovision train`).
    func insertLeasedJob(_ record: JobRecord, owner: String, leaseSeconds: Double) throws -> JobLease
    /// Takes the oldest queued job whose dataset is ready (or that has none) for `owner`, moving it to
    /// `importing` with a new lease (attempt + 1); fails queued jobs whose dataset failed. `nil`
    /// when none is ready.
    func claimNextJob(owner: String, leaseSeconds: Double) throws -> (record: JobRecord, lease: JobLease)?
    /// Extends `lease` by `seconds` from now.
    /// - Throws: `StoreError.leaseLost` when the job's lease is no longer `lease` (it expired and
    ///   the job was queued again or taken by another worker).
    @discardableResult func renewLease(_ lease: JobLease, seconds: Double) throws -> JobLease
    /// Gives up `lease` (the job finished, or its worker stops); a no-op when it was lost.
    func releaseLease(_ lease: JobLease) throws
    /// Jobs in a running state whose lease expired, or that have none: each is changed by `recover`
    /// (queued again to resume, or failed with a reason) in one transaction, its lease cleared.
    /// Returns them as changed.
    func requeueExpiredLeases(_ recover: (inout JobRecord) -> Void) throws -> [JobRecord]
    /// A view of the store through which every write about `lease.jobID` (its record, plan, trials,
    /// completion) is made only while the job's lease is still `lease`, checked in the write's own
    /// transaction: a worker that lost its lease writes nothing (`StoreError.leaseLost`).
    func fenced(by lease: JobLease) -> any JobStore
    /// Records the job's success and its model in one transaction.
    func completeJob(_ record: JobRecord, model: ModelRecord) throws

    /// Keeps the job's plan (`JobPlan`), made before its first trial; replaces an earlier one.
    func savePlan(jobID: String, _ plan: JobPlan) throws
    /// The job's plan, or `nil` before it was made.
    /// - Throws: `StoreError.database` for a stored plan that does not decode.
    func plan(jobID: String) throws -> JobPlan?

    // Trials
    func addTrial(jobID: String, _ trial: TrialRecord) throws
    func trials(jobID: String) throws -> [TrialRecord]

    // Models
    func model(_ id: String) throws -> ModelRecord?
    func models() throws -> [ModelRecord]

    // Datasets
    func insertDataset(_ record: DatasetRecord) throws
    func dataset(_ id: String) throws -> DatasetRecord?
    func datasets() throws -> [DatasetRecord]
    @discardableResult func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord
    /// Throws `.conflict` while an unfinished job uses it.
    func deleteDataset(_ id: String) throws
}

/// A worker's claim on a job: held by `owner` until `expiresAt` unless renewed. `attempt` counts
/// the job's claims; with `owner` it fences the worker's writes (`JobStore.fenced(by:)`).
public struct JobLease: Sendable, Equatable {
    public var jobID: String
    /// The worker: `HOST:PID:RANDOM` (`JobLease.newOwner()`).
    public var owner: String
    public var attempt: Int
    public var expiresAt: Date

    public init(jobID: String, owner: String, attempt: Int, expiresAt: Date) {
        self.jobID = jobID
        self.owner = owner
        self.attempt = attempt
        self.expiresAt = expiresAt
    }

    /// A new worker identity, unique across processes and machines.
    public static func newOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A new, sortable, unique ID with a prefix: `ds-YYYYMMDD-HHMMSS-xxxxxx`.
public func newResourceID(prefix: String, now: Date = Date()) -> String { "\(prefix)-\(JobRecord.newID(now: now))" }
