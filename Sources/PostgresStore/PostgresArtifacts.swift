import Crypto
import Datasets
import Foundation
import JobService
import PostgresNIO

/// Artifacts in PostgreSQL: content-addressed chunks (`artifact_chunks`, by the SHA-256 of the whole
/// artifact) and a name per job (`artifacts`) or per dataset (`dataset_artifacts`), so a worker on
/// another machine needs nothing but the database. Files read are cached in `cacheDirectory` by hash,
/// verified when they arrive.
final class PostgresArtifacts: Sendable {
    /// Whose artifact: a job's or a dataset's, each named in a table of its own.
    struct Owner {
        var table: String
        var column: String
        var id: String

        static func job(_ id: String) -> Owner { Owner(table: "artifacts", column: "job_id", id: id) }
        static func dataset(_ id: String) -> Owner { Owner(table: "dataset_artifacts", column: "dataset_id", id: id) }
    }

    /// Bytes per chunk row: 4 MiB.
    static let chunkSize = 4 << 20

    let connections: PostgresConnections
    let cacheDirectory: URL

    init(connections: PostgresConnections, cacheDirectory: URL) {
        self.connections = connections
        self.cacheDirectory = cacheDirectory
    }

    /// An artifact's bytes, in memory or in a file, with their SHA-256.
    struct Content {
        var data: Data?
        var file: URL?
        var sha256: String
        var size: Int

        init(data: Data) {
            self.data = data
            sha256 = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            size = data.count
        }

        init(file: URL) throws {
            self.file = file
            var hasher = SHA256()
            var size = 0
            try Self.forEachChunk(of: file) { chunk in
                hasher.update(data: chunk)
                size += chunk.count
            }
            sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            self.size = size
        }

        var chunks: Int { max(1, (size + PostgresArtifacts.chunkSize - 1) / PostgresArtifacts.chunkSize) }

        func forEachChunk(_ body: (Data) throws -> Void) throws {
            if let data {
                var start = 0
                repeat {
                    try body(data.subdata(in: start..<min(data.count, start + PostgresArtifacts.chunkSize)))
                    start += PostgresArtifacts.chunkSize
                } while start < data.count
            } else if let file {
                try Self.forEachChunk(of: file, body)
            }
        }

        private static func forEachChunk(of file: URL, _ body: (Data) throws -> Void) throws {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            var any = false
            while let chunk = try handle.read(upToCount: PostgresArtifacts.chunkSize), !chunk.isEmpty {
                any = true
                try body(chunk)
            }
            if !any { try body(Data()) }
        }
    }

    /// Uploads `content`'s chunks (idempotent, outside any lock), then names it artifact `name` of
    /// `owner` in a transaction that first runs `check` (the writer's fence) and finds every chunk in
    /// place; the content it replaces is deleted when nothing else names it.
    /// - Throws: what `check` throws; `StoreError.database` when the chunks keep going missing.
    func write(_ content: Content, owner: Owner, name: String, check: (PostgresTransaction) throws -> Void) throws {
        let (table, column, id) = (owner.table, owner.column, owner.id)
        for _ in 0..<3 {
            try upload(content)
            let named = try connections.transaction { transaction -> Bool in
                try check(transaction)
                let stored = try transaction.rows("SELECT count(*) FROM artifact_chunks WHERE sha256 = \(content.sha256)").first?.decode(Int.self)
                guard stored == content.chunks else { return false }  // deleted meanwhile as unreferenced: upload again
                let previous = try transaction.rows("""
                    SELECT sha256 FROM \(unescaped: table) WHERE \(unescaped: column) = \(id) AND name = \(name)
                    """).map { try $0.decode(String.self) }
                try transaction.execute("""
                    INSERT INTO \(unescaped: table) (\(unescaped: column), name, sha256, size, chunks)
                    VALUES (\(id), \(name), \(content.sha256), \(content.size), \(content.chunks))
                    ON CONFLICT (\(unescaped: column), name) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, chunks = EXCLUDED.chunks
                    """)
                try Self.deleteUnreferenced(previous.filter { $0 != content.sha256 }, in: transaction)
                return true
            }
            if named {
                try? cache(content)
                return
            }
        }
        throw StoreError.database("artifact \(name) of \(id): its chunks were deleted while it was written, three times")
    }

    /// A local file with artifact `name` of `owner`: the cached one, or downloaded and verified first.
    /// `nil` when it has no such artifact.
    /// - Throws: `StoreError.database` when the chunks are missing or do not hash to the artifact's SHA-256.
    func file(owner: Owner, name: String) throws -> URL? {
        let row = try connections.transaction(reading: true) { transaction in
            try transaction.rows("""
                SELECT sha256, chunks FROM \(unescaped: owner.table) WHERE \(unescaped: owner.column) = \(owner.id) AND name = \(name)
                """).first?.decode((String, Int).self)
        }
        guard let (sha256, chunks) = row else { return nil }
        let url = cacheDirectory.appendingPathComponent(sha256)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        try download(sha256: sha256, chunks: chunks, to: url)
        return url
    }

    /// Deletes the chunks of `contents` that no artifact, of a job or of a dataset, names any more.
    static func deleteUnreferenced(_ contents: [String], in transaction: PostgresTransaction) throws {
        for sha256 in Set(contents) {
            try transaction.execute("""
                DELETE FROM artifact_chunks WHERE sha256 = \(sha256)
                AND NOT EXISTS (SELECT 1 FROM artifacts WHERE artifacts.sha256 = \(sha256))
                AND NOT EXISTS (SELECT 1 FROM dataset_artifacts WHERE dataset_artifacts.sha256 = \(sha256))
                """)
        }
    }

    /// Uploads the chunks of `content` the database does not hold whole yet (a job's copy of its
    /// dataset's decoded images, or a checkpoint written again, sends nothing).
    private func upload(_ content: Content) throws {
        let stored = try connections.transaction(reading: true) { transaction in
            try transaction.rows("SELECT count(*) FROM artifact_chunks WHERE sha256 = \(content.sha256)").first?.decode(Int.self)
        }
        guard stored != content.chunks else { return }
        var index = 0
        try content.forEachChunk { chunk in
            try connections.transaction { transaction in
                try transaction.execute("""
                    INSERT INTO artifact_chunks (sha256, index, bytes) VALUES (\(content.sha256), \(index), \(chunk)) ON CONFLICT DO NOTHING
                    """)
            }
            index += 1
        }
    }

    private func download(sha256: String, chunks: Int, to url: URL) throws {
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        try FileWriting.replace(url) { temporary in
            FileManager.default.createFile(atPath: temporary.path, contents: nil)
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            var hasher = SHA256()
            for index in 0..<chunks {
                let row = try connections.transaction(reading: true) { transaction in
                    try transaction.rows("SELECT bytes FROM artifact_chunks WHERE sha256 = \(sha256) AND index = \(index)").first
                }
                guard let row else { throw StoreError.database("artifact \(sha256): chunk \(index) of \(chunks) is missing") }
                let bytes = Data(buffer: try row.decode(ByteBuffer.self))
                hasher.update(data: bytes)
                try handle.write(contentsOf: bytes)
            }
            let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            guard actual == sha256 else { throw StoreError.database("artifact \(sha256): its chunks hash to \(actual)") }
        }
    }

    /// Keeps what this machine just wrote in the cache, so it is not downloaded again: a hard link
    /// to a file, else a copy.
    private func cache(_ content: Content) throws {
        let url = cacheDirectory.appendingPathComponent(content.sha256)
        guard !FileManager.default.fileExists(atPath: url.path) else { return }
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        try FileWriting.replace(url) { temporary in
            if let data = content.data {
                try data.write(to: temporary)
            } else if let file = content.file, link(file.path, temporary.path) != 0 {
                try FileManager.default.copyItem(at: file, to: temporary)
            }
        }
    }
}
