import Foundation
import Search

/// A `JobStore` in memory, for tests and for embedding a job where nothing must be kept: the same
/// contract as `SQLiteJobStore` (the store contract suite runs against both), with one lock
/// serialising every change, as a transaction would.
public final class InMemoryJobStore: JobStore, @unchecked Sendable {
    /// The state, shared by the store and its fenced views.
    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var jobs: [String: JobRecord] = [:]
        var leases: [String: JobLease] = [:]
        var attempts: [String: Int] = [:]
        var cancelRequested: Set<String> = []
        var trials: [String: [Int: TrialRecord]] = [:]
        var trialUnits: [String: [Int: TrialUnit]] = [:]
        var plans: [String: JobPlan] = [:]
        var values: [String: [String: Data]] = [:]
        var artifacts: [String: [String: Data]] = [:]
        var renewedAt: [String: Date] = [:]
        var lostUnits: [String: (unit: String, losses: Int)] = [:]
        var importLeases: [String: (owner: String, expiresAt: Date)] = [:]
        var importAttempts: [String: Int] = [:]
        var models: [String: ModelRecord] = [:]
        var datasets: [String: DatasetRecord] = [:]
        /// Kind → ID → (creation order, document).
        var resources: [String: [String: (order: Int, document: Data)]] = [:]
        var resourcesCreated = 0
        var fault: (@Sendable (String) -> StoreError?)?
        /// Where file artifacts go when the store keeps the others in memory: a temporary folder,
        /// made on first use and removed with the store.
        lazy var temporaryFolder: URL = {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-in-memory-\(UUID().uuidString)")
            madeTemporaryFolder = true
            return url
        }()
        var madeTemporaryFolder = false

        deinit { if madeTemporaryFolder { try? FileManager.default.removeItem(at: temporaryFolder) } }
    }

    private let state: State
    private let fence: JobLease?

    /// Where artifacts go: files under this folder (`ArtifactFiles`, as `SQLiteJobStore` keeps
    /// them), or memory when `nil`.
    private let artifactFiles: ArtifactFiles?
    public let isSharedAcrossMachines: Bool

    /// - Parameter jobsDirectory: the folder for the jobs' artifacts (so a `Predictor` can load the
    ///   model a job wrote); `nil` keeps them in memory.
    /// - Parameter sharedAcrossMachines: answer `isSharedAcrossMachines` with `true`, as PostgreSQL does,
    ///   so that what a server keeps for workers elsewhere (`DatasetArtifacts.keepFiles`) is kept.
    public init(jobsDirectory: URL? = nil, sharedAcrossMachines: Bool = false) {
        state = State()
        fence = nil
        artifactFiles = jobsDirectory.map(ArtifactFiles.init)
        isSharedAcrossMachines = sharedAcrossMachines
    }

    private init(state: State, fence: JobLease, artifactFiles: ArtifactFiles?, sharedAcrossMachines: Bool) {
        self.state = state
        self.fence = fence
        self.artifactFiles = artifactFiles
        isSharedAcrossMachines = sharedAcrossMachines
    }

    /// Called with a write's name (`"addTrial"`, `"updateJob"`, …) before it is made; an error
    /// returned fails that write, as a database that went away would. For tests of what a job does
    /// when the store does not take a state.
    public var faultInjection: (@Sendable (String) -> StoreError?)? {
        get { locked { $0.fault } }
        set { locked { $0.fault = newValue } }
    }

    public func fenced(by lease: JobLease) -> any JobStore {
        InMemoryJobStore(state: state, fence: lease, artifactFiles: artifactFiles, sharedAcrossMachines: isSharedAcrossMachines)
    }

    private func locked<T>(_ body: (State) throws -> T) rethrows -> T {
        state.lock.lock()
        defer { state.lock.unlock() }
        return try body(state)
    }

    /// `locked`, for a write named `operation` about job `jobID` (fenced) that `faultInjection` may fail.
    private func writing<T>(_ operation: String, jobID: String? = nil, _ body: (State) throws -> T) throws -> T {
        try locked { state in
            if let error = state.fault?(operation) { throw error }
            if let fence, let jobID, fence.jobID == jobID, !Self.holds(fence, in: state) { throw StoreError.leaseLost(jobID: jobID) }
            return try body(state)
        }
    }

    /// Whether `lease` (a job's, or a trial unit's) is still the one held.
    private static func holds(_ lease: JobLease, in state: State) -> Bool {
        if let trialID = lease.trialID {
            let unit = state.trialUnits[lease.jobID]?[trialID]
            return unit?.owner == lease.owner && unit?.attempt == lease.attempt
        }
        return state.leases[lease.jobID].map { ($0.owner, $0.attempt) } ?? ("", 0) == (lease.owner, lease.attempt)
    }

    // MARK: Jobs

    public func insertJob(_ record: JobRecord) throws {
        try writing("insertJob") { state in
            guard state.jobs[record.id] == nil else { throw StoreError.conflict("job '\(record.id)' exists") }
            state.jobs[record.id] = record
        }
    }

    public func job(_ id: String) throws -> JobRecord? { locked { $0.jobs[id] } }

    public func jobs() throws -> [JobRecord] {
        locked { $0.jobs.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    @discardableResult
    public func updateJob(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord {
        try writing("updateJob", jobID: id) { state in
            guard var record = state.jobs[id] else { throw StoreError.notFound(kind: "job", id: id) }
            try change(&record)
            record.updatedAt = Date()
            state.jobs[id] = record
            return record
        }
    }

    @discardableResult
    public func requestCancel(_ id: String) throws -> JobRecord {
        try writing("requestCancel") { state in
            guard var record = state.jobs[id] else { throw StoreError.notFound(kind: "job", id: id) }
            if record.state == .queued {
                record.state = .cancelled
                record.stopReason = "cancelled before it started"
                record.updatedAt = Date()
                state.jobs[id] = record
            } else if !record.state.isFinished {
                state.cancelRequested.insert(id)
            }
            return record
        }
    }

    public func isCancelRequested(_ id: String) throws -> Bool { locked { $0.cancelRequested.contains(id) } }

    public func deleteJob(_ id: String) throws {
        try writing("deleteJob") { state in
            guard let record = state.jobs[id] else { throw StoreError.notFound(kind: "job", id: id) }
            guard record.state.isFinished else {
                throw StoreError.conflict("job '\(id)' is \(record.state.rawValue): cancel it first (POST /v1/jobs/\(id)/cancel or autovision jobs cancel \(id))")
            }
            state.jobs[id] = nil
            state.trials[id] = nil
            state.trialUnits[id] = nil
            state.plans[id] = nil
            state.values[id] = nil
            state.artifacts[id] = nil
            if state.madeTemporaryFolder { try? FileManager.default.removeItem(at: state.temporaryFolder.appendingPathComponent(id)) }
            state.lostUnits[id] = nil
            state.models[id] = nil
            state.leases[id] = nil
            state.cancelRequested.remove(id)
        }
    }

    // MARK: Leases

    public func insertLeasedJob(_ record: JobRecord, owner: String, leaseSeconds: Double) throws -> JobLease {
        try writing("insertLeasedJob") { state in
            guard state.jobs[record.id] == nil else { throw StoreError.conflict("job '\(record.id)' exists") }
            var record = record
            record.state = .importing
            state.jobs[record.id] = record
            return Self.lease(record.id, to: owner, seconds: leaseSeconds, in: state)
        }
    }

    public func claimNextJob(owner: String, leaseSeconds: Double) throws -> (record: JobRecord, lease: JobLease)? {
        try writing("claimNextJob") { state in
            let running: Set<JobState> = [.importing, .searching, .training, .evaluating]
            let claimable = state.jobs.values.filter { $0.state == .queued || (running.contains($0.state) && state.leases[$0.id] == nil) }
            for var record in claimable.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
                if record.state == .queued {
                    let dataset = record.datasetID.flatMap { state.datasets[$0] }
                    if dataset?.state == .importing { continue }  // waits in `queued`
                    if let dataset, dataset.state == .failed {
                        record.state = .failed
                        record.failureReason = "dataset import failed: \(dataset.failureReason ?? "see GET /v1/datasets/\(dataset.id)")"
                    } else {
                        record.state = .importing
                    }
                }
                record.updatedAt = Date()  // changing hands is a change: a lost unit's time is counted from here
                state.jobs[record.id] = record
                guard record.state != .failed else { continue }
                return (record, Self.lease(record.id, to: owner, seconds: leaseSeconds, in: state))
            }
            return nil
        }
    }

    public func advanceLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        try writing("advanceLease") { state in
            guard let held = state.leases[lease.jobID], held.owner == lease.owner, held.attempt == lease.attempt else {
                throw StoreError.leaseLost(jobID: lease.jobID)
            }
            return Self.lease(lease.jobID, to: lease.owner, seconds: seconds, in: state)
        }
    }

    private static func lease(_ jobID: String, to owner: String, seconds: Double, in state: State) -> JobLease {
        let attempt = (state.attempts[jobID] ?? 0) + 1
        state.attempts[jobID] = attempt
        let lease = JobLease(jobID: jobID, owner: owner, attempt: attempt, expiresAt: Date().addingTimeInterval(seconds))
        state.leases[jobID] = lease
        state.renewedAt[jobID] = Date()
        return lease
    }

    @discardableResult
    public func renewLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        try writing("renewLease") { state in
            if let trialID = lease.trialID {
                guard Self.holds(lease, in: state), var unit = state.trialUnits[lease.jobID]?[trialID] else { throw StoreError.leaseLost(jobID: lease.jobID) }
                unit.expiresAt = Date().addingTimeInterval(seconds)
                unit.renewedAt = Date()
                state.trialUnits[lease.jobID]?[trialID] = unit
                return unit.lease
            }
            guard let held = state.leases[lease.jobID], held.owner == lease.owner, held.attempt == lease.attempt else {
                throw StoreError.leaseLost(jobID: lease.jobID)
            }
            var renewed = held
            renewed.expiresAt = Date().addingTimeInterval(seconds)
            state.leases[lease.jobID] = renewed
            state.renewedAt[lease.jobID] = Date()
            return renewed
        }
    }

    public func releaseLease(_ lease: JobLease) throws {
        try writing("releaseLease") { state in
            if let trialID = lease.trialID {
                if Self.holds(lease, in: state) {
                    state.trialUnits[lease.jobID]?[trialID]?.owner = nil
                    state.trialUnits[lease.jobID]?[trialID]?.expiresAt = nil
                }
                return
            }
            if let held = state.leases[lease.jobID], held.owner == lease.owner, held.attempt == lease.attempt { state.leases[lease.jobID] = nil }
        }
    }

    public func requeueExpiredLeases(_ recover: (inout JobRecord, _ losses: Int) -> Void) throws -> [JobRecord] {
        try writing("requeueExpiredLeases") { state in
            var recovered: [JobRecord] = []
            let now = Date()
            for var record in state.jobs.values.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) })
            where record.state != .queued && !record.state.isFinished && (state.leases[record.id]?.expiresAt ?? .distantFuture) < now {
                let unit = JobUnitLoss.unit(of: record)
                let previous = state.lostUnits[record.id]
                let losses = previous?.unit == unit ? previous!.losses + 1 : 1
                JobUnitLoss.charge(&record, lastRenewal: state.renewedAt[record.id])
                SQLiteJobStore.recover(&record, cancelRequested: state.cancelRequested.contains(record.id), losses: losses, with: recover)
                record.updatedAt = now
                state.jobs[record.id] = record
                state.leases[record.id] = nil
                state.cancelRequested.remove(record.id)
                state.lostUnits[record.id] = (unit, losses)
                recovered.append(record)
            }
            return recovered
        }
    }

    public func completeJob(_ record: JobRecord, model: ModelRecord) throws {
        try writing("completeJob", jobID: record.id) { state in
            guard state.jobs[record.id] != nil else { throw StoreError.notFound(kind: "job", id: record.id) }
            var record = record
            record.updatedAt = Date()
            state.jobs[record.id] = record
            state.models[model.id] = model
        }
    }

    // MARK: Plans

    public func savePlan(jobID: String, _ plan: JobPlan) throws {
        try writing("savePlan", jobID: jobID) { state in
            guard state.jobs[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
            state.plans[jobID] = plan
        }
    }

    public func plan(jobID: String) throws -> JobPlan? { locked { $0.plans[jobID] } }

    // MARK: Values and artifacts

    public func saveValue(jobID: String, key: String, _ value: Data) throws {
        try writing("saveValue", jobID: jobID) { state in
            guard state.jobs[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
            state.values[jobID, default: [:]][key] = value
        }
    }

    public func value(jobID: String, key: String) throws -> Data? { locked { $0.values[jobID]?[key] } }

    public func writeArtifact(jobID: String, name: String, _ data: Data) throws {
        let commit = { (rename: () throws -> Void) in
            try self.writing("writeArtifact", jobID: jobID) { state in
                guard state.jobs[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
                if self.artifactFiles == nil { state.artifacts[jobID, default: [:]][name] = data } else { try rename() }
            }
        }
        if let artifactFiles { try artifactFiles.write(data, jobID: jobID, name: name, commit: commit) } else { try commit {} }
    }

    public func writeArtifact(jobID: String, name: String, contentsOf source: URL) throws {
        let files = artifactFiles ?? locked { ArtifactFiles(jobsDirectory: $0.temporaryFolder) }
        try files.write(contentsOf: source, jobID: jobID, name: name) { rename in
            try writing("writeArtifact", jobID: jobID) { state in
                guard state.jobs[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
                try rename()
            }
        }
    }

    public func readArtifact(jobID: String, name: String) throws -> Data? {
        if let artifactFiles { return artifactFiles.read(jobID: jobID, name: name) }
        return locked { $0.artifacts[jobID]?[name] }
    }

    public func artifactFile(jobID: String, name: String) throws -> URL? {
        if let artifactFiles { return artifactFiles.file(jobID: jobID, name: name) }
        let (files, data) = locked { (ArtifactFiles(jobsDirectory: $0.temporaryFolder), $0.artifacts[jobID]?[name]) }
        // An artifact kept in memory is handed out as a file of the temporary folder.
        if let data { try files.write(data, jobID: jobID, name: name) { try $0() } }
        return files.file(jobID: jobID, name: name)
    }

    // MARK: Trials

    public func addTrial(jobID: String, _ trial: TrialRecord) throws {
        try writing("addTrial", jobID: jobID) { state in
            guard state.jobs[jobID] != nil else { throw StoreError.notFound(kind: "job", id: jobID) }
            state.trials[jobID, default: [:]][trial.id] = trial
        }
    }

    public func trials(jobID: String) throws -> [TrialRecord] {
        locked { ($0.trials[jobID] ?? [:]).values.sorted { $0.id < $1.id } }
    }

    // MARK: Trial units

    public func claimTrialUnit(jobID: String, owner: String, leaseSeconds: Double,
                               decide: (JobRecord, [TrialRecord], [TrialUnit]) throws -> Data?) throws -> TrialUnit? {
        try writing("claimTrialUnit", jobID: jobID) { state in
            guard var job = state.jobs[jobID], job.state == .searching else { return nil }
            let units = (state.trialUnits[jobID] ?? [:]).values.sorted { $0.trialID < $1.trialID }
            guard let unit = try TrialUnit.claim(units: units, job: &job, trials: { (state.trials[jobID] ?? [:]).values.sorted { $0.id < $1.id } },
                                                 owner: owner, leaseSeconds: leaseSeconds, now: Date(), decide: decide) else { return nil }
            if unit.attempt > 1 { state.jobs[jobID] = job }
            state.trialUnits[jobID, default: [:]][unit.trialID] = unit
            return unit
        }
    }

    public func finishTrialUnit(_ lease: JobLease, trial: TrialRecord, _ change: (inout JobRecord) -> Void) throws {
        try writing("finishTrialUnit") { state in
            guard let trialID = lease.trialID, trial.id == trialID, Self.holds(lease, in: state), var job = state.jobs[lease.jobID],
                  job.state == .searching else { throw StoreError.leaseLost(jobID: lease.jobID) }
            state.trials[lease.jobID, default: [:]][trialID] = trial
            state.trialUnits[lease.jobID]?[trialID] = nil
            change(&job)
            job.updatedAt = Date()
            state.jobs[lease.jobID] = job
        }
    }

    public func trialUnits(jobID: String) throws -> [TrialUnit] {
        locked { ($0.trialUnits[jobID] ?? [:]).values.sorted { $0.trialID < $1.trialID } }
    }

    // MARK: Models

    public func model(_ id: String) throws -> ModelRecord? { locked { $0.models[id] } }

    public func models() throws -> [ModelRecord] {
        locked { $0.models.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    // MARK: Datasets

    public func insertDataset(_ record: DatasetRecord) throws {
        try writing("insertDataset") { state in
            guard state.datasets[record.id] == nil else { throw StoreError.conflict("dataset '\(record.id)' exists") }
            state.datasets[record.id] = record
        }
    }

    public func dataset(_ id: String) throws -> DatasetRecord? { locked { $0.datasets[id] } }

    public func datasets() throws -> [DatasetRecord] {
        locked { $0.datasets.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
    }

    @discardableResult
    public func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try writing("updateDataset") { state in
            guard var record = state.datasets[id] else { throw StoreError.notFound(kind: "dataset", id: id) }
            try change(&record)
            record.updatedAt = Date()
            state.datasets[id] = record
            return record
        }
    }

    public func claimNextImport(owner: String, leaseSeconds: Double, maximumAttempts: Int) throws -> DatasetRecord? {
        try writing("claimNextImport") { state in
            let now = Date()
            let waiting = state.datasets.values.filter { $0.state == .importing && (state.importLeases[$0.id]?.expiresAt ?? .distantPast) < now }
            for var record in waiting.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
                let attempts = state.importAttempts[record.id] ?? 0
                if attempts >= maximumAttempts {
                    record.state = .failed
                    record.failureReason = DatasetImportLease.failure(attempts: attempts)
                    record.updatedAt = now
                    state.datasets[record.id] = record
                    state.importLeases[record.id] = nil
                    continue
                }
                state.importLeases[record.id] = (owner, now.addingTimeInterval(leaseSeconds))
                state.importAttempts[record.id] = attempts + 1
                return record
            }
            return nil
        }
    }

    public func renewImport(_ id: String, owner: String, seconds: Double) throws {
        try writing("renewImport") { state in
            guard state.importLeases[id]?.owner == owner, state.datasets[id]?.state == .importing else {
                throw StoreError.conflict(DatasetImportLease.lost(id))
            }
            state.importLeases[id] = (owner, Date().addingTimeInterval(seconds))
        }
    }

    @discardableResult
    public func finishImport(_ id: String, owner: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try writing("finishImport") { state in
            guard var record = state.datasets[id] else { throw StoreError.notFound(kind: "dataset", id: id) }
            guard state.importLeases[id]?.owner == owner, record.state == .importing else { throw StoreError.conflict(DatasetImportLease.lost(id)) }
            try change(&record)
            record.updatedAt = Date()
            state.datasets[id] = record
            state.importLeases[id] = nil
            return record
        }
    }

    public func saveResource(kind: String, id: String, _ document: Data) throws {
        try writing("saveResource") { state in
            let order = state.resources[kind]?[id]?.order ?? state.resourcesCreated
            state.resourcesCreated += 1
            state.resources[kind, default: [:]][id] = (order, document)
        }
    }

    public func resource(kind: String, id: String) throws -> Data? { locked { $0.resources[kind]?[id]?.document } }

    public func resources(kind: String) throws -> [Data] {
        locked { ($0.resources[kind] ?? [:]).values.sorted { $0.order < $1.order }.map(\.document) }
    }

    @discardableResult public func deleteResource(kind: String, id: String) throws -> Bool {
        try writing("deleteResource") { state in state.resources[kind]?.removeValue(forKey: id) != nil }
    }

    public func deleteDataset(_ id: String) throws {
        try writing("deleteDataset") { state in
            guard state.datasets[id] != nil else { throw StoreError.notFound(kind: "dataset", id: id) }
            let users = state.jobs.values.filter { $0.datasetID == id && !$0.state.isFinished }.sorted { $0.createdAt < $1.createdAt }.map(\.id)
            if !users.isEmpty {
                throw StoreError.conflict("dataset '\(id)' is used by unfinished job(s) \(users.joined(separator: ", ")): cancel them or wait until they finish")
            }
            state.datasets[id] = nil
            for (jobID, record) in state.jobs where record.datasetID == id { state.jobs[jobID]?.datasetID = nil }  // as ON DELETE SET NULL
        }
        try? FileManager.default.removeItem(at: datasetArtifacts.jobsDirectory.appendingPathComponent(id, isDirectory: true))
    }

    // MARK: Dataset artifacts: files, as `SQLiteJobStore` keeps them, under the artifacts' folder or the temporary one

    private var datasetArtifacts: ArtifactFiles {
        let base = artifactFiles?.jobsDirectory ?? locked { $0.temporaryFolder }
        return ArtifactFiles(jobsDirectory: base.appendingPathComponent("dataset-artifacts", isDirectory: true))
    }

    public func writeDatasetArtifact(datasetID: String, name: String, contentsOf source: URL) throws {
        try writing("writeDatasetArtifact") { _ in }
        try datasetArtifacts.write(contentsOf: source, jobID: datasetID, name: name) { try $0() }
    }

    public func datasetArtifactFile(datasetID: String, name: String) throws -> URL? { datasetArtifacts.file(jobID: datasetID, name: name) }
}
