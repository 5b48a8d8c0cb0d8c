import Foundation

/// Keeps a worker's lease on a job alive: renews it every `heartbeatSeconds` on a thread of its own
/// (so a long batch never starves it), until `stop()`. When the store says the lease was lost, or
/// no renewal got through before the lease ran out, `isLost` turns true: the job stops between
/// batches, and its fenced writes fail meanwhile (`JobStore.fenced(by:)`).
public final class LeaseKeeper: @unchecked Sendable {
    /// Default lease length and renewal period (issue 20): a worker silent for 10 s has lost its job.
    public static let defaultLeaseSeconds = 10.0
    public static let defaultHeartbeatSeconds = 2.0

    public let store: any JobStore
    public let leaseSeconds: Double
    public let heartbeatSeconds: Double
    private let lock = NSLock()
    private var current: JobLease
    private var lost = false
    /// When the lease was last taken or renewed, by this machine's clock.
    private var renewedAt = Date()
    private var heartbeat: Heartbeat?

    public init(store: any JobStore, lease: JobLease, leaseSeconds: Double = defaultLeaseSeconds,
                heartbeatSeconds: Double = defaultHeartbeatSeconds) {
        self.store = store
        current = lease
        self.leaseSeconds = leaseSeconds
        self.heartbeatSeconds = heartbeatSeconds
    }

    /// The lease as last renewed.
    public var lease: JobLease { lock.withLock { current } }

    public var isLost: Bool { lock.withLock { lost } }

    /// Starts the renewals.
    public func start() {
        let heartbeat = Heartbeat(name: "autovision-lease-\(current.jobID)", period: heartbeatSeconds) { [self] in renew() }
        self.heartbeat = heartbeat
        heartbeat.start()
    }

    /// Stops the renewals (the lease itself is the caller's to release).
    public func stop() { heartbeat?.stop() }

    /// One renewal; `false` once the lease is lost.
    private func renew() -> Bool {
        let lease = self.lease
        let result = Result { try store.renewLease(lease, seconds: leaseSeconds) }
        return lock.withLock {
            switch result {
            case let .success(renewed):
                current = renewed
                renewedAt = Date()
            case let .failure(error):
                if case .leaseLost? = error as? StoreError {
                    lost = true
                } else {
                    // A store briefly busy or away: try again until the lease has run out by this
                    // machine's clock, counted from the last renewal (the store's clock may be another's).
                    lost = Date().timeIntervalSince(renewedAt) >= leaseSeconds
                }
            }
            return !lost
        }
    }
}

/// Calls `beat` every `period` seconds on a thread of its own, until `stop()` or until `beat`
/// returns `false`: the renewals of a lease while the work it covers runs.
final class Heartbeat: @unchecked Sendable {
    private let name: String
    private let period: Double
    private let beat: @Sendable () -> Bool
    private let condition = NSCondition()
    private var stopped = false

    init(name: String, period: Double, beat: @escaping @Sendable () -> Bool) {
        self.name = name
        self.period = period
        self.beat = beat
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            _ = condition.wait(until: Date().addingTimeInterval(period))
            if stopped { return }
            condition.unlock()
            let goOn = beat()
            condition.lock()
            if !goOn { return }
        }
    }
}
