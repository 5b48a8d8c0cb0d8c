import Foundation
import Hummingbird

/// Counts the dataset uploads in progress and refuses one beyond the limit (429 with Retry-After),
/// so that a handful of slow or huge uploads cannot hold all of the server's memory, disk and connections.
final class UploadSlots: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var inUse = 0

    init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `body` holding one slot; throws the 429 at once when every slot is taken.
    func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        guard acquire() else {
            throw APIError(.tooManyRequests, "\(limit) dataset upload(s) are already in progress, the most this server receives at once: "
                + "retry after the others finish (serve --max-concurrent-uploads raises the limit)", headers: [.retryAfter: "5"])
        }
        defer { release() }
        return try await body()
    }

    private func acquire() -> Bool {
        lock.withLock {
            guard inUse < limit else { return false }
            inUse += 1
            return true
        }
    }

    private func release() {
        lock.withLock { inUse -= 1 }
    }
}

/// Free space on the jobs directory's file system, checked around a zip upload (507 when too low).
struct DiskSpace: Sendable {
    let folder: URL
    /// Bytes an upload must leave free.
    let reserve: Int64

    /// Bytes available to this process on the file system holding `folder` (its nearest existing ancestor).
    func available() -> Int64? {
        var url = folder
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: url.path),
              let free = attributes[.systemFreeSize] as? NSNumber
        else { return nil }
        return free.int64Value
    }

    /// Bytes that may still be written before the reserve is reached (`Int64.max` when unknown).
    func room() -> Int64 {
        guard let available = available() else { return .max }
        return max(0, available - reserve)
    }

    /// Throws the 507 unless `bytes` more fit above the reserve.
    func require(_ bytes: Int64, for what: String) throws {
        let room = room()
        guard bytes <= room else { throw Self.insufficient(what, room: room) }
    }

    static func insufficient(_ what: String, room: Int64) -> APIError {
        APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"),
                 "not enough disk space on the server for \(what): \(room) bytes may be used before the space the job store needs; "
                     + "retry with a smaller upload, or free space on the server")
    }
}
