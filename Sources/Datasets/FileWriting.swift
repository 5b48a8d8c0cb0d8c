import Foundation

/// Writes files so that a killed process never leaves a half-written file under the real name: the
/// bytes go to a temporary file beside the destination, which is then renamed over it (a rename
/// within one folder is atomic on POSIX file systems).
public enum FileWriting {
    /// Why the finished temporary file could not replace the destination.
    public struct RenameFailure: Error, CustomStringConvertible, Sendable {
        /// The destination's path.
        public var path: String
        /// `strerror` of the failed `rename(2)`.
        public var reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// The temporary file `destination` is written to first: `.NAME.PID.RANDOM.tmp` in the same folder
    /// (unique per call, so two threads writing one destination never share a temporary file).
    public static func temporaryURL(for destination: URL) -> URL {
        let unique = UUID().uuidString.prefix(8).lowercased()
        return destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).\(getpid()).\(unique).tmp")
    }

    /// Replaces `destination` with the file `write` creates at the URL it is given (the temporary
    /// file), once `write` returns; the temporary file is removed when anything fails.
    /// - Parameter commit: runs the rename it is handed, by default at once; a caller that must check
    ///   something in the same step (a store, its writer's lease inside a transaction) runs it there,
    ///   or throws instead to leave `destination` as it was.
    /// - Throws: whatever `write` or `commit` throws; `RenameFailure` when the rename fails.
    public static func replace(_ destination: URL, writingWith write: (URL) throws -> Void,
                               commit: (_ rename: () throws -> Void) throws -> Void = { try $0() }) throws {
        let temporary = temporaryURL(for: destination)
        do {
            try write(temporary)
            try commit {
                guard rename(temporary.path, destination.path) == 0 else {
                    throw RenameFailure(path: destination.path, reason: String(cString: strerror(errno)))
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Writes `data` to `destination` atomically (`replace(_:writingWith:)`).
    /// - Throws: Foundation's error when the temporary file cannot be written; `RenameFailure`.
    public static func write(_ data: Data, to destination: URL) throws {
        try replace(destination) { try data.write(to: $0) }
    }
}
