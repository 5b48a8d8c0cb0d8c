import Foundation

/// stderr output and progress for the command-line tool (stdout is kept for results).
enum Console {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var lastDraw = Date.distantPast

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// A progress reporter: a redrawn bar on a terminal, plain lines every 10 % otherwise.
    static func progress(_ title: String) -> @Sendable (Int, Int) -> Void {
        let lastDecile = LockedInt(-1)
        return { done, total in
            lock.lock()
            defer { lock.unlock() }
            guard total > 0 else { return }
            if stderrIsTerminal {
                let now = Date()
                guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
                lastDraw = now
                let width = 30
                let filled = width * done / total
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                FileHandle.standardError.write(Data("\r\(title) [\(bar)] \(done)/\(total)\(done == total ? "\n" : "")".utf8))
            } else {
                let decile = 10 * done / total
                if decile > lastDecile.value {
                    lastDecile.value = decile
                    log("\(title): \(done)/\(total) (\(decile * 10) %)")
                }
            }
        }
    }

    /// Prints `value` as one line of JSON on stdout.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

final class LockedInt: @unchecked Sendable {
    var value: Int
    init(_ value: Int) { self.value = value }
}

/// `{"error": "..."}`, the `--json` answer of a command that failed.
struct ErrorJSON: Encodable {
    var error: String
}
