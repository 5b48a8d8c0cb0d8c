import Foundation

/// A job's artifacts (checkpoints) as files of its folder, `JOBS_DIR/JOB_ID/NAME`: what the stores'
/// `writeArtifact` / `readArtifact` keep beside the database.
struct ArtifactFiles: Sendable {
    let jobsDirectory: URL

    func url(jobID: String, name: String) -> URL {
        jobsDirectory.appendingPathComponent(jobID, isDirectory: true).appendingPathComponent(name)
    }

    /// Writes `data` under a temporary name, then has `commit` run the rename into place: a store
    /// runs it inside the transaction that checks the writer's fence, so the lease cannot change
    /// hands between the check and the rename. The file is whole or absent.
    /// - Throws: `StoreError.database` when the file cannot be written or renamed; what `commit` throws.
    func write(_ data: Data, jobID: String, name: String, commit: (_ rename: () throws -> Void) throws -> Void) throws {
        let destination = url(jobID: jobID, name: name)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: temporary)
        } catch {
            throw StoreError.database("cannot write \(temporary.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        try commit {
            guard rename(temporary.path, destination.path) == 0 else {
                throw StoreError.database("cannot rename \(temporary.path) to \(destination.path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func read(jobID: String, name: String) -> Data? { FileManager.default.contents(atPath: url(jobID: jobID, name: name).path) }
}
