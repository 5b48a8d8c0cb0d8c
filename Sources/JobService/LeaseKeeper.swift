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
    private let condition = NSCondition()
    private var current: JobLease
    private var lost = false
    private var stopped = false
    private var thread: Thread?

    public init(store: any JobStore, lease: JobLease, leaseSeconds: Double = defaultLeaseSeconds,
                heartbeatSeconds: Double = defaultHeartbeatSeconds) {
        self.store = store
        current = lease
        self.leaseSeconds = leaseSeconds
        self.heartbeatSeconds = heartbeatSeconds
    }

    /// The lease as last renewed.
    public var lease: JobLease {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    public var isLost: Bool {
        condition.lock()
        defer { condition.unlock() }
        return lost
    }

    /// Starts the renewals.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "autovision-lease-\(current.jobID)"
        self.thread = thread
        thread.start()
    }

    /// Stops the renewals (the lease itself is the caller's to release).
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        defer { condition.unlock() }
        while !stopped, !lost {
            _ = condition.wait(until: Date().addingTimeInterval(heartbeatSeconds))
            if stopped { return }
            let lease = current
            condition.unlock()
            let result = Result { try store.renewLease(lease, seconds: leaseSeconds) }
            condition.lock()
            switch result {
            case let .success(renewed): current = renewed
            case let .failure(error):
                if case .leaseLost? = error as? StoreError {
                    lost = true
                } else {
                    lost = Date() >= lease.expiresAt  // a store that is briefly busy: try again until the lease runs out
                }
            }
        }
    }
}
