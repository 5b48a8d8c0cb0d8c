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
    /// 1 for an uploaded dataset; a dataset made from another (`parentDatasetID`, by labelling some of
    /// its unlabeled images) is its parent's version + 1. Datasets never change, so a job's
    /// `dataset_id` names the version it trained on.
    public var version: Int
    /// The dataset this one was made from, `nil` for an upload.
    public var parentDatasetID: String?
    /// While the import runs: distinct image files read and decoded so far, of those the manifest names
    /// (a missing or broken one counted too; written at most once a
    /// second); the last value stays once the import ended.
    public var importProgress: ImportProgress?

    enum CodingKeys: String, CodingKey {
        case id, state, name, root, manifest, multiLabel = "multi_label", createdAt = "created_at", updatedAt = "updated_at"
        case images, labels, summary, failureReason = "failure_reason"
        case version, parentDatasetID = "parent_dataset_id", importProgress = "import_progress"
    }

    public init(id: String, root: String, manifest: String, multiLabel: Bool, name: String? = nil, version: Int = 1,
                parentDatasetID: String? = nil, now: Date = Date()) {
        self.id = id
        state = .importing
        self.name = name
        self.root = root
        self.manifest = manifest
        self.multiLabel = multiLabel
        createdAt = now
        updatedAt = now
        self.version = version
        self.parentDatasetID = parentDatasetID
    }

    /// Decodes a stored record; one written before versions existed is version 1 without a parent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        state = try container.decode(DatasetState.self, forKey: .state)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        root = try container.decode(String.self, forKey: .root)
        manifest = try container.decode(String.self, forKey: .manifest)
        multiLabel = try container.decode(Bool.self, forKey: .multiLabel)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        images = try container.decodeIfPresent(Int.self, forKey: .images)
        labels = try container.decodeIfPresent([String].self, forKey: .labels)
        summary = try container.decodeIfPresent(ImportSummary.self, forKey: .summary)
        failureReason = try container.decodeIfPresent(String.self, forKey: .failureReason)
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        parentDatasetID = try container.decodeIfPresent(String.self, forKey: .parentDatasetID)
        importProgress = try container.decodeIfPresent(ImportProgress.self, forKey: .importProgress)
    }

    public static func == (a: DatasetRecord, b: DatasetRecord) -> Bool { a.id == b.id && a.state == b.state && a.updatedAt == b.updatedAt }
}

/// How far a dataset's import has come: `imagesDone` of `imagesTotal` distinct images decoded.
public struct ImportProgress: Codable, Sendable, Equatable {
    public var imagesDone: Int
    public var imagesTotal: Int

    enum CodingKeys: String, CodingKey { case imagesDone = "images_done", imagesTotal = "images_total" }

    public init(imagesDone: Int, imagesTotal: Int) {
        self.imagesDone = imagesDone
        self.imagesTotal = imagesTotal
    }
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
    /// Takes the oldest claimable job for `owner` with a new lease (attempt + 1): a queued job whose
    /// dataset is ready (or that has none), moved to `importing`, or a job between units (in a running
    /// state, its lease released or lost), in its state. Fails queued jobs whose dataset failed.
    /// `nil` when none is claimable.
    func claimNextJob(owner: String, leaseSeconds: Double) throws -> (record: JobRecord, lease: JobLease)?
    /// Extends `lease` by `seconds` from now.
    /// - Throws: `StoreError.leaseLost` when the job's lease is no longer `lease` (it expired and
    ///   the job was queued again or taken by another worker).
    @discardableResult func renewLease(_ lease: JobLease, seconds: Double) throws -> JobLease
    /// The lease for the job's next unit, kept by the same worker: attempt + 1, so no write of the
    /// unit that ended can land in the next one.
    /// - Throws: `StoreError.leaseLost` when the job's lease is no longer `lease`.
    func advanceLease(_ lease: JobLease, seconds: Double) throws -> JobLease
    /// Gives up `lease` (the job finished, or its worker stops); a no-op when it was lost. The job,
    /// unless finished, can be claimed again for its next unit.
    func releaseLease(_ lease: JobLease) throws
    /// Jobs in a running state whose lease expired (their unit was lost: worker killed, paused,
    /// partitioned): each gets the lost unit's time charged (`JobUnitLoss.charge`), is changed by
    /// `recover` with how many times in a row this unit was lost (1 the first time), or cancelled
    /// when a cancel was asked, and has its lease cleared, in one transaction. Returns them as changed.
    func requeueExpiredLeases(_ recover: (inout JobRecord, _ losses: Int) -> Void) throws -> [JobRecord]
    /// A view of the store through which every write about `lease.jobID` (its record, plan, trials,
    /// values, artifacts, completion) is made only while the job's lease is still `lease`, checked in
    /// the write's own transaction: a worker that lost its lease writes nothing (`StoreError.leaseLost`).
    func fenced(by lease: JobLease) -> any JobStore
    /// Records the job's success and its model in one transaction.
    func completeJob(_ record: JobRecord, model: ModelRecord) throws

    /// Keeps the job's plan (`JobPlan`), made before its first trial; replaces an earlier one.
    func savePlan(jobID: String, _ plan: JobPlan) throws
    /// The job's plan, or `nil` before it was made.
    /// - Throws: `StoreError.database` for a stored plan that does not decode.
    func plan(jobID: String) throws -> JobPlan?

    // Values: what a unit hands to the next (the search's end, the final training's outcome), as JSON.

    /// Keeps `value` under `key` for the job; replaces an earlier one.
    func saveValue(jobID: String, key: String, _ value: Data) throws
    func value(jobID: String, key: String) throws -> Data?

    // Artifacts: a job's files, by name: its checkpoints (`best-trial.ckpt`, `final.ckpt`,
    // `model.ckpt`), read whole, and its decoded dataset (`dataset.avcache`), mapped from a file.

    /// Writes artifact `name` of the job whole or not at all, only while the fence holds.
    func writeArtifact(jobID: String, name: String, _ data: Data) throws
    /// Keeps the file `source` as artifact `name` of the job, whole or not at all, only while the
    /// fence holds; `source` is left as it is. For artifacts too large to hold in memory.
    func writeArtifact(jobID: String, name: String, contentsOf source: URL) throws
    /// Artifact `name` of the job, or `nil` when it was never written.
    func readArtifact(jobID: String, name: String) throws -> Data?
    /// A local file with the contents of artifact `name` of the job, to read or map but never to
    /// change, or `nil` when it was never written.
    func artifactFile(jobID: String, name: String) throws -> URL?

    // Trials
    func addTrial(jobID: String, _ trial: TrialRecord) throws
    func trials(jobID: String) throws -> [TrialRecord]

    // Trial units: the trials of a job's search, run in parallel by any number of workers, each
    // under a lease of its own (`JobLease.trialID`), decided under the job's lock knowing of one another.

    /// Gives `owner` a trial of job `jobID`'s search to train, leased until `leaseSeconds` from now,
    /// in one transaction holding the job's lock (its row, then its trial units: the one order every
    /// store takes them in): a unit no worker holds (released, or its lease expired: its lost time is
    /// charged to the job, `TrialUnit.lostSeconds`), lowest trial ID first, with its decision as it was;
    /// or else a new unit, with the next trial ID, whose decision `decide` makes from the job, its
    /// finished trials and its units in flight (`nil`: no trial now). `nil` when the job is not
    /// `searching` or no unit was given. Through a view fenced by the job's lease (`fenced(by:)`: the
    /// worker running the job's units), a claim is a write about the job, refused once the lease is lost.
    /// - Throws: `StoreError.leaseLost` then; what `decide` throws.
    func claimTrialUnit(jobID: String, owner: String, leaseSeconds: Double,
                        decide: (_ job: JobRecord, _ trials: [TrialRecord], _ inFlight: [TrialUnit]) throws -> Data?) throws -> TrialUnit?
    /// Ends the unit `lease` holds: records `trial` (its ID the unit's), removes the unit and applies
    /// `change` to the job, in one transaction.
    /// - Throws: `StoreError.leaseLost` when the unit's lease is no longer `lease` (it expired and
    ///   another worker claimed it) or the job is no longer `searching`: nothing is written.
    func finishTrialUnit(_ lease: JobLease, trial: TrialRecord, _ change: (inout JobRecord) -> Void) throws
    /// The job's trial units in flight (leased, or waiting to be claimed again), by trial ID.
    func trialUnits(jobID: String) throws -> [TrialUnit]

    // Models
    func model(_ id: String) throws -> ModelRecord?
    func models() throws -> [ModelRecord]

    // Datasets
    func insertDataset(_ record: DatasetRecord) throws
    func dataset(_ id: String) throws -> DatasetRecord?
    func datasets() throws -> [DatasetRecord]
    @discardableResult func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord
    /// Removes the dataset's record and its artifacts. Throws `.conflict` while an unfinished job uses it.
    func deleteDataset(_ id: String) throws

    // Dataset imports: a worker imports an uploaded dataset while it holds the import's lease.

    /// Takes the oldest dataset waiting for its import (state `importing`, its import lease free or
    /// expired) for `owner` until `leaseSeconds` from now, counting the attempt. One whose import was
    /// taken `maximumAttempts` times already (its worker stopped in it each time: a file that crashes
    /// the decoder) is failed with the reason instead. `nil` when none waits.
    func claimNextImport(owner: String, leaseSeconds: Double, maximumAttempts: Int) throws -> DatasetRecord?
    /// Extends `owner`'s import lease on dataset `id` by `seconds` from now.
    /// - Throws: `StoreError.conflict` when the lease is no longer `owner`'s.
    func renewImport(_ id: String, owner: String, seconds: Double) throws
    /// Ends `owner`'s import of dataset `id` with `change` (its summary and state), the lease freed, in
    /// one transaction.
    /// - Throws: `StoreError.conflict` when the lease is no longer `owner`'s: nothing is written.
    @discardableResult func finishImport(_ id: String, owner: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord

    // Dataset artifacts: a dataset's files, by name (`DatasetArtifacts`), so that a worker on another
    // machine imports it, and a job reads its decoded images, with nothing but the store.

    /// Whether workers on other machines share this store (PostgreSQL). Then a server keeps in it what
    /// an import needs from its own disk (a zip upload); SQLite and in-memory stores serve one machine.
    var isSharedAcrossMachines: Bool { get }
    /// Keeps the file `source` as artifact `name` of dataset `datasetID`, whole or not at all, replacing
    /// an earlier one; `source` is left as it is. The dataset's record need not exist yet: a server keeps
    /// an upload before it registers the dataset, so no worker claims an import whose files are missing.
    /// `deleteDataset` removes them.
    /// - Throws: `StoreError.database` when the store cannot take it.
    func writeDatasetArtifact(datasetID: String, name: String, contentsOf source: URL) throws
    /// A local file with artifact `name` of the dataset, to read or map but never to change, or `nil`
    /// when it was never written.
    func datasetArtifactFile(datasetID: String, name: String) throws -> URL?

    // Resources of the compatible APIs (Vertex AI's endpoints, datasets before their import, batch
    // prediction jobs) that have no counterpart in the job core: a JSON document by kind and ID.

    /// Inserts or replaces resource `id` of `kind`; its creation order is kept across replacements.
    func saveResource(kind: String, id: String, _ document: Data) throws
    func resource(kind: String, id: String) throws -> Data?
    /// Every resource of `kind`, oldest first.
    func resources(kind: String) throws -> [Data]
    /// Removes resource `id` of `kind`; `false` when there was none.
    @discardableResult func deleteResource(kind: String, id: String) throws -> Bool
}

/// A worker's claim on a job, or on one trial unit of its search (`trialID`): held by `owner` until
/// `expiresAt` unless renewed. `attempt` counts the job's (or the unit's) claims; with `owner` it
/// fences the worker's writes (`JobStore.fenced(by:)`). `renewLease` and `releaseLease` take both
/// kinds; `releaseLease` frees a unit for the next claim; `advanceLease` is for the job's own lease.
public struct JobLease: Sendable, Equatable {
    public var jobID: String
    /// The worker: `HOST:PID:RANDOM` (`JobLease.newOwner()`).
    public var owner: String
    public var attempt: Int
    public var expiresAt: Date
    /// The trial unit this lease holds (`JobStore.claimTrialUnit`), or `nil` for the job's own lease.
    public var trialID: Int?

    public init(jobID: String, owner: String, attempt: Int, expiresAt: Date, trialID: Int? = nil) {
        self.jobID = jobID
        self.owner = owner
        self.attempt = attempt
        self.expiresAt = expiresAt
        self.trialID = trialID
    }

    /// A new worker identity, unique across processes and machines.
    public static func newOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// The messages of a dataset import's lease.
public enum DatasetImportLease {
    public static func failure(attempts: Int) -> String {
        "the import stopped its worker \(attempts) times (killed, or crashed by a file in it); not tried again: "
            + "check the images (autovision import MANIFEST reports each one) and upload the dataset again"
    }

    public static func lost(_ id: String) -> String {
        "this worker's import lease on dataset '\(id)' expired and another worker took the import; it writes nothing"
    }
}

/// Which unit of a job was lost, and what its loss costs. A unit is known by the job's state and its
/// trials done: the import (`importing 0`), trial k + 1 (`searching k`), the final training, the evaluation.
public enum JobUnitLoss {
    /// The key of the unit `record` is in.
    public static func unit(of record: JobRecord) -> String { "\(record.state.rawValue) \(record.trialsDone)" }

    /// Charges the time a lost unit ran after the job's last write, up to its lease's last renewal
    /// (when its worker was last alive): a lost unit's time counts toward the budget. The import is
    /// not charged (the budget's clock starts after it), nor the search (its trial units are).
    public static func charge(_ record: inout JobRecord, lastRenewal: Date?) {
        // A search's time is its trial units', charged by the unit lost (`TrialUnit.lostSeconds`).
        guard let lastRenewal, record.state != .importing, record.state != .searching else { return }
        let lost = lastRenewal.timeIntervalSince(record.updatedAt)
        guard lost > 0 else { return }
        record.usedSeconds += lost
        record.progress = min(1, record.usedSeconds / max(1, record.budgetSeconds))
    }
}

/// A new, sortable, unique ID with a prefix: `ds-YYYYMMDD-HHMMSS-xxxxxx`.
public func newResourceID(prefix: String, now: Date = Date()) -> String { "\(prefix)-\(JobRecord.newID(now: now))" }

/// One trial of a job's search, decided and held by a worker until its trial is recorded
/// (`JobStore.claimTrialUnit`, `finishTrialUnit`).
public struct TrialUnit: Sendable, Equatable {
    public var jobID: String
    /// The trial's ID, fixed when it was decided: a unit claimed again trains the same trial.
    public var trialID: Int
    /// The search's decision (the JSON of `Search.PlannedTrial`); the store keeps it as it is.
    public var decision: Data
    /// The worker holding it, or `nil` while none does (released).
    public var owner: String?
    /// Claims of this unit so far.
    public var attempt: Int
    public var expiresAt: Date?
    /// When its current claim was made, and when its lease was last taken or renewed.
    public var claimedAt: Date
    public var renewedAt: Date

    public init(jobID: String, trialID: Int, decision: Data, owner: String?, attempt: Int, expiresAt: Date?, claimedAt: Date, renewedAt: Date) {
        self.jobID = jobID
        self.trialID = trialID
        self.decision = decision
        self.owner = owner
        self.attempt = attempt
        self.expiresAt = expiresAt
        self.claimedAt = claimedAt
        self.renewedAt = renewedAt
    }

    /// The lease of its current claim.
    public var lease: JobLease {
        JobLease(jobID: jobID, owner: owner ?? "", attempt: attempt, expiresAt: expiresAt ?? claimedAt, trialID: trialID)
    }

    /// Whether a worker may claim it: none holds it, or its holder's lease expired at `now`.
    public func isClaimable(at now: Date) -> Bool { owner == nil || (expiresAt ?? .distantPast) < now }

    /// The time its expired claim ran, charged to the job when it is claimed again: from the claim
    /// to the last renewal (when its worker was last alive). 0 for a released unit (its worker charged it).
    public func lostSeconds(at now: Date) -> Double {
        guard owner != nil, (expiresAt ?? .distantPast) < now else { return 0 }
        return max(0, renewedAt.timeIntervalSince(claimedAt))
    }

    /// The unit a claim takes again, lowest trial ID first, or `nil`.
    public static func claimable(_ units: [TrialUnit], at now: Date) -> TrialUnit? {
        units.sorted { $0.trialID < $1.trialID }.first { $0.isClaimable(at: now) }
    }

    /// The next unit's trial ID: after every trial and unit of the job.
    public static func nextTrialID(trials: [Int], units: [TrialUnit]) -> Int {
        max(trials.max() ?? 0, units.map(\.trialID).max() ?? 0) + 1
    }

    /// `JobStore.claimTrialUnit`'s rules, for every store to apply inside its transaction on the job's
    /// `units`: the unit no worker holds (lowest trial ID first), its lost run charged to `job`; or else
    /// a new unit that `decide` makes from `job`, the job's trials (read only then) and `units`, with the
    /// next trial ID. Leased to `owner` from `now` for `leaseSeconds`; the store writes it, and `job`
    /// when the unit's `attempt` is above 1. `nil`: no unit, nothing to write.
    public static func claim(units: [TrialUnit], job: inout JobRecord, trials: () throws -> [TrialRecord], owner: String, leaseSeconds: Double,
                             now: Date, decide: (JobRecord, [TrialRecord], [TrialUnit]) throws -> Data?) throws -> TrialUnit? {
        var unit: TrialUnit
        if let lost = claimable(units, at: now) {
            job.usedSeconds += lost.lostSeconds(at: now)
            job.updatedAt = now
            unit = lost
            unit.attempt += 1
        } else {
            let trials = try trials()
            guard let decision = try decide(job, trials, units) else { return nil }
            unit = TrialUnit(jobID: job.id, trialID: nextTrialID(trials: trials.map(\.id), units: units), decision: decision,
                             owner: owner, attempt: 1, expiresAt: nil, claimedAt: now, renewedAt: now)
        }
        unit.owner = owner
        unit.claimedAt = now
        unit.renewedAt = now
        unit.expiresAt = now.addingTimeInterval(leaseSeconds)
        return unit
    }
}
