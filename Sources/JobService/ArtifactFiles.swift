import Datasets
import Foundation

/// A job's artifacts (checkpoints) as files of its folder, `JOBS_DIR/JOB_ID/NAME`: what the stores'
/// `writeArtifact` / `readArtifact` keep beside the database.
struct ArtifactFiles: Sendable {
    let jobsDirectory: URL

    func url(jobID: String, name: String) -> URL {
        jobsDirectory.appendingPathComponent(jobID, isDirectory: true).appendingPathComponent(name)
    }

    /// Writes `data` under a temporary name, then has `commit` run the rename into place
    /// (`FileWriting.replace`): a store runs it inside the transaction that checks the writer's
    /// fence, so the lease cannot change hands between the check and the rename. The file is whole or absent.
    /// - Throws: `StoreError.database` when the file cannot be written or renamed; what `commit` throws.
    func write(_ data: Data, jobID: String, name: String, commit: (_ rename: () throws -> Void) throws -> Void) throws {
        let destination = url(jobID: jobID, name: name)
        do {
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileWriting.replace(destination, writingWith: { try data.write(to: $0) }, commit: commit)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database("cannot write \(destination.path): \(error)")
        }
    }

    func read(jobID: String, name: String) -> Data? { FileManager.default.contents(atPath: url(jobID: jobID, name: name).path) }
}
