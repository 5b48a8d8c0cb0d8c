import Foundation
import GRDB
import Search

extension JobRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
}

extension DatasetRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "datasets"
}

extension ModelRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "models"
}

/// The job store in `JOBS_DIR/autovision.sqlite`, through GRDB.
///
/// A `DatabasePool` in WAL mode: readers never wait for the writer, and a writer in another
/// process (the CLI's `train` while `serve` runs) is waited for up to `busyTimeout` seconds instead
/// of failing. Every change is a transaction; the schema is created by versioned migrations.
public final class SQLiteJobStore: JobStore {
    public let url: URL
    private let pool: DatabasePool
    /// Set on a fenced view (`fenced(by:)`): writes about this lease's job need it still held.
    private let fence: JobLease?

    /// The file name of the store in a jobs folder.
    public static let fileName = "autovision.sqlite"

    /// Opens (creating and migrating when needed) the store of `jobsDirectory`.
    public convenience init(jobsDirectory: URL, busyTimeout: TimeInterval = 30) throws {
        try self.init(databaseFile: jobsDirectory.appendingPathComponent(Self.fileName), busyTimeout: busyTimeout)
    }

    /// Opens (creating and migrating when needed) the store in `databaseFile`; artifacts are kept in its folder.
    public init(databaseFile: URL, busyTimeout: TimeInterval = 30) throws {
        try FileManager.default.createDirectory(at: databaseFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        url = databaseFile
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "autovision"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: url.path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError.database("cannot open \(url.path): \(error)")
        }
        fence = nil
    }

    private init(sharing store: SQLiteJobStore, fence: JobLease) {
        url = store.url
        pool = store.pool
        self.fence = fence
    }

    public func fenced(by lease: JobLease) -> any JobStore { SQLiteJobStore(sharing: self, fence: lease) }

    /// Throws `.leaseLost` when this is a fenced view of job `jobID` and its lease is no longer the fence.
    private func checkFence(_ db: Database, jobID: String) throws {
        guard let fence, fence.jobID == jobID else { return }
        if let trialID = fence.trialID {
            guard try Self.trialUnit(jobID: jobID, trialID: trialID, in: db).map({ ($0.owner, $0.attempt) == (fence.owner, fence.attempt) }) == true else {
                throw StoreError.leaseLost(jobID: jobID)
            }
            return
        }
        let row = try Row.fetchOne(db, sql: "SELECT lease_owner, lease_attempt FROM jobs WHERE id = ?", arguments: [jobID])
        guard let row, row["lease_owner"] as String? == fence.owner, row["lease_attempt"] as Int? == fence.attempt else {
            throw StoreError.leaseLost(jobID: jobID)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: datasets, jobs, trials, models", migrate: createTables)
        migrator.registerMigration("v2: jobs.resumes") { try addColumn("resumes", "INTEGER", to: "jobs", in: $0) }
        migrator.registerMigration("v3: jobs.test_time_augmentation") { try addColumn("test_time_augmentation", "BOOLEAN", to: "jobs", in: $0) }
        migrator.registerMigration("v4: jobs.settings") { try addColumn("settings", "TEXT", to: "jobs", in: $0) }
        migrator.registerMigration("v5: jobs.warning") { try addColumn("warning", "TEXT", to: "jobs", in: $0) }
        migrator.registerMigration("v6: plans") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS plans (
                    job_id TEXT PRIMARY KEY NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    plan TEXT NOT NULL
                )
                """)
        }
        migrator.registerMigration("v7: jobs' leases") { db in
            try addColumn("lease_owner", "TEXT", to: "jobs", in: db)
            try addColumn("lease_attempt", "INTEGER NOT NULL DEFAULT 0", to: "jobs", in: db)
            try addColumn("lease_expires_at", "DOUBLE", to: "jobs", in: db)
        }
        migrator.registerMigration("v8: work units") { db in
            try addColumn("lease_renewed_at", "DOUBLE", to: "jobs", in: db)
            try addColumn("lost_unit", "TEXT", to: "jobs", in: db)
            try addColumn("unit_losses", "INTEGER NOT NULL DEFAULT 0", to: "jobs", in: db)
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS job_values (
                    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (job_id, key)
                )
                """)
        }
        migrator.registerMigration("v9: datasets' import leases") { db in
            try addColumn("import_owner", "TEXT", to: "datasets", in: db)
            try addColumn("import_expires_at", "DOUBLE", to: "datasets", in: db)
            try addColumn("import_attempts", "INTEGER NOT NULL DEFAULT 0", to: "datasets", in: db)
        }
        migrator.registerMigration("v10: resources of the compatible APIs") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS resources (
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    document BLOB NOT NULL,
                    PRIMARY KEY (kind, id)
                )
                """)
        }
        migrator.registerMigration("v11: jobs.energy") { try addColumn("energy", "TEXT", to: "jobs", in: $0) }
        migrator.registerMigration("v12: datasets' versions and import progress") { db in
            try addColumn("version", "INTEGER NOT NULL DEFAULT 1", to: "datasets", in: db)
            try addColumn("parent_dataset_id", "TEXT", to: "datasets", in: db)
            try addColumn("import_progress", "TEXT", to: "datasets", in: db)
        }
        migrator.registerMigration("v13: trial units") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS trial_units (
                    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    trial_id INTEGER NOT NULL,
                    decision BLOB NOT NULL,
                    owner TEXT,
                    attempt INTEGER NOT NULL,
                    expires_at DOUBLE,
                    claimed_at DOUBLE NOT NULL,
                    renewed_at DOUBLE NOT NULL,
                    PRIMARY KEY (job_id, trial_id)
                )
                """)
        }
        return migrator
    }

    /// Version 1's tables. `IF NOT EXISTS`: two processes opening a new store at once must not fail.
    private static func createTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS datasets (
                id TEXT PRIMARY KEY NOT NULL,
                state TEXT NOT NULL,
                name TEXT,
                root TEXT NOT NULL,
                manifest TEXT NOT NULL,
                multi_label BOOLEAN NOT NULL DEFAULT 0,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                images INTEGER,
                labels TEXT,
                summary TEXT,
                failure_reason TEXT
            );
            CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY NOT NULL,
                dataset_id TEXT REFERENCES datasets(id) ON DELETE SET NULL,
                state TEXT NOT NULL,
                manifest TEXT NOT NULL,
                manifest_sha256 TEXT,
                budget_seconds DOUBLE NOT NULL,
                seed INTEGER NOT NULL,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                progress DOUBLE NOT NULL DEFAULT 0,
                used_seconds DOUBLE NOT NULL DEFAULT 0,
                import_seconds DOUBLE,
                trials_done INTEGER NOT NULL DEFAULT 0,
                best_validation_accuracy DOUBLE,
                test_accuracy DOUBLE,
                stop_reason TEXT,
                failure_reason TEXT,
                cancel_requested BOOLEAN NOT NULL DEFAULT 0,
                runner_pid INTEGER
            );
            CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, created_at);
            CREATE INDEX IF NOT EXISTS jobs_by_dataset ON jobs(dataset_id);
            CREATE TABLE IF NOT EXISTS trials (
                job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                trial_id INTEGER NOT NULL,
                rung INTEGER NOT NULL,
                architecture TEXT NOT NULL,
                validation_accuracy DOUBLE,
                seconds DOUBLE NOT NULL,
                error TEXT,
                record TEXT NOT NULL,
                PRIMARY KEY (job_id, trial_id)
            );
            CREATE TABLE IF NOT EXISTS models (
                id TEXT PRIMARY KEY NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                labels TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                channels INTEGER NOT NULL,
                architecture TEXT NOT NULL,
                parameters INTEGER NOT NULL,
                test_accuracy DOUBLE NOT NULL,
                created_at DATETIME NOT NULL
            );
            """)
    }

    /// Adds a column unless a process that opened the store at the same time already did.
    private static func addColumn(_ name: String, _ type: String, to table: String, in db: Database) throws {
        if try !db.columns(in: table).map(\.name).contains(name) { try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(name) \(type)") }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let error as StoreError { throw error } catch { throw StoreError.database("\(error)") }
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let error as StoreError { throw error } catch { throw StoreError.database("\(error)") }
    }

    // MARK: Jobs

    public func insertJob(_ record: JobRecord) throws { try write { try record.insert($0) } }

    public func job(_ id: String) throws -> JobRecord? { try read { try JobRecord.fetchOne($0, key: id) } }

    public func jobs() throws -> [JobRecord] {
        try read { try JobRecord.fetchAll($0, sql: "SELECT * FROM jobs ORDER BY created_at DESC, id DESC") }
    }

    @discardableResult
    public func updateJob(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord {
        try write { db in
            guard var record = try JobRecord.fetchOne(db, key: id) else { throw StoreError.notFound(kind: "job", id: id) }
            try checkFence(db, jobID: id)
            try change(&record)
            record.updatedAt = Date()
            try record.update(db)
            return record
        }
    }

    @discardableResult
    public func requestCancel(_ id: String) throws -> JobRecord {
        try write { db in
            guard var record = try JobRecord.fetchOne(db, key: id) else { throw StoreError.notFound(kind: "job", id: id) }
            if record.state == .queued {
                record.state = .cancelled
                record.stopReason = "cancelled before it started"
                record.updatedAt = Date()
                try record.update(db)
            } else if !record.state.isFinished {
                try db.execute(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ?", arguments: [id])
            }
            return record
        }
    }

    public func isCancelRequested(_ id: String) throws -> Bool {
        try read { try Bool.fetchOne($0, sql: "SELECT cancel_requested FROM jobs WHERE id = ?", arguments: [id]) ?? false }
    }

    public func deleteJob(_ id: String) throws {
        try write { db in
            guard let record = try JobRecord.fetchOne(db, key: id) else { throw StoreError.notFound(kind: "job", id: id) }
            guard record.state.isFinished else {
                throw StoreError.conflict("job '\(id)' is \(record.state.rawValue): cancel it first (POST /v1/jobs/\(id)/cancel or autovision jobs cancel \(id))")
            }
            _ = try JobRecord.deleteOne(db, key: id)
        }
    }

    public func insertLeasedJob(_ record: JobRecord, owner: String, leaseSeconds: Double) throws -> JobLease {
        let lease = JobLease(jobID: record.id, owner: owner, attempt: 1, expiresAt: Date().addingTimeInterval(leaseSeconds))
        var record = record
        record.state = .importing
        try write { db in
            try record.insert(db)
            try Self.setLease(lease, in: db)
        }
        return lease
    }

    public func claimNextJob(owner: String, leaseSeconds: Double) throws -> (record: JobRecord, lease: JobLease)? {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT jobs.id AS id, jobs.lease_attempt AS attempt, datasets.state AS dataset_state, datasets.failure_reason AS dataset_failure
                FROM jobs LEFT JOIN datasets ON datasets.id = jobs.dataset_id
                WHERE jobs.state = 'queued' OR (jobs.state IN ('importing', 'searching', 'training', 'evaluating') AND jobs.lease_owner IS NULL)
                ORDER BY jobs.created_at, jobs.id
                """)
            for row in rows {
                guard var record = try JobRecord.fetchOne(db, key: row["id"] as String) else { continue }
                if record.state == .queued {
                    let datasetState: String? = row["dataset_state"]
                    if datasetState == DatasetState.importing.rawValue { continue }  // waits in `queued`
                    if datasetState == DatasetState.failed.rawValue {
                        record.state = .failed
                        record.failureReason = "dataset import failed: \((row["dataset_failure"] as String?) ?? "see GET /v1/datasets/\(record.datasetID ?? "")")"
                    } else {
                        record.state = .importing
                    }
                }
                record.updatedAt = Date()  // changing hands is a change: a lost unit's time is counted from here
                try record.update(db)
                guard record.state != .failed else { continue }
                let lease = JobLease(jobID: record.id, owner: owner, attempt: (row["attempt"] as Int? ?? 0) + 1,
                                     expiresAt: Date().addingTimeInterval(leaseSeconds))
                try Self.setLease(lease, in: db)
                return (record, lease)
            }
            return nil
        }
    }

    public func advanceLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        let next = JobLease(jobID: lease.jobID, owner: lease.owner, attempt: lease.attempt + 1, expiresAt: Date().addingTimeInterval(seconds))
        try write { db in
            try db.execute(sql: """
                UPDATE jobs SET lease_attempt = ?, lease_expires_at = ?, lease_renewed_at = ? WHERE id = ? AND lease_owner = ? AND lease_attempt = ?
                """, arguments: [next.attempt, next.expiresAt.timeIntervalSince1970, Date().timeIntervalSince1970, lease.jobID, lease.owner, lease.attempt])
            if db.changesCount == 0 { throw StoreError.leaseLost(jobID: lease.jobID) }
        }
        return next
    }

    /// A job its worker left: cancelled when someone asked to, else as `recover` says.
    static func recover(_ record: inout JobRecord, cancelRequested: Bool, losses: Int, with recover: (inout JobRecord, Int) -> Void) {
        if cancelRequested {
            record.state = .cancelled
            record.stopReason = "cancelled"
        } else {
            recover(&record, losses)
        }
    }

    private static func setLease(_ lease: JobLease, in db: Database) throws {
        try db.execute(sql: "UPDATE jobs SET lease_owner = ?, lease_attempt = ?, lease_expires_at = ?, lease_renewed_at = ? WHERE id = ?",
                       arguments: [lease.owner, lease.attempt, lease.expiresAt.timeIntervalSince1970, Date().timeIntervalSince1970, lease.jobID])
    }

    @discardableResult
    public func renewLease(_ lease: JobLease, seconds: Double) throws -> JobLease {
        var renewed = lease
        renewed.expiresAt = Date().addingTimeInterval(seconds)
        try write { db in
            if let trialID = lease.trialID {
                try db.execute(sql: """
                    UPDATE trial_units SET expires_at = ?, renewed_at = ? WHERE job_id = ? AND trial_id = ? AND owner = ? AND attempt = ?
                    """, arguments: [renewed.expiresAt.timeIntervalSince1970, Date().timeIntervalSince1970, lease.jobID, trialID, lease.owner, lease.attempt])
                if db.changesCount == 0 { throw StoreError.leaseLost(jobID: lease.jobID) }
                return
            }
            try db.execute(sql: "UPDATE jobs SET lease_expires_at = ?, lease_renewed_at = ? WHERE id = ? AND lease_owner = ? AND lease_attempt = ?",
                           arguments: [renewed.expiresAt.timeIntervalSince1970, Date().timeIntervalSince1970, lease.jobID, lease.owner, lease.attempt])
            if db.changesCount == 0 { throw StoreError.leaseLost(jobID: lease.jobID) }
        }
        return renewed
    }

    public func releaseLease(_ lease: JobLease) throws {
        try write { db in
            if let trialID = lease.trialID {
                try db.execute(sql: "UPDATE trial_units SET owner = NULL, expires_at = NULL WHERE job_id = ? AND trial_id = ? AND owner = ? AND attempt = ?",
                               arguments: [lease.jobID, trialID, lease.owner, lease.attempt])
                return
            }
            try db.execute(sql: "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND lease_attempt = ?",
                           arguments: [lease.jobID, lease.owner, lease.attempt])
        }
    }

    public func requeueExpiredLeases(_ recover: (inout JobRecord, _ losses: Int) -> Void) throws -> [JobRecord] {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, cancel_requested, lease_renewed_at, lost_unit, unit_losses FROM jobs
                WHERE state NOT IN ('queued', 'succeeded', 'failed', 'cancelled') AND lease_owner IS NOT NULL AND lease_expires_at < ?
                ORDER BY created_at, id
                """, arguments: [Date().timeIntervalSince1970])
            var recovered: [JobRecord] = []
            for row in rows {
                let id: String = row["id"]
                guard var record = try JobRecord.fetchOne(db, key: id) else { continue }
                let unit = JobUnitLoss.unit(of: record)
                let losses = unit == (row["lost_unit"] as String?) ? (row["unit_losses"] as Int? ?? 0) + 1 : 1
                JobUnitLoss.charge(&record, lastRenewal: (row["lease_renewed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
                Self.recover(&record, cancelRequested: row["cancel_requested"], losses: losses, with: recover)
                record.updatedAt = Date()
                try record.update(db)
                try db.execute(sql: """
                    UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, cancel_requested = 0, lost_unit = ?, unit_losses = ? WHERE id = ?
                    """, arguments: [unit, losses, id])
                recovered.append(record)
            }
            return recovered
        }
    }

    public func completeJob(_ record: JobRecord, model: ModelRecord) throws {
        try write { db in
            try checkFence(db, jobID: record.id)
            var record = record
            record.updatedAt = Date()
            try record.update(db)
            try model.save(db)
        }
    }

    // MARK: Plans

    public func savePlan(jobID: String, _ plan: JobPlan) throws {
        let json = String(decoding: try Self.encoder.encode(plan), as: UTF8.self)
        try write { db in
            try checkFence(db, jobID: jobID)
            try db.execute(sql: "INSERT OR REPLACE INTO plans (job_id, plan) VALUES (?, ?)", arguments: [jobID, json])
        }
    }

    public func plan(jobID: String) throws -> JobPlan? {
        guard let json = try read({ try String.fetchOne($0, sql: "SELECT plan FROM plans WHERE job_id = ?", arguments: [jobID]) }) else {
            return nil
        }
        do { return try JSONDecoder().decode(JobPlan.self, from: Data(json.utf8)) } catch {
            throw StoreError.database("the plan of job '\(jobID)' does not decode: \(error)")
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: Values and artifacts

    public func saveValue(jobID: String, key: String, _ value: Data) throws {
        try write { db in
            try checkFence(db, jobID: jobID)
            try db.execute(sql: "INSERT OR REPLACE INTO job_values (job_id, key, value) VALUES (?, ?, ?)", arguments: [jobID, key, value])
        }
    }

    public func value(jobID: String, key: String) throws -> Data? {
        try read { try Data.fetchOne($0, sql: "SELECT value FROM job_values WHERE job_id = ? AND key = ?", arguments: [jobID, key]) }
    }

    /// Artifacts are files of the job's folder beside the database (`ArtifactFiles`), renamed into
    /// place inside the write transaction that checks the fence: the database's write lock keeps the
    /// lease from changing hands between the check and the rename.
    public func writeArtifact(jobID: String, name: String, _ data: Data) throws {
        try artifacts.write(data, jobID: jobID, name: name) { rename in
            try write { db in
                try checkFence(db, jobID: jobID)
                try rename()
            }
        }
    }

    public func writeArtifact(jobID: String, name: String, contentsOf source: URL) throws {
        try artifacts.write(contentsOf: source, jobID: jobID, name: name) { rename in
            try write { db in
                try checkFence(db, jobID: jobID)
                try rename()
            }
        }
    }

    public func readArtifact(jobID: String, name: String) throws -> Data? { artifacts.read(jobID: jobID, name: name) }

    public func artifactFile(jobID: String, name: String) throws -> URL? { artifacts.file(jobID: jobID, name: name) }

    private var artifacts: ArtifactFiles { ArtifactFiles(jobsDirectory: url.deletingLastPathComponent()) }

    /// Dataset artifacts are files of `JOBS_DIR/dataset-artifacts/ID/` (a hard link to a decoded dataset
    /// in the cache, not a copy).
    private var datasetArtifacts: ArtifactFiles {
        ArtifactFiles(jobsDirectory: url.deletingLastPathComponent().appendingPathComponent("dataset-artifacts", isDirectory: true))
    }

    public var isSharedAcrossMachines: Bool { false }

    public func writeDatasetArtifact(datasetID: String, name: String, contentsOf source: URL) throws {
        try datasetArtifacts.write(contentsOf: source, jobID: datasetID, name: name) { try $0() }
    }

    public func datasetArtifactFile(datasetID: String, name: String) throws -> URL? { datasetArtifacts.file(jobID: datasetID, name: name) }

    // MARK: Trials

    public func addTrial(jobID: String, _ trial: TrialRecord) throws {
        try write { db in
            try checkFence(db, jobID: jobID)
            try Self.insert(trial, jobID: jobID, in: db)
        }
    }

    private static func insert(_ trial: TrialRecord, jobID: String, in db: Database) throws {
        let json = String(decoding: try encoder.encode(trial), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO trials (job_id, trial_id, rung, architecture, validation_accuracy, seconds, error, record)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [jobID, trial.id, trial.rung, trial.architecture, trial.error == nil ? trial.validationScore : nil,
                        trial.seconds, trial.error, json])
    }

    public func trials(jobID: String) throws -> [TrialRecord] { try read { try Self.trials(jobID: jobID, in: $0) } }

    private static func trials(jobID: String, in db: Database) throws -> [TrialRecord] {
        let records = try String.fetchAll(db, sql: "SELECT record FROM trials WHERE job_id = ? ORDER BY trial_id", arguments: [jobID])
        let decoder = JSONDecoder()
        return records.compactMap { try? decoder.decode(TrialRecord.self, from: Data($0.utf8)) }
    }

    // MARK: Trial units

    public func claimTrialUnit(jobID: String, owner: String, leaseSeconds: Double,
                               decide: (JobRecord, [TrialRecord], [TrialUnit]) throws -> Data?) throws -> TrialUnit? {
        // A write transaction holds the database's lock: the job and its units cannot change under the decision.
        try write { db in
            try checkFence(db, jobID: jobID)
            guard var job = try JobRecord.fetchOne(db, key: jobID), job.state == .searching else { return nil }
            let units = try Self.trialUnits(jobID: jobID, in: db)
            guard let unit = try TrialUnit.claim(units: units, job: &job, trials: { try Self.trials(jobID: jobID, in: db) }, owner: owner,
                                                 leaseSeconds: leaseSeconds, now: Date(), decide: decide) else { return nil }
            if unit.attempt > 1 { try job.update(db) }
            try db.execute(sql: """
                INSERT OR REPLACE INTO trial_units (job_id, trial_id, decision, owner, attempt, expires_at, claimed_at, renewed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [jobID, unit.trialID, unit.decision, owner, unit.attempt, unit.expiresAt!.timeIntervalSince1970,
                                unit.claimedAt.timeIntervalSince1970, unit.renewedAt.timeIntervalSince1970])
            return unit
        }
    }

    public func finishTrialUnit(_ lease: JobLease, trial: TrialRecord, _ change: (inout JobRecord) -> Void) throws {
        try write { db in
            guard let trialID = lease.trialID, trial.id == trialID,
                  let unit = try Self.trialUnit(jobID: lease.jobID, trialID: trialID, in: db), (unit.owner, unit.attempt) == (lease.owner, lease.attempt),
                  var job = try JobRecord.fetchOne(db, key: lease.jobID), job.state == .searching else {
                throw StoreError.leaseLost(jobID: lease.jobID)
            }
            try Self.insert(trial, jobID: lease.jobID, in: db)
            try db.execute(sql: "DELETE FROM trial_units WHERE job_id = ? AND trial_id = ?", arguments: [lease.jobID, trialID])
            change(&job)
            job.updatedAt = Date()
            try job.update(db)
        }
    }

    public func trialUnits(jobID: String) throws -> [TrialUnit] { try read { try Self.trialUnits(jobID: jobID, in: $0) } }

    private static func trialUnits(jobID: String, in db: Database) throws -> [TrialUnit] {
        try Row.fetchAll(db, sql: "SELECT * FROM trial_units WHERE job_id = ? ORDER BY trial_id", arguments: [jobID]).map(trialUnit)
    }

    private static func trialUnit(jobID: String, trialID: Int, in db: Database) throws -> TrialUnit? {
        try Row.fetchOne(db, sql: "SELECT * FROM trial_units WHERE job_id = ? AND trial_id = ?", arguments: [jobID, trialID]).map(trialUnit)
    }

    private static func trialUnit(_ row: Row) -> TrialUnit {
        let date = { (seconds: Double) in Date(timeIntervalSince1970: seconds) }
        return TrialUnit(jobID: row["job_id"], trialID: row["trial_id"], decision: row["decision"], owner: row["owner"], attempt: row["attempt"],
                         expiresAt: (row["expires_at"] as Double?).map(date), claimedAt: date(row["claimed_at"]), renewedAt: date(row["renewed_at"]))
    }

    // MARK: Models

    public func model(_ id: String) throws -> ModelRecord? { try read { try ModelRecord.fetchOne($0, key: id) } }

    public func models() throws -> [ModelRecord] {
        try read { try ModelRecord.fetchAll($0, sql: "SELECT * FROM models ORDER BY created_at DESC, id DESC") }
    }

    // MARK: Datasets

    public func insertDataset(_ record: DatasetRecord) throws { try write { try record.insert($0) } }

    public func dataset(_ id: String) throws -> DatasetRecord? { try read { try DatasetRecord.fetchOne($0, key: id) } }

    public func datasets() throws -> [DatasetRecord] {
        try read { try DatasetRecord.fetchAll($0, sql: "SELECT * FROM datasets ORDER BY created_at DESC, id DESC") }
    }

    @discardableResult
    public func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try write { db in
            guard var record = try DatasetRecord.fetchOne(db, key: id) else { throw StoreError.notFound(kind: "dataset", id: id) }
            try change(&record)
            record.updatedAt = Date()
            try record.update(db)
            return record
        }
    }

    public func claimNextImport(owner: String, leaseSeconds: Double, maximumAttempts: Int) throws -> DatasetRecord? {
        try write { db in
            let now = Date()
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, import_attempts FROM datasets
                WHERE state = 'importing' AND (import_owner IS NULL OR import_expires_at < ?) ORDER BY created_at, id
                """, arguments: [now.timeIntervalSince1970])
            for row in rows {
                guard var record = try DatasetRecord.fetchOne(db, key: row["id"] as String) else { continue }
                let attempts: Int = row["import_attempts"]
                if attempts >= maximumAttempts {
                    record.state = .failed
                    record.failureReason = DatasetImportLease.failure(attempts: attempts)
                    record.updatedAt = now
                    try record.update(db)
                    try db.execute(sql: "UPDATE datasets SET import_owner = NULL, import_expires_at = NULL WHERE id = ?", arguments: [record.id])
                    continue
                }
                try db.execute(sql: "UPDATE datasets SET import_owner = ?, import_expires_at = ?, import_attempts = ? WHERE id = ?",
                               arguments: [owner, now.addingTimeInterval(leaseSeconds).timeIntervalSince1970, attempts + 1, record.id])
                return record
            }
            return nil
        }
    }

    public func renewImport(_ id: String, owner: String, seconds: Double) throws {
        try write { db in
            try db.execute(sql: "UPDATE datasets SET import_expires_at = ? WHERE id = ? AND import_owner = ? AND state = 'importing'",
                           arguments: [Date().addingTimeInterval(seconds).timeIntervalSince1970, id, owner])
            if db.changesCount == 0 { throw StoreError.conflict(DatasetImportLease.lost(id)) }
        }
    }

    @discardableResult
    public func finishImport(_ id: String, owner: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try write { db in
            guard var record = try DatasetRecord.fetchOne(db, key: id) else { throw StoreError.notFound(kind: "dataset", id: id) }
            let holder = try String.fetchOne(db, sql: "SELECT import_owner FROM datasets WHERE id = ?", arguments: [id])
            guard holder == owner, record.state == .importing else { throw StoreError.conflict(DatasetImportLease.lost(id)) }
            try change(&record)
            record.updatedAt = Date()
            try record.update(db)
            try db.execute(sql: "UPDATE datasets SET import_owner = NULL, import_expires_at = NULL WHERE id = ?", arguments: [id])
            return record
        }
    }

    public func saveResource(kind: String, id: String, _ document: Data) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO resources (kind, id, created_at, document) VALUES (?, ?, ?, ?)
                ON CONFLICT (kind, id) DO UPDATE SET document = excluded.document
                """, arguments: [kind, id, Date().timeIntervalSince1970, document])
        }
    }

    public func resource(kind: String, id: String) throws -> Data? {
        try read { try Data.fetchOne($0, sql: "SELECT document FROM resources WHERE kind = ? AND id = ?", arguments: [kind, id]) }
    }

    public func resources(kind: String) throws -> [Data] {
        try read { try Data.fetchAll($0, sql: "SELECT document FROM resources WHERE kind = ? ORDER BY created_at, id", arguments: [kind]) }
    }

    @discardableResult public func deleteResource(kind: String, id: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM resources WHERE kind = ? AND id = ?", arguments: [kind, id])
            return db.changesCount > 0
        }
    }

    public func deleteDataset(_ id: String) throws {
        try write { db in
            guard try DatasetRecord.exists(db, key: id) else { throw StoreError.notFound(kind: "dataset", id: id) }
            let users = try String.fetchAll(db, sql: """
                SELECT id FROM jobs WHERE dataset_id = ? AND state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at
                """, arguments: [id])
            if !users.isEmpty {
                throw StoreError.conflict("dataset '\(id)' is used by unfinished job(s) \(users.joined(separator: ", ")): cancel them or wait until they finish")
            }
            _ = try DatasetRecord.deleteOne(db, key: id)
        }
        try? FileManager.default.removeItem(at: datasetArtifacts.jobsDirectory.appendingPathComponent(id, isDirectory: true))
    }
}
