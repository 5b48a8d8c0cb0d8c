import Foundation
import JobService
import PostgresNIO

/// A Codable record kept whole as JSONB: written with sorted keys, read back as text.
enum JSONRecord {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }

    /// The record with primary key `id` in `table` (`jobs`, `datasets`), or `nil`.
    /// - Parameter locking: lock the row for this transaction (`FOR UPDATE`).
    static func fetch<T: Decodable>(_ type: T.Type, from table: String, id: String, locking: Bool,
                                    in transaction: PostgresTransaction) throws -> T? {
        var binds = PostgresBindings()
        binds.append(id)
        let sql = "SELECT record::text FROM \(table) WHERE id = $1\(locking ? " FOR UPDATE" : "")"
        return try transaction.rows(PostgresQuery(unsafeSQL: sql, binds: binds)).first.map { try decode(type, $0) }
    }

    /// Decodes the first column of `row` (selected as `column::text`).
    static func decode<T: Decodable>(_ type: T.Type, _ row: PostgresRow) throws -> T {
        try JSONDecoder().decode(type, from: Data(try row.decode(String.self).utf8))
    }
}

/// The `jobs` table's rows: the record as JSONB, with the columns the store queries kept beside it.
enum JobRows {
    static func insert(_ record: JobRecord, in transaction: PostgresTransaction) throws {
        try transaction.execute("""
            INSERT INTO jobs (id, dataset_id, state, created_at, record)
            VALUES (\(record.id), \(record.datasetID), \(record.state.rawValue), \(record.createdAt.timeIntervalSince1970), \(try JSONRecord.encode(record))::jsonb)
            """)
    }

    /// - Parameter locking: lock the row for this transaction (`FOR UPDATE`).
    static func fetch(_ id: String, in transaction: PostgresTransaction, locking: Bool = false) throws -> JobRecord? {
        try JSONRecord.fetch(JobRecord.self, from: "jobs", id: id, locking: locking, in: transaction)
    }

    static func save(_ record: JobRecord, in transaction: PostgresTransaction) throws {
        try transaction.execute("""
            UPDATE jobs SET record = \(try JSONRecord.encode(record))::jsonb, state = \(record.state.rawValue), dataset_id = \(record.datasetID)
            WHERE id = \(record.id)
            """)
    }

    /// Gives job `jobID` to `owner` for `seconds` from the database's now.
    static func setLease(jobID: String, owner: String, attempt: Int, seconds: Double, in transaction: PostgresTransaction) throws -> JobLease {
        let rows = try transaction.rows("""
            UPDATE jobs SET lease_owner = \(owner), lease_attempt = \(attempt), lease_expires_at = now() + make_interval(secs => \(seconds)),
                lease_renewed_at = now()
            WHERE id = \(jobID) RETURNING lease_expires_at
            """)
        guard let expiresAt = try rows.first?.decode(Date.self) else { throw StoreError.notFound(kind: "job", id: jobID) }
        return JobLease(jobID: jobID, owner: owner, attempt: attempt, expiresAt: expiresAt)
    }
}

/// The `datasets` table's rows, kept as `JobRows` keeps jobs.
enum DatasetRows {
    static func insert(_ record: DatasetRecord, in transaction: PostgresTransaction) throws {
        try transaction.execute("""
            INSERT INTO datasets (id, state, created_at, record)
            VALUES (\(record.id), \(record.state.rawValue), \(record.createdAt.timeIntervalSince1970), \(try JSONRecord.encode(record))::jsonb)
            """)
    }

    static func fetch(_ id: String, in transaction: PostgresTransaction, locking: Bool = false) throws -> DatasetRecord? {
        try JSONRecord.fetch(DatasetRecord.self, from: "datasets", id: id, locking: locking, in: transaction)
    }

    static func save(_ record: DatasetRecord, in transaction: PostgresTransaction) throws {
        try transaction.execute("""
            UPDATE datasets SET record = \(try JSONRecord.encode(record))::jsonb, state = \(record.state.rawValue) WHERE id = \(record.id)
            """)
    }
}
