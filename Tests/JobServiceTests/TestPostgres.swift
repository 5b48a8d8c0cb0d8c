import Foundation

/// The PostgreSQL cluster the test command started (`Scripts/postgres.sh`), through
/// `AUTOVISION_TEST_POSTGRES_URL`: each test gets a database of its own.
enum TestPostgres {
    static var serverURL: String? { ProcessInfo.processInfo.environment["AUTOVISION_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Creates an empty database on the cluster; returns its URL.
    static func newDatabase() throws -> String {
        guard let server = serverURL else { throw TestPostgresError("AUTOVISION_TEST_POSTGRES_URL is not set") }
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", server, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"]
        try psql.run()
        psql.waitUntilExit()
        guard psql.terminationStatus == 0 else { throw TestPostgresError("psql could not create database \(name) on \(server)") }
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
