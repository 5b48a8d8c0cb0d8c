import Foundation
import JobService
import PostgresNIO

extension PostgresJobStore {
    public func insertDataset(_ record: DatasetRecord) throws {
        try connections.transaction { try DatasetRows.insert(record, in: $0) }
    }

    public func dataset(_ id: String) throws -> DatasetRecord? {
        try connections.transaction(reading: true) { try DatasetRows.fetch(id, in: $0) }
    }

    public func datasets() throws -> [DatasetRecord] {
        try connections.transaction(reading: true) { transaction in
            try transaction.rows("SELECT record::text FROM datasets ORDER BY created_at DESC, id DESC").map {
                try JSONRecord.decode(DatasetRecord.self, $0)
            }
        }
    }

    @discardableResult
    public func updateDataset(_ id: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try connections.transaction { transaction in
            guard var record = try DatasetRows.fetch(id, in: transaction, locking: true) else { throw StoreError.notFound(kind: "dataset", id: id) }
            try change(&record)
            record.updatedAt = transaction.now
            try DatasetRows.save(record, in: transaction)
            return record
        }
    }

    public func claimNextImport(owner: String, leaseSeconds: Double, maximumAttempts: Int) throws -> DatasetRecord? {
        try connections.transaction { transaction in
            let rows = try transaction.rows("""
                SELECT id, import_attempts FROM datasets
                WHERE state = 'importing' AND (import_owner IS NULL OR import_expires_at < now())
                ORDER BY created_at, id
                LIMIT 16
                FOR UPDATE SKIP LOCKED
                """)
            for row in rows {
                let (id, attempts) = try row.decode((String, Int).self)
                guard var record = try DatasetRows.fetch(id, in: transaction) else { continue }
                if attempts >= maximumAttempts {
                    record.state = .failed
                    record.failureReason = DatasetImportLease.failure(attempts: attempts)
                    record.updatedAt = transaction.now
                    try DatasetRows.save(record, in: transaction)
                    try transaction.execute("UPDATE datasets SET import_owner = NULL, import_expires_at = NULL WHERE id = \(id)")
                    continue
                }
                try transaction.execute("""
                    UPDATE datasets SET import_owner = \(owner), import_expires_at = now() + make_interval(secs => \(leaseSeconds)),
                        import_attempts = \(attempts + 1)
                    WHERE id = \(id)
                    """)
                return record
            }
            return nil
        }
    }

    public func renewImport(_ id: String, owner: String, seconds: Double) throws {
        try connections.transaction { transaction in
            let changed = try transaction.execute("""
                UPDATE datasets SET import_expires_at = now() + make_interval(secs => \(seconds))
                WHERE id = \(id) AND import_owner = \(owner) AND state = 'importing'
                """)
            if changed == 0 { throw StoreError.conflict(DatasetImportLease.lost(id)) }
        }
    }

    @discardableResult
    public func finishImport(_ id: String, owner: String, _ change: (inout DatasetRecord) throws -> Void) throws -> DatasetRecord {
        try connections.transaction { transaction in
            let holder = try transaction.rows("SELECT import_owner FROM datasets WHERE id = \(id) FOR UPDATE").first?.decode(String?.self)
            guard var record = try DatasetRows.fetch(id, in: transaction) else { throw StoreError.notFound(kind: "dataset", id: id) }
            guard holder == owner, record.state == .importing else { throw StoreError.conflict(DatasetImportLease.lost(id)) }
            try change(&record)
            record.updatedAt = transaction.now
            try DatasetRows.save(record, in: transaction)
            try transaction.execute("UPDATE datasets SET import_owner = NULL, import_expires_at = NULL WHERE id = \(id)")
            return record
        }
    }

    public func deleteDataset(_ id: String) throws {
        try connections.transaction { transaction in
            guard try DatasetRows.fetch(id, in: transaction, locking: true) != nil else { throw StoreError.notFound(kind: "dataset", id: id) }
            let users = try transaction.rows("""
                SELECT id FROM jobs WHERE dataset_id = \(id) AND state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at
                """).map { try $0.decode(String.self) }
            if !users.isEmpty {
                throw StoreError.conflict("dataset '\(id)' is used by unfinished job(s) \(users.joined(separator: ", ")): cancel them or wait until they finish")
            }
            // The finished jobs that used it keep their records without it, as the column's ON DELETE SET NULL does.
            try transaction.execute("UPDATE jobs SET record = record - 'dataset_id' WHERE dataset_id = \(id)")
            try transaction.execute("DELETE FROM datasets WHERE id = \(id)")
            let contents = try transaction.rows("DELETE FROM dataset_artifacts WHERE dataset_id = \(id) RETURNING sha256").map { try $0.decode(String.self) }
            try PostgresArtifacts.deleteUnreferenced(contents, in: transaction)
        }
    }
}
