import Foundation
import JobService
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Where a PostgreSQL store is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (also `postgresql://`),
/// as libpq writes it. TLS is not used (`sslmode=disable`); put the database on a private network.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// - Throws: `StoreError.database` saying what is wrong with `url`.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError.database("'\(url)' is not a PostgreSQL URL: write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty else {
            throw StoreError.database("'\(url)' needs a user and a host: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw StoreError.database("'\(url)' names no database: postgres://USER@HOST/DATABASE") }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value, mode != "disable" {
            throw StoreError.database("sslmode=\(mode) is not supported: this store connects without TLS (sslmode=disable)")
        }
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
    }

    /// The URL without its password, for messages.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}

/// One transaction on one connection: every statement runs in it; `now` is the database's clock at
/// its start (`now()`), the one clock every machine's leases are measured by.
final class PostgresTransaction {
    let connection: PostgresConnection
    let logger: Logger
    private(set) var now = Date()

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func begin() throws {
        _ = try run("BEGIN")
        now = try rows("SELECT now()").first.map { try $0.decode(Date.self) } ?? Date()
    }

    /// Runs `query`; returns its rows.
    @discardableResult func rows(_ query: PostgresQuery) throws -> [PostgresRow] { try run(query).rows }

    /// Runs `query`; returns how many rows it changed.
    @discardableResult func execute(_ query: PostgresQuery) throws -> Int { try run(query).metadata.rows ?? 0 }

    private func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }
}

/// A small pool of connections for synchronous callers (the `JobStore` protocol is synchronous, as
/// SQLite is): a caller blocks on its own thread while its statements run on NIO's event loops.
final class PostgresConnections: @unchecked Sendable {
    let location: PostgresLocation
    private let logger: Logger
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0
    private static let maximumIdle = 4

    init(location: PostgresLocation) {
        self.location = location
        var logger = Logger(label: "autovision.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    deinit { for connection in idle { Self.discard(connection) } }

    /// How long a store call waits for a database that went away (a restart, a failover) before it
    /// fails, in seconds: longer than a restart takes, shorter than a worker's patience.
    var reconnectSeconds = 30.0

    /// Seconds a session may sit inside a transaction without a statement before the server ends it
    /// (PostgreSQL's `idle_in_transaction_session_timeout`): under a job's lease (10 s), so no stopped
    /// worker's row lock outlives its lease.
    static let idleInTransactionSeconds = 5

    /// Runs `body` in one transaction (READ COMMITTED): committed when it returns, rolled back when it
    /// throws. When the connection is lost before the commit is sent (the server restarted), the
    /// transaction rolled back with it: it is run again whole on a new connection, every half second
    /// until `reconnectSeconds` have passed. `body` must change nothing outside the database.
    /// - Parameter reading: statements that only read, run without a transaction (each sees the
    ///   latest committed state).
    /// - Throws: what `body` throws; `StoreError.database` for a database that cannot be reached in
    ///   time or that refuses a statement.
    func transaction<T>(reading: Bool = false, _ body: (PostgresTransaction) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(reconnectSeconds)
        while true {
            do {
                return try attempt(reading: reading, body)
            } catch let lost as ConnectionLost {
                guard Date() < deadline else { throw StoreError.database("cannot reach \(location.description): \(Self.describe(lost.error))") }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }

    /// The connection went away before the transaction's commit was sent: nothing of it was kept.
    private struct ConnectionLost: Error {
        var error: any Error
    }

    private func attempt<T>(reading: Bool, _ body: (PostgresTransaction) throws -> T) throws -> T {
        let connection: PostgresConnection
        do { connection = try checkOut() } catch {
            if Self.isConnectionError(error) { throw ConnectionLost(error: error) }
            throw StoreError.database("cannot connect to \(location.description): \(Self.describe(error))")
        }
        let transaction = PostgresTransaction(connection: connection, logger: logger)
        do {
            if !reading { try transaction.begin() }  // a read on a dead connection fails as one and is run again
            let value = try body(transaction)
            if !reading {
                do { _ = try transaction.execute("COMMIT") } catch {
                    Self.discard(connection)
                    throw StoreError.database("\(location.description): the commit's outcome is unknown: \(Self.describe(error))")
                }
            }
            checkIn(connection)
            return value
        } catch let error as StoreError {
            if reading || (try? transaction.execute("ROLLBACK")) != nil { checkIn(connection) } else { Self.discard(connection) }
            throw error
        } catch {
            let lost = Self.isConnectionError(error) || connection.isClosed
            if !lost, reading || (try? transaction.execute("ROLLBACK")) != nil { checkIn(connection) } else { Self.discard(connection) }
            if lost { throw ConnectionLost(error: error) }
            throw StoreError.database("\(location.description): \(Self.describe(error))")
        }
    }

    /// Whether `error` says the connection, not the statement, failed: closed, refused, or ended by
    /// the server (SQLSTATE class 08, connection exception, and 57P, a shutdown or start-up).
    static func isConnectionError(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is ChannelError || error is IOError }
        if [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code) { return true }
        let state = error.serverInfo?[.sqlState] ?? ""
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }

    /// A short message for a postgres-nio error: the server's own message when it sent one.
    static func describe(_ error: (any Error)?) -> String {
        guard let error else { return "unknown error" }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private func checkOut() throws -> PostgresConnection {
        if let connection = lock.withLock({ idle.popLast() }), !connection.isClosed { return connection }
        let id = lock.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: location.password, database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        // A worker stopped inside a transaction (SIGSTOP, a debugger) would keep its row locks, and the
        // job it held could not be claimed once its lease expired: the server ends such a session.
        configuration.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", "\(Self.idleInTransactionSeconds)s")]
        return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                              id: id, logger: logger).wait()
    }

    /// Closes `connection` without waiting.
    private static func discard(_ connection: PostgresConnection) {
        let _: EventLoopFuture<Void> = connection.close()
    }

    private func checkIn(_ connection: PostgresConnection) {
        let extra: PostgresConnection? = lock.withLock {
            guard idle.count < Self.maximumIdle else { return connection }
            idle.append(connection)
            return nil
        }
        if let extra { Self.discard(extra) }
    }
}
