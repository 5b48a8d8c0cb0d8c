import ArgumentParser
import Foundation
import JobService
import PostgresStore

/// The job store a command opens: `--store URL` (`postgres://USER@HOST[:PORT]/DATABASE` or
/// `sqlite:PATH`), or by default the SQLite store of `--jobs-dir`. With PostgreSQL, `--jobs-dir` is
/// only this machine's cache of the store's artifacts and the jobs' exported files.
enum StoreLocation {
    static let help = ArgumentHelp("The job store: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or sqlite:PATH (default: "
                                   + "the SQLite store in --jobs-dir). With PostgreSQL, --jobs-dir is only this machine's cache.",
                                   valueName: "URL")

    /// - Throws: `ValidationError` for a URL of neither kind; `StoreError` when the store cannot be opened.
    static func open(_ store: String?, jobsDirectory: URL) throws -> any JobStore {
        guard let store else { return try SQLiteJobStore(jobsDirectory: jobsDirectory) }
        if store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") {
            return try PostgresJobStore(url: store, cacheDirectory: jobsDirectory)
        }
        if store.hasPrefix("sqlite:") {
            let path = String(store.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--store sqlite:PATH needs the database file's path") }
            return try SQLiteJobStore(databaseFile: URL(fileURLWithPath: path))
        }
        throw ValidationError("--store '\(store)': write postgres://USER@HOST/DATABASE or sqlite:PATH")
    }
}
