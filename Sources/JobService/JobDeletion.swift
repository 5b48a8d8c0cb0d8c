import Foundation

extension JobStore {
    /// Deletes a finished job: its rows in the store, then its folder `JOBS_DIR/JOB_ID/` (model,
    /// report, logs). `DELETE /v1/jobs/{id}` and `autovision jobs delete` both delete through it.
    /// - Parameters:
    ///   - id: the job's ID.
    ///   - jobsDirectory: the jobs directory holding the job's folder.
    /// - Throws: the store's errors (`StoreError.notFound`, or `.conflict` for a job not finished:
    ///   its folder is then left alone). A folder already gone is not an error.
    public func deleteJob(_ id: String, withFolderIn jobsDirectory: URL) throws {
        try deleteJob(id)
        try? FileManager.default.removeItem(at: JobFolder(jobsDirectory: jobsDirectory, id: id).url)
    }
}
