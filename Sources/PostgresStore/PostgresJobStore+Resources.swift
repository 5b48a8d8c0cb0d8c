import Foundation
import JobService
import PostgresNIO

/// Resources of the compatible APIs: one row per (kind, ID), the document as the server wrote it.
extension PostgresJobStore {
    public func saveResource(kind: String, id: String, _ document: Data) throws {
        try connections.transaction { transaction in
            try transaction.execute("""
                INSERT INTO resources (kind, id, created_at, document) VALUES (\(kind), \(id), \(Date().timeIntervalSince1970), \(document))
                ON CONFLICT (kind, id) DO UPDATE SET document = EXCLUDED.document
                """)
        }
    }

    public func resource(kind: String, id: String) throws -> Data? {
        try connections.transaction(reading: true) { transaction in
            try transaction.rows("SELECT document FROM resources WHERE kind = \(kind) AND id = \(id)").first.map {
                Data(buffer: try $0.decode(ByteBuffer.self))
            }
        }
    }

    public func resources(kind: String) throws -> [Data] {
        try connections.transaction(reading: true) { transaction in
            try transaction.rows("SELECT document FROM resources WHERE kind = \(kind) ORDER BY created_at, id").map {
                Data(buffer: try $0.decode(ByteBuffer.self))
            }
        }
    }

    @discardableResult public func deleteResource(kind: String, id: String) throws -> Bool {
        try connections.transaction { transaction in
            try transaction.execute("DELETE FROM resources WHERE kind = \(kind) AND id = \(id)") > 0
        }
    }
}
