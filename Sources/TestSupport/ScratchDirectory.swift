import Foundation

/// `TMPDIR/<prefix><pid>`: one scratch folder per test process, shared by its suites.
///
/// Suites run in parallel, so no test knows when the folder is no longer needed and none deletes
/// it. Instead each call sweeps the `<prefix><pid>` folders of test processes that have exited,
/// so runs do not pile up in `/tmp`. The folder is not created.
public func processScratchDirectory(prefix: String) -> URL {
    let temporary = FileManager.default.temporaryDirectory
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(prefix) {
        // kill(pid, 0) probes for a process without signalling it; ESRCH: no such process.
        if let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }
    return temporary.appendingPathComponent("\(prefix)\(getpid())")
}
