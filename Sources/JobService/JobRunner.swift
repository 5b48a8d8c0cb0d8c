import Datasets
import Foundation
import Metrics
import Search

/// Runs the store's queued jobs and dataset imports on dedicated threads (never on an event loop).
///
/// - Jobs: `concurrentJobs` worker threads take the oldest queued job whose dataset is ready and
///   run its `TrainingJob`; the others wait in `queued`, in order.
/// - Imports: one thread imports datasets in state `importing`, oldest first.
/// - Cancellation: `cancel(_:)` flags the store; the running job polls it between batches.
/// - Shutdown: `shutdown()` stops taking work, stops the running jobs between batches, queues
///   them again (they resume from their last finished trial at the next start), and waits for the threads.
/// - Metrics: training throughput (`TrainingMetrics`) through the swift-metrics factory given.
public final class JobRunner: @unchecked Sendable {
    public let store: any JobStore
    public let jobsDirectory: URL
    public let concurrentJobs: Int
    public let runsImports: Bool
    /// Largest image accepted at import, in pixels.
    public var maxPixels = 100_000_000
    /// Called with each job event (for logs and metrics), from a worker thread.
    public var onEvent: (@Sendable (String, JobEvent) -> Void)?

    private let condition = NSCondition()
    private var stopping = false
    private var started = false
    private var running: [String: Bool] = [:]  // job ID → stop requested by shutdown
    private var importing: Set<String> = []
    private var liveThreads = 0
    private let trainingMetrics: TrainingMetrics

    /// - Parameter metricsFactory: where the training throughput goes; the default is the global
    ///   `MetricsSystem`'s (a no-op unless bootstrapped). The server passes its own.
    /// - Parameters:
    ///   - concurrentJobs: job threads; 0 runs no job (the jobs are for worker processes).
    ///   - runsImports: whether a thread imports the uploaded datasets.
    public init(store: any JobStore, jobsDirectory: URL, concurrentJobs: Int = 1, runsImports: Bool = true,
                metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.store = store
        self.jobsDirectory = jobsDirectory
        self.concurrentJobs = max(0, concurrentJobs)
        self.runsImports = runsImports
        trainingMetrics = TrainingMetrics(factory: metricsFactory)
    }

    /// Times a job is resumed after its process stopped before it is failed instead (a job that
    /// crashes its process must not crash every restart).
    public static let maximumResumes = 3

    /// Seconds a job's lease lasts unless renewed, and between renewals (`LeaseKeeper`).
    public var leaseSeconds = LeaseKeeper.defaultLeaseSeconds
    public var heartbeatSeconds = LeaseKeeper.defaultHeartbeatSeconds
    /// This runner's identity in the jobs' leases.
    public let owner = JobLease.newOwner()

    /// Starts the worker threads (once). Jobs whose worker stopped renewing its lease (killed,
    /// crashed, paused) are queued again, here and before every claim, to resume from their last
    /// finished trial (see `TrainingJob`).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        requeueExpiredLeases()
        for index in 0..<concurrentJobs { spawn(name: "autovision-job-\(index)") { self.jobLoop() } }
        if runsImports { spawn(name: "autovision-import") { self.importLoop() } }
    }

    /// Queues again the jobs whose lease expired, or fails those interrupted too often.
    private func requeueExpiredLeases() {
        _ = try? store.requeueExpiredLeases { record in
            let resumes = record.resumes ?? 0
            if resumes >= Self.maximumResumes {
                record.failureReason = "interrupted \(resumes + 1) times (the process running it stopped while the job was "
                    + "\(record.state.rawValue)); not resumed again: its search log is kept; submit the job again"
                record.state = .failed
            } else {
                record.state = .queued
                record.resumes = resumes + 1
            }
        }
    }

    private func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        liveThreads += 1
        let thread = Thread {
            body()
            self.condition.lock()
            self.liveThreads -= 1
            self.condition.broadcast()
            self.condition.unlock()
        }
        thread.name = name
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Wakes the workers: a job was queued or a dataset uploaded.
    public func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    public var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return started && !stopping
    }

    /// IDs of the jobs this runner is training now.
    public var runningJobs: [String] {
        condition.lock()
        defer { condition.unlock() }
        return running.keys.sorted()
    }

    /// Cancels a job: at once when queued, between batches when running.
    @discardableResult
    public func cancel(_ id: String) throws -> JobRecord {
        let record = try store.requestCancel(id)
        wake()
        return record
    }

    /// Stops taking work, stops running jobs (queued again, to resume at the next start) and waits
    /// for every thread to finish.
    public func shutdown() {
        condition.lock()
        stopping = true
        for id in running.keys { running[id] = true }
        condition.broadcast()
        while liveThreads > 0 { condition.wait() }
        condition.unlock()
    }

    private func waitForWork() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return false }
        _ = condition.wait(until: Date().addingTimeInterval(1))
        return !stopping
    }

    private func jobLoop() {
        repeat {
            while let (record, lease) = claim() { run(record, lease: lease) }
        } while waitForWork()
    }

    private func claim() -> (record: JobRecord, lease: JobLease)? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return nil }
        requeueExpiredLeases()
        guard let claimed = try? store.claimNextJob(owner: owner, leaseSeconds: leaseSeconds) else { return nil }
        running[claimed.record.id] = false
        return claimed
    }

    private func run(_ record: JobRecord, lease: JobLease) {
        let id = record.id
        let keeper = LeaseKeeper(store: store, lease: lease, leaseSeconds: leaseSeconds, heartbeatSeconds: heartbeatSeconds)
        keeper.start()
        let fenced = store.fenced(by: lease)
        let stopFlag: @Sendable () -> Bool = { [self] in
            condition.lock()
            defer { condition.unlock() }
            return running[id] ?? false
        }
        let shouldStop: @Sendable () -> Bool = { stopFlag() || keeper.isLost }
        do {
            let datasetImportOptions = try record.datasetID.flatMap { try store.dataset($0) }
                .map { DatasetUpload.importOptions(for: $0, maxPixels: maxPixels) }
            let options = TrainingJobOptions(resuming: record, jobsDirectory: jobsDirectory, datasetImportOptions: datasetImportOptions)
            let job = try TrainingJob(options: options, store: fenced, id: id) { [weak self] event in
                if case let .epoch(epoch) = event { self?.trainingMetrics.record(epoch, job: id) }
                self?.onEvent?(id, event)
            }
            do { try job.run(shouldStop: shouldStop) } catch {
                // The job recorded its failure in the store (or lost its lease and may not); nothing else waits for it here.
            }
        } catch {
            _ = try? fenced.updateJob(id) {
                $0.state = .failed
                $0.failureReason = "\(error)"
            }
        }
        if stopFlag() {
            // Stopped by shutdown, not by the user: queued again, to resume when the service restarts.
            _ = try? fenced.updateJob(id) {
                guard $0.state == .cancelled else { return }
                $0.state = .queued
                $0.stopReason = nil
                $0.resumes = ($0.resumes ?? 0) + 1
            }
        }
        keeper.stop()
        try? store.releaseLease(keeper.lease)
        trainingMetrics.finished(job: id)
        condition.lock()
        running[id] = nil
        condition.unlock()
    }

    private func importLoop() {
        repeat {
            while let record = nextImport() { runImport(record) }
        } while waitForWork()
    }

    private func nextImport() -> DatasetRecord? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return nil }
        let pending = ((try? store.datasets()) ?? []).filter { $0.state == .importing && !importing.contains($0.id) }
        guard let next = pending.min(by: { $0.createdAt < $1.createdAt }) else { return nil }
        importing.insert(next.id)
        return next
    }

    private func runImport(_ record: DatasetRecord) {
        do {
            let summary = try DatasetUpload.runImport(record, jobsDirectory: jobsDirectory, maxPixels: maxPixels)
            try store.updateDataset(record.id) {
                $0.summary = summary
                $0.images = summary.images
                $0.labels = summary.labels
                if summary.imported > 0 {
                    $0.state = .ready
                } else {
                    $0.state = .failed
                    $0.failureReason = "no image imported: \(summary.rejected.count) row(s) rejected (see summary.rejected)"
                }
            }
        } catch {
            _ = try? store.updateDataset(record.id) {
                $0.state = .failed
                $0.failureReason = "\(error)"
            }
        }
        condition.lock()
        importing.remove(record.id)
        condition.broadcast()
        condition.unlock()
    }
}
