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

    /// The file name of the store in a jobs folder.
    public static let fileName = "autovision.sqlite"

    /// Opens (creating and migrating when needed) the store of `jobsDirectory`.
    public init(jobsDirectory: URL, busyTimeout: TimeInterval = 30) throws {
        try FileManager.default.createDirectory(at: jobsDirectory, withIntermediateDirectories: true)
        url = jobsDirectory.appendingPathComponent(Self.fileName)
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

    public func claimNextJob(pid: Int32) throws -> JobRecord? {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT jobs.id AS id, datasets.state AS dataset_state, datasets.failure_reason AS dataset_failure
                FROM jobs LEFT JOIN datasets ON datasets.id = jobs.dataset_id
                WHERE jobs.state = 'queued' ORDER BY jobs.created_at, jobs.id
                """)
            for row in rows {
                let id: String = row["id"]
                guard var record = try JobRecord.fetchOne(db, key: id) else { continue }
                let datasetState: String? = row["dataset_state"]
                if record.datasetID != nil && datasetState == nil {
                    record.state = .failed
                    record.failureReason = "its dataset was deleted before the job started"
                } else if datasetState == DatasetState.importing.rawValue {
                    continue  // waits in `queued`
                } else if datasetState == DatasetState.failed.rawValue {
                    record.state = .failed
                    record.failureReason = "dataset import failed: \((row["dataset_failure"] as String?) ?? "see GET /v1/datasets/\(record.datasetID ?? "")")"
                } else {
                    record.state = .importing
                }
                record.updatedAt = Date()
                try record.update(db)
                if record.state == .importing {
                    try db.execute(sql: "UPDATE jobs SET runner_pid = ? WHERE id = ?", arguments: [pid, id])
                    return record
                }
            }
            return nil
        }
    }

    /// Marks the job as run by this process (`autovision train`), so a server's restart does not take it for orphaned.
    public func setRunner(jobID: String, pid: Int32) throws {
        try write { try $0.execute(sql: "UPDATE jobs SET runner_pid = ? WHERE id = ?", arguments: [pid, jobID]) }
    }

    public func recoverOrphanedJobs(_ recover: (inout JobRecord) -> Void) throws -> [JobRecord] {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, runner_pid FROM jobs WHERE state NOT IN ('queued', 'succeeded', 'failed', 'cancelled')
                """)
            var recovered: [JobRecord] = []
            for row in rows {
                let pid: Int32? = row["runner_pid"]
                if let pid, pid != getpid(), processIsAlive(pid) { continue }
                if pid == getpid() { continue }
                guard var record = try JobRecord.fetchOne(db, key: row["id"] as String) else { continue }
                recover(&record)
                record.updatedAt = Date()
                try record.update(db)
                try db.execute(sql: "UPDATE jobs SET runner_pid = NULL WHERE id = ?", arguments: [record.id])
                recovered.append(record)
            }
            return recovered
        }
    }

    public func completeJob(_ record: JobRecord, model: ModelRecord) throws {
        try write { db in
            var record = record
            record.updatedAt = Date()
            try record.update(db)
            try model.save(db)
        }
    }

    // MARK: Plans

    public func savePlan(jobID: String, _ plan: JobPlan) throws {
        let json = String(decoding: try Self.encoder.encode(plan), as: UTF8.self)
        try write { try $0.execute(sql: "INSERT OR REPLACE INTO plans (job_id, plan) VALUES (?, ?)", arguments: [jobID, json]) }
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

    // MARK: Trials

    public func addTrial(jobID: String, _ trial: TrialRecord) throws {
        let json = String(decoding: try Self.encoder.encode(trial), as: UTF8.self)
        try write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO trials (job_id, trial_id, rung, architecture, validation_accuracy, seconds, error, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [jobID, trial.id, trial.rung, trial.architecture, trial.error == nil ? trial.validationAccuracy : nil,
                            trial.seconds, trial.error, json])
        }
    }

    public func trials(jobID: String) throws -> [TrialRecord] {
        let records = try read { try String.fetchAll($0, sql: "SELECT record FROM trials WHERE job_id = ? ORDER BY trial_id", arguments: [jobID]) }
        let decoder = JSONDecoder()
        return records.compactMap { try? decoder.decode(TrialRecord.self, from: Data($0.utf8)) }
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
    }
}

/// `true` when a process with this ID exists (signal 0 delivers nothing).
func processIsAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}
