import Datasets
import Energy
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
    /// How the jobs' units measure their energy (`TrainingJobOptions.energy`): this machine's per-core watts and grid intensity.
    public var energy = EnergySettings()
    /// Called with each job event (for logs and metrics), from a worker thread.
    public var onEvent: (@Sendable (String, JobEvent) -> Void)?
    /// Called as a claimed dataset's import starts, on the import thread (for logs and fault tests).
    public var beforeImport: (@Sendable (DatasetRecord) -> Void)?

    private let condition = NSCondition()
    private var stopping = false
    private var started = false
    private var running: [String: Bool] = [:]  // job ID → stop requested by shutdown
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

    /// Times a unit of a job is run before the job is failed instead, when its worker stops each
    /// time (a unit that crashes its process must not crash every worker).
    public static let maximumUnitAttempts = 3

    /// Seconds a job's lease lasts unless renewed, and between renewals (`LeaseKeeper`).
    public var leaseSeconds = LeaseKeeper.defaultLeaseSeconds
    public var heartbeatSeconds = LeaseKeeper.defaultHeartbeatSeconds
    /// For `autovision bench workers` only (`TrainingJob.simulatedTrialSeconds`): trials wait instead of training.
    public var simulatedTrialSeconds: Double?
    /// This runner's identity in the jobs' leases.
    public let owner = JobLease.newOwner()

    /// Starts the worker threads (once). Jobs whose worker stopped renewing its lease (killed,
    /// crashed, paused) have their unit run again, here and before every claim (see `TrainingJob.runUnit`).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        requeueExpiredLeases()
        for index in 0..<concurrentJobs { spawn(name: "autovision-job-\(index)") { self.jobLoop() } }
        if runsImports { spawn(name: "autovision-import") { self.importLoop() } }
    }

    /// Frees the jobs whose lease expired for their unit to run again, or fails those whose unit
    /// was lost `maximumUnitAttempts` times.
    private func requeueExpiredLeases() {
        _ = try? store.requeueExpiredLeases { record, losses in
            if losses >= Self.maximumUnitAttempts {
                record.failureReason = "the unit it was at (\(JobUnitLoss.unit(of: record))) was interrupted \(losses) times: the worker "
                    + "running it stopped (killed, crashed or cut off) each time; not run again: its trials are kept; submit the job again"
                record.state = .failed
            } else {
                record.resumes = (record.resumes ?? 0) + 1
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

    /// Runs claimed jobs; with none to claim, trains trials of other workers' searches in progress.
    private func jobLoop() {
        var helping: [String: TrainingJob] = [:]  // the searches this thread helps, each set up once
        repeat {
            while true {
                if let (record, lease) = claim() {
                    run(record, lease: lease)
                } else if !helpASearch(&helping) {
                    break
                }
            }
        } while waitForWork()
    }

    /// Trains one trial of the oldest search in progress that has one to start, whichever worker holds
    /// its job (`TrainingJob.helpSearch`): trials run in parallel on as many workers as are free.
    /// - Returns: whether it trained one.
    private func helpASearch(_ helping: inout [String: TrainingJob]) -> Bool {
        guard isRunning, let searching = try? store.jobs().filter({ $0.state == .searching }) else { return false }
        helping = helping.filter { id, _ in searching.contains { $0.id == id } }
        for record in searching.reversed() {  // oldest first
            guard let job = helping[record.id] ?? (try? makeJob(record, store: store)) else { continue }
            helping[record.id] = job
            if job.helpSearch(store: store, shouldStop: { [self] in !isRunning }) { return true }
        }
        return false
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

    /// Runs job `id`, whose lease `lease` the caller holds (`autovision train` inserted it already
    /// claimed for this worker), unit after unit on the calling thread until it is finished, its lease
    /// is lost, or `shutdown()` pauses it. The runner's own threads need not be started.
    /// - Returns: the job's record at the end, or `nil` when the store does not have it.
    @discardableResult
    public func runJob(_ id: String, lease: JobLease) -> JobRecord? {
        condition.lock()
        running[id] = stopping
        condition.unlock()
        if let record = try? store.job(id) { run(record, lease: lease) }
        return try? store.job(id)
    }

    /// Runs the claimed job unit after unit under its lease, a new lease attempt for each
    /// (`JobStore.advanceLease`), until it is finished, its lease is lost, or the runner shuts down.
    private func run(_ record: JobRecord, lease: JobLease) {
        let id = record.id
        let shutdown: @Sendable () -> Bool = { [self] in
            condition.lock()
            defer { condition.unlock() }
            return running[id] ?? false
        }
        var lease = lease
        do {
            let job = try makeJob(record, store: store.fenced(by: lease))
            while true {
                let keeper = LeaseKeeper(store: store, lease: lease, leaseSeconds: leaseSeconds, heartbeatSeconds: heartbeatSeconds)
                keeper.start()
                let outcome = Result { try job.runUnit(store: store.fenced(by: lease), shouldStop: { keeper.isLost }, shouldPause: shutdown) }
                keeper.stop()
                lease = keeper.lease
                guard case .success(.next) = outcome, !shutdown() else {
                    if case .success(.paused) = outcome { resumeLater(id, lease: lease) }
                    break
                }
                lease = try store.advanceLease(lease, seconds: leaseSeconds)
            }
        } catch {
            // A job that cannot even be set up (its dataset vanished, its folder cannot be made) fails with the reason.
            _ = try? store.fenced(by: lease).updateJob(id) {
                $0.state = .failed
                $0.failureReason = "\(error)"
            }
        }
        try? store.releaseLease(lease)
        trainingMetrics.finished(job: id)
        condition.lock()
        running[id] = nil
        condition.unlock()
    }

    /// The job of a claimed record, its events passed on to the metrics and `onEvent`.
    private func makeJob(_ record: JobRecord, store: any JobStore) throws -> TrainingJob {
        let id = record.id
        let datasetImportOptions = try record.datasetID.flatMap { try self.store.dataset($0) }
            .map { DatasetUpload.importOptions(for: $0, maxPixels: maxPixels) }
        var options = TrainingJobOptions(resuming: record, jobsDirectory: jobsDirectory, datasetImportOptions: datasetImportOptions)
        options.energy = energy
        let job = try TrainingJob(options: options, store: store, id: id) { [weak self] event in
            if case let .epoch(epoch) = event { self?.trainingMetrics.record(epoch, job: id) }
            self?.onEvent?(id, event)
        }
        job.worker = owner
        job.leaseSeconds = leaseSeconds
        job.heartbeatSeconds = heartbeatSeconds
        job.simulatedTrialSeconds = simulatedTrialSeconds
        return job
    }

    /// A unit stopped by shutdown, not by the user: the job keeps its state, and its unit runs again
    /// when a worker claims it (when the service restarts).
    private func resumeLater(_ id: String, lease: JobLease) {
        _ = try? store.fenced(by: lease).updateJob(id) { $0.resumes = ($0.resumes ?? 0) + 1 }
    }

    private func importLoop() {
        repeat {
            while let record = claimImport() { runImport(record) }
        } while waitForWork()
    }

    /// Times a dataset's import is started before it is failed instead, when its worker stops in it each time.
    public static let maximumImportAttempts = 3

    private func claimImport() -> DatasetRecord? {
        guard isRunning else { return nil }
        return try? store.claimNextImport(owner: owner, leaseSeconds: leaseSeconds, maximumAttempts: Self.maximumImportAttempts)
    }

    /// Imports a claimed dataset under its import lease, renewed by a heartbeat, and records the
    /// summary (or the reason it failed) only while the lease is still this worker's.
    private func runImport(_ record: DatasetRecord) {
        let (store, owner, leaseSeconds) = (self.store, self.owner, self.leaseSeconds)
        let heartbeat = Heartbeat(name: "autovision-import-lease-\(record.id)", period: heartbeatSeconds) {
            (try? store.renewImport(record.id, owner: owner, seconds: leaseSeconds)) != nil
        }
        heartbeat.start()
        defer { heartbeat.stop() }
        beforeImport?(record)
        do {
            let progress = ImportProgressWriter(store: store, id: record.id)
            let summary = try DatasetUpload.runImport(record, store: store, jobsDirectory: jobsDirectory, maxPixels: maxPixels,
                                                      progress: { progress.report(done: $0, total: $1) })
            try store.finishImport(record.id, owner: owner) {
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
            _ = try? store.finishImport(record.id, owner: owner) {
                $0.state = .failed
                $0.failureReason = "\(error)"
            }
        }
        wake()  // jobs waiting for this dataset can be claimed
    }
}
