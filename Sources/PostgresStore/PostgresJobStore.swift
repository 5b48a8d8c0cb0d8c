import Foundation
import JobService
import PostgresNIO
import Search

/// The job store on PostgreSQL, for workers on more than one machine: the `JobStore` contract
/// (`JobStoreContractTests` runs against it and SQLite), with the database's clock for leases.
///
/// Every change is one transaction that locks the rows it reads first, job row before its plan,
/// values, trials, artifacts and model (one order everywhere, so two transactions cannot deadlock);
/// claims skip rows another worker holds (`FOR UPDATE SKIP LOCKED`) and hold no lock while training.
/// Artifacts live in the database as content-addressed chunks (`PostgresArtifacts`), cached in
/// `cacheDirectory` by hash.
public final class PostgresJobStore: JobStore, @unchecked Sendable {
    let connections: PostgresConnections
    let artifacts: PostgresArtifacts
    /// Set on a fenced view (`fenced(by:)`): writes about this lease's job need it still held.
    private let fence: JobLease?

    /// Connects to the database at `url`, applying the migrations it has not had.
    /// - Parameter cacheDirectory: this machine's folder for artifacts read from the store, by hash.
    /// - Throws: `StoreError.database` for a URL that is not PostgreSQL's, a database that cannot be
    ///   reached, or a migration that fails.
    public init(url: String, cacheDirectory: URL) throws {
        connections = PostgresConnections(location: try PostgresLocation(url: url))
        artifacts = PostgresArtifacts(connections: connections, cacheDirectory: cacheDirectory.appendingPathComponent("artifacts"))
        fence = nil
        try PostgresMigrations.migrate(connections)
    }

    private init(sharing store: PostgresJobStore, fence: JobLease) {
        connections = store.connections
        artifacts = store.artifacts
        self.fence = fence
    }

    public func fenced(by lease: JobLease) -> any JobStore { PostgresJobStore(sharing: self, fence: lease) }

    private func write<T>(_ body: (PostgresTransaction) throws -> T) throws -> T { try connections.transaction(body) }
    private func read<T>(_ body: (PostgresTransaction) throws -> T) throws -> T { try connections.transaction(reading: true, body) }

    /// Locks job `jobID`'s row; throws `.leaseLost` when this is a fenced view of it and its lease is
    /// no longer the fence. The lock keeps the lease from changing hands until the transaction ends.
    func checkFence(_ transaction: PostgresTransaction, jobID: String) throws {
        let rows = try transaction.rows("SELECT lease_owner, lease_attempt FROM jobs WHERE id = \(jobID) FOR UPDATE")
        guard let fence, fence.jobID == jobID else { return }
        if let trialID = fence.trialID {
            // The job's row, then its unit's: the order every transaction takes them in.
            let unit = try TrialUnitRows.fetch(jobID: jobID, trialID: trialID, locking: true, in: transaction)
            guard let unit, unit.owner == fence.owner, unit.attempt == fence.attempt else { throw StoreError.leaseLost(jobID: jobID) }
            return
        }
        let holder = try rows.first?.decode((String?, Int).self)
        guard let holder, holder.0 == fence.owner, holder.1 == fence.attempt else { throw StoreError.leaseLost(jobID: jobID) }
    }

    // MARK: Jobs

    public func insertJob(_ record: JobRecord) throws { try write { try JobRows.insert(record, in: $0) } }

    public func job(_ id: String) throws -> JobRecord? { try read { try JobRows.fetch(id, in: $0) } }

    public func jobs() throws -> [JobRecord] {
        try read { transaction in
            try transaction.rows("SELECT record::text FROM jobs ORDER BY created_at DESC, id DESC").map { try JSONRecord.decode(JobRecord.self, $0) }
        }
    }

    @discardableResult
    public func updateJob(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord {
        try write { transaction in
            try checkFence(transaction, jobID: id)
            guard var record = try JobRows.fetch(id, in: transaction) else { throw StoreError.notFound(kind: "job", id: id) }
            try change(&record)
            record.updatedAt = transaction.now
            try JobRows.save(record, in: transaction)
            return record
        }
    }

    @discardableResult
    public func requestCancel(_ id: String) throws -> JobRecord {
        try write { transaction in
            guard var record = try JobRows.fetch(id, in: transaction, locking: true) else { throw StoreError.notFound(kind: "job", id: id) }
            if record.state == .queued {
                record.state = .cancelled
                record.stopReason = "cancelled before it started"
                record.updatedAt = transaction.now
                try JobRows.save(record, in: transaction)
            } else if !record.state.isFinished {
                try transaction.execute("UPDATE jobs SET cancel_requested = true WHERE id = \(id)")
            }
            return record
        }
    }

    public func isCancelRequested(_ id: String) throws -> Bool {
        try read { try $0.rows("SELECT cancel_requested FROM jobs WHERE id = \(id)").first?.decode(Bool.self) ?? false }
    }

    public func deleteJob(_ id: String) throws {
        try write { transaction in
            guard let record = try JobRows.fetch(id, in: transaction, locking: true) else { throw StoreError.notFound(kind: "job", id: id) }
            guard record.state.isFinished else {
                throw StoreError.conflict("job '\(id)' is \(record.state.rawValue): cancel it first (POST /v1/jobs/\(id)/cancel or autovision jobs cancel \(id))")
            }
            let contents = try transaction.rows("SELECT sha256 FROM artifacts WHERE job_id = \(id)").map { try $0.decode(String.self) }
            try transaction.execute("DELETE FROM jobs WHERE id = \(id)")
            try PostgresArtifacts.deleteUnreferenced(contents, in: transaction)
        }
    }

    // MARK: Leases

    public func insertLeasedJob(_ record: JobRecord, owner: String, leaseSeconds: Double) throws -> JobLease {
        try write { transaction in
            var record = record
            record.state = .importing
            try JobRows.insert(record, in: transaction)
            return try JobRows.setLease(jobID: record.id, owner: owner, attempt: 1, seconds: leaseSeconds, in: transaction)
        }
    }

    public func claimNextJob(owner: String, leaseSeconds: Double) throws -> (record: JobRecord, lease: JobLease)? {
        try write { transaction in
            let rows = try transaction.rows("""
                SELECT jobs.id, jobs.lease_attempt, datasets.state, datasets.record->>'failure_reason'
                FROM jobs LEFT JOIN datasets ON datasets.id = jobs.dataset_id
                WHERE (jobs.state = 'queued' AND (datasets.state IS NULL OR datasets.state <> 'importing'))
                   OR (jobs.state IN ('importing', 'searching', 'training', 'evaluating') AND jobs.lease_owner IS NULL)
                ORDER BY jobs.created_at, jobs.id
                LIMIT 16
                FOR UPDATE OF jobs SKIP LOCKED
                """)
            for row in rows {
                let (id, attempt, datasetState, datasetFailure) = try row.decode((String, Int, String?, String?).self)
                guard var record = try JobRows.fetch(id, in: transaction) else { continue }
                if record.state == .queued {
                    if datasetState == DatasetState.failed.rawValue {
                        record.state = .failed
                        record.failureReason = "dataset import failed: \(datasetFailure ?? "see GET /v1/datasets/\(record.datasetID ?? "")")"
                    } else {
                        record.state = .importing
                    }
                }
                record.updatedAt = transaction.now  // changing hands is a change: a lost unit's time is counted from here
                try JobRows.save(record, in: transaction)
                guard record.state != .failed else { continue }
                let lease = try JobRows.setLease(jobID: id, owner: owner, attempt: attempt + 1, seconds: leaseSeconds, in: transaction)
                return (record, lease)
            }
            return nil
        }
    }

    @discardableResult
    public func renewLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        try write { transaction in
            if let trialID = lease.trialID {
                let rows = try transaction.rows("""
                    UPDATE trial_units SET expires_at = now() + make_interval(secs => \(seconds)), renewed_at = now()
                    WHERE job_id = \(lease.jobID) AND trial_id = \(trialID) AND owner = \(lease.owner) AND attempt = \(lease.attempt)
                    RETURNING expires_at
                    """)
                guard let expiresAt = try rows.first?.decode(Date.self) else { throw StoreError.leaseLost(jobID: lease.jobID) }
                var renewed = lease
                renewed.expiresAt = expiresAt
                return renewed
            }
            let rows = try transaction.rows("""
                UPDATE jobs SET lease_expires_at = now() + make_interval(secs => \(seconds)), lease_renewed_at = now()
                WHERE id = \(lease.jobID) AND lease_owner = \(lease.owner) AND lease_attempt = \(lease.attempt)
                RETURNING lease_expires_at
                """)
            guard let expiresAt = try rows.first?.decode(Date.self) else { throw StoreError.leaseLost(jobID: lease.jobID) }
            return JobLease(jobID: lease.jobID, owner: lease.owner, attempt: lease.attempt, expiresAt: expiresAt)
        }
    }

    public func advanceLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        try write { transaction in
            let rows = try transaction.rows("""
                UPDATE jobs SET lease_attempt = lease_attempt + 1, lease_expires_at = now() + make_interval(secs => \(seconds)), lease_renewed_at = now()
                WHERE id = \(lease.jobID) AND lease_owner = \(lease.owner) AND lease_attempt = \(lease.attempt)
                RETURNING lease_expires_at
                """)
            guard let expiresAt = try rows.first?.decode(Date.self) else { throw StoreError.leaseLost(jobID: lease.jobID) }
            return JobLease(jobID: lease.jobID, owner: lease.owner, attempt: lease.attempt + 1, expiresAt: expiresAt)
        }
    }

    public func releaseLease(_ lease: JobLease) throws {
        _ = try write { transaction in
            if let trialID = lease.trialID {
                return try transaction.execute("""
                    UPDATE trial_units SET owner = NULL, expires_at = NULL
                    WHERE job_id = \(lease.jobID) AND trial_id = \(trialID) AND owner = \(lease.owner) AND attempt = \(lease.attempt)
                    """)
            }
            return try transaction.execute("""
                UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(lease.jobID) AND lease_owner = \(lease.owner) AND lease_attempt = \(lease.attempt)
                """)
        }
    }

    public func requeueExpiredLeases(_ recover: (inout JobRecord, _ losses: Int) -> Void) throws -> [JobRecord] {
        try write { transaction in
            let rows = try transaction.rows("""
                SELECT id, cancel_requested, lease_renewed_at, lost_unit, unit_losses FROM jobs
                WHERE state NOT IN ('queued', 'succeeded', 'failed', 'cancelled') AND lease_owner IS NOT NULL AND lease_expires_at < now()
                ORDER BY created_at, id
                FOR UPDATE SKIP LOCKED
                """)
            return try rows.compactMap { row in
                let (id, cancelRequested, renewedAt, lostUnit, unitLosses) = try row.decode((String, Bool, Date?, String?, Int).self)
                guard var record = try JobRows.fetch(id, in: transaction) else { return nil }
                let unit = JobUnitLoss.unit(of: record)
                let losses = unit == lostUnit ? unitLosses + 1 : 1
                JobUnitLoss.charge(&record, lastRenewal: renewedAt)
                if cancelRequested {
                    record.state = .cancelled
                    record.stopReason = "cancelled"
                } else {
                    recover(&record, losses)
                }
                record.updatedAt = transaction.now
                try JobRows.save(record, in: transaction)
                try transaction.execute("""
                    UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, cancel_requested = false, lost_unit = \(unit), unit_losses = \(losses)
                    WHERE id = \(id)
                    """)
                return record
            }
        }
    }

    public func completeJob(_ record: JobRecord, model: ModelRecord) throws {
        try write { transaction in
            try checkFence(transaction, jobID: record.id)
            var record = record
            record.updatedAt = transaction.now
            try JobRows.save(record, in: transaction)
            try transaction.execute("""
                INSERT INTO models (id, created_at, record) VALUES (\(model.id), \(model.createdAt.timeIntervalSince1970), \(try JSONRecord.encode(model))::jsonb)
                ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, record = EXCLUDED.record
                """)
        }
    }

    // MARK: Plans and values

    public func savePlan(jobID: String, _ plan: JobPlan) throws {
        let json = try JSONRecord.encode(plan)
        try write { transaction in
            try checkFence(transaction, jobID: jobID)
            try transaction.execute("""
                INSERT INTO plans (job_id, plan) VALUES (\(jobID), \(json)::jsonb) ON CONFLICT (job_id) DO UPDATE SET plan = EXCLUDED.plan
                """)
        }
    }

    public func plan(jobID: String) throws -> JobPlan? {
        guard let row = try read({ try $0.rows("SELECT plan::text FROM plans WHERE job_id = \(jobID)").first }) else { return nil }
        do { return try JSONRecord.decode(JobPlan.self, row) } catch {
            throw StoreError.database("the plan of job '\(jobID)' does not decode: \(error)")
        }
    }

    public func saveValue(jobID: String, key: String, _ value: Data) throws {
        try write { transaction in
            try checkFence(transaction, jobID: jobID)
            try transaction.execute("""
                INSERT INTO job_values (job_id, key, value) VALUES (\(jobID), \(key), \(value)) ON CONFLICT (job_id, key) DO UPDATE SET value = EXCLUDED.value
                """)
        }
    }

    public func value(jobID: String, key: String) throws -> Data? {
        try read { transaction in
            try transaction.rows("SELECT value FROM job_values WHERE job_id = \(jobID) AND key = \(key)").first.map { Data(buffer: try $0.decode(ByteBuffer.self)) }
        }
    }

    // MARK: Artifacts

    public func writeArtifact(jobID: String, name: String, _ data: Data) throws {
        try artifacts.write(PostgresArtifacts.Content(data: data), owner: .job(jobID), name: name) { try checkFence($0, jobID: jobID) }
    }

    public func writeArtifact(jobID: String, name: String, contentsOf source: URL) throws {
        try artifacts.write(try PostgresArtifacts.Content(file: source), owner: .job(jobID), name: name) { try checkFence($0, jobID: jobID) }
    }

    public func readArtifact(jobID: String, name: String) throws -> Data? {
        try artifacts.file(owner: .job(jobID), name: name).map { try Data(contentsOf: $0) }
    }

    public func artifactFile(jobID: String, name: String) throws -> URL? { try artifacts.file(owner: .job(jobID), name: name) }

    // MARK: Dataset artifacts

    public var isSharedAcrossMachines: Bool { true }

    public func writeDatasetArtifact(datasetID: String, name: String, contentsOf source: URL) throws {
        try artifacts.write(try PostgresArtifacts.Content(file: source), owner: .dataset(datasetID), name: name) { _ in }
    }

    public func datasetArtifactFile(datasetID: String, name: String) throws -> URL? { try artifacts.file(owner: .dataset(datasetID), name: name) }

    // MARK: Trials

    public func addTrial(jobID: String, _ trial: TrialRecord) throws {
        try write { transaction in
            try checkFence(transaction, jobID: jobID)
            try TrialUnitRows.insert(trial, jobID: jobID, in: transaction)
        }
    }

    public func trials(jobID: String) throws -> [TrialRecord] { try read { try TrialUnitRows.trials(jobID: jobID, in: $0) } }

    // MARK: Models

    public func model(_ id: String) throws -> ModelRecord? {
        try read { try $0.rows("SELECT record::text FROM models WHERE id = \(id)").first.map { try JSONRecord.decode(ModelRecord.self, $0) } }
    }

    public func models() throws -> [ModelRecord] {
        try read { try $0.rows("SELECT record::text FROM models ORDER BY created_at DESC, id DESC").map { try JSONRecord.decode(ModelRecord.self, $0) } }
    }
}
