import Foundation

/// PostgreSQL for the tests: the cluster the test command started (`Scripts/postgres.sh`), through
/// `AUTOVISION_TEST_POSTGRES_URL`, where each test gets a database of its own.
public enum TestPostgres {
    public static var serverURL: String? { ProcessInfo.processInfo.environment["AUTOVISION_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Creates an empty database on `server` (by default the test command's cluster); returns its URL.
    public static func newDatabase(on server: String? = nil) throws -> String {
        guard let server = server ?? serverURL else { throw TestPostgresError("AUTOVISION_TEST_POSTGRES_URL is not set") }
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try run("/usr/bin/env", ["psql", server, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestPostgresError("\(executable) \(arguments.joined(separator: " ")) failed") }
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
