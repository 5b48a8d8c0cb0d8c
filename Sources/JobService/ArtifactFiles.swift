import Datasets
import Foundation

/// A job's artifacts (checkpoints, its decoded dataset) as files of its folder, `JOBS_DIR/JOB_ID/NAME`:
/// what the stores' `writeArtifact` / `readArtifact` / `artifactFile` keep beside the database.
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

    /// Puts the file `source` in place as artifact `name` the same way (`write(_:jobID:name:commit:)`):
    /// a hard link to it when it is on the same file system, so a large decoded dataset is not copied,
    /// else a copy. `source` is left as it is.
    /// - Throws: `StoreError.database` when it can be neither linked nor copied, or not renamed; what `commit` throws.
    func write(contentsOf source: URL, jobID: String, name: String, commit: (_ rename: () throws -> Void) throws -> Void) throws {
        let destination = url(jobID: jobID, name: name)
        do {
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileWriting.replace(destination, writingWith: { temporary in
                if link(source.path, temporary.path) != 0 { try FileManager.default.copyItem(at: source, to: temporary) }
            }, commit: commit)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database("cannot write \(destination.path) from \(source.path): \(error)")
        }
    }

    /// The file of artifact `name`, or `nil` when there is none.
    func file(jobID: String, name: String) -> URL? {
        let url = url(jobID: jobID, name: name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    func read(jobID: String, name: String) -> Data? { FileManager.default.contents(atPath: url(jobID: jobID, name: name).path) }
}
