import Energy
import Evaluation
import Foundation
import Search

/// The main job: import a manifest, search architectures within the budget, train the best one
/// with what is left, evaluate it once on TEST and publish the model and its report.
///
/// A pipeline of typed stages, each a function from the previous stage's value to its own:
/// import (`ImportedData`) → plan (`PlannedJob`) → search (`SearchOutcome`) → final training
/// (`FinalModel`) → evaluate (`EvaluatedModel`) → publish (`EvaluationReport`).
///
/// Budget semantics (as AutoML Vision's node hours: worker-seconds, each worker charging the units
/// it ran; with one worker, wall-clock time on that machine): the clock starts after the import
/// (which is timed and reported separately) and covers calibration, search, final training and
/// evaluation. The final training stops early when VALIDATION accuracy has converged, and only the
/// time used is charged.
public final class TrainingJob {
    public let options: TrainingJobOptions
    /// The owner of the job's state: every change of its record, its plan and its trials goes
    /// through the store; the job folder holds artifacts and exports (`job.json`, `search.jsonl`).
    /// A worker sets it to the store fenced by its lease for each unit (`runUnit(store:shouldStop:shouldPause:)`).
    public private(set) var store: any JobStore
    public let folder: JobFolder
    /// The job's record as last written to the store.
    public private(set) var record: JobRecord
    let onEvent: (JobEvent) -> Void
    /// The budget's clock, from the plan stage on.
    var clock: BudgetClock?
    /// What the units this object ran left for the next ones; a unit that finds them `nil` rebuilds
    /// them from the store (`Restore.swift`).
    var planned: PlannedJob?
    /// Whether this object told the log how the search runs (its first trial unit here).
    var searchAnnounced = false
    var searched: SearchOutcome?
    var finalModel: FinalModel?
    /// The evaluation report, once the job succeeded.
    public private(set) var report: EvaluationReport?
    /// Measures the running unit's energy from its start (`runUnit`); `unitEnergy()` takes what it measured.
    var unitMeter: EnergyMeter?
    /// Until when this object charged the job's time (`takeUnchargedSeconds`): each worker charges the
    /// time of its own units, so that the budget counts worker-seconds across workers.
    var chargedUntil = Date()

    /// Registers the job in `store`, or takes over the store's record of job `id` (queued by the
    /// service or the CLI, or interrupted before: a job whose record has used budget resumes from
    /// the trials and plan the store keeps and its best trial's checkpoint). A worker passes the
    /// store fenced by its lease on the job (`JobStore.fenced(by:)`).
    /// - Throws: `StoreError` when the store cannot record it; `JobError.io` when its folder
    ///   cannot be made.
    public init(options: TrainingJobOptions, store: any JobStore, id: String = JobRecord.newID(),
                onEvent: @escaping (JobEvent) -> Void = { _ in }) throws {
        self.options = options
        self.store = store
        folder = JobFolder(jobsDirectory: options.jobsDirectory, id: id)
        self.onEvent = onEvent
        if let stored = try store.job(id) {
            record = stored
        } else {
            record = Self.newRecord(options: options, id: id)
            try store.insertJob(record)
        }
        try folder.create()
        try folder.write(record)
    }

    public var id: String { record.id }
    /// The worker running this job's units (its lease owner, `HOST:PID:RANDOM`), recorded with each
    /// trial; `nil` when no worker runs it (a job run in-process).
    public var worker: String?
    /// Seconds a trial unit's lease lasts unless renewed, and between renewals (`LeaseKeeper`): the
    /// worker's, as for its job leases.
    public var leaseSeconds = LeaseKeeper.defaultLeaseSeconds
    public var heartbeatSeconds = LeaseKeeper.defaultHeartbeatSeconds
    /// For `autovision bench workers` only: each trial waits this many seconds instead of training
    /// (`ArchitectureSearch.simulate`), and the search does not end by converging; claims, leases,
    /// decisions and records are the real ones. `nil`: trials train.
    public var simulatedTrialSeconds: Double?

    /// The record of a new job with `options`, queued.
    public static func newRecord(options: TrainingJobOptions, id: String = JobRecord.newID()) -> JobRecord {
        var record = JobRecord(id: id, manifest: options.manifest.path, budgetSeconds: options.budget.seconds, seed: options.seed)
        if !options.testTimeAugmentation { record.testTimeAugmentation = false }
        record.settings = JobSettings(options)
        return record
    }

    /// Changes the job's record in the store, and exports it to `job.json`.
    /// - Throws: `StoreError` / `JobError.io`: a state the store did not take fails the job.
    func update(_ change: (inout JobRecord) -> Void) throws {
        record = try store.updateJob(id, change)
        try folder.write(record)
    }

    /// Writes artifact `name` of the job (a checkpoint) through the store, only while the store
    /// still takes this job's writes (a fenced store: this worker's lease).
    func writeArtifact(_ data: Data, name: String) throws {
        try store.writeArtifact(jobID: id, name: name, data)
    }

    func say(_ message: String) { onEvent(.message(message)) }

    /// A starting architecture's name (`small`), or another candidate's summary, for the job's log.
    static func name(_ candidate: Candidate) -> String {
        candidate.origin.startingArchitectureName ?? candidate.summary
    }

    /// Runs the whole job: `runUnit` until it is finished.
    /// - Parameter shouldStop: polled between batches; `true` (Ctrl-C, cancel) ends the job as
    ///   `cancelled`, leaving a consistent folder. A cancellation requested through the store
    ///   (`JobStore.requestCancel`) does the same.
    /// - Returns: the evaluation report, or `nil` when cancelled.
    /// - Throws: as `runUnit`.
    @discardableResult
    public func run(shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> EvaluationReport? {
        while try runUnit(shouldStop: shouldStop) == .next {}
        return report
    }

    /// Where a unit left the job.
    public enum UnitOutcome: Sendable, Equatable {
        /// The job has a next unit.
        case next
        /// `shouldPause` stopped the unit: the job stays in its state, its next claim runs the unit again.
        case paused
        /// Succeeded, failed or cancelled.
        case finished
    }

    /// Runs the job's next unit, the one its state in the store names: the import (with the plan),
    /// one trial, the final training, or the evaluation (with the publication). Each unit hands the
    /// next one what it made through the store (the plan, the trials, the search's end, the final
    /// training's network and outcome), so any process can run the next unit; values this object
    /// already holds from the previous unit are used as they are.
    /// - Parameters:
    ///   - store: the store for this unit (a worker's, fenced by its lease on the unit); `nil` keeps the current one.
    ///   - shouldStop: polled between batches; `true` cancels the job, as a cancel asked through the store does.
    ///   - shouldPause: polled between batches; `true` stops the unit without changing the job (a worker shutting down).
    /// - Throws: `JobError` / `SearchError` / `ManifestError` / `StoreError` with a message for the
    ///   user; the job's record is marked `failed` with the same reason first. `StoreError.leaseLost`
    ///   when the lease was lost: nothing more was written.
    public func runUnit(store: (any JobStore)? = nil, shouldStop: @escaping @Sendable () -> Bool = { false },
                        shouldPause: @escaping @Sendable () -> Bool = { false }) throws -> UnitOutcome {
        if let store { self.store = store }
        let cancellation = CancellationPoll(store: self.store, jobID: id)
        let stop: @Sendable () -> Bool = { shouldStop() || shouldPause() || cancellation.isRequested }
        unitMeter = EnergyMeter(settings: options.energy)
        defer { unitMeter = nil }  // a unit that ends without recording its energy (paused, lease lost) leaves none for the next
        do {
            record = try self.store.job(id) ?? record
            rebaseClock()
            switch record.state {
            case .queued, .importing: try importUnit()
            case .searching: try trialUnit(shouldStop: stop)
            case .training: try finalTrainingUnit(shouldStop: stop)
            case .evaluating:
                report = try publish(try evaluate(try restoredModel()))
                return .finished
            case .succeeded, .failed, .cancelled: return .finished
            }
            return .next
        } catch is JobCancelled {
            if shouldPause(), !shouldStop(), !cancellation.isRequested { return .paused }
            try cancel()
            return .finished
        } catch StoreError.leaseLost(let jobID) {
            throw StoreError.leaseLost(jobID: jobID)  // another worker has the job now: nothing more is written
        } catch {
            try fail(error)
            throw error
        }
    }

    /// Trains one trial of this job's search beside the worker holding the job's lease: a worker with
    /// no job of its own helps a search in progress (`JobRunner`). Never changes the job's state.
    /// - Returns: whether it trained a trial; `false` when the job is not searching, has no trial to
    ///   start, or cannot be set up on this worker (its dataset or plan not in the store yet).
    public func helpSearch(store: any JobStore, shouldStop: @escaping @Sendable () -> Bool) -> Bool {
        self.store = store
        unitMeter = EnergyMeter(settings: options.energy)
        defer { unitMeter = nil }
        let cancellation = CancellationPoll(store: store, jobID: id)
        do {
            guard let current = try store.job(id), current.state == .searching else { return false }
            record = current
            let planned = try restoredPlan()
            guard case .trained = try runTrialUnit(planned, shouldStop: { shouldStop() || cancellation.isRequested }) else { return false }
            return true
        } catch {
            say("could not help the search of job \(id) here: \(error)")
            return false
        }
    }

    /// Marks the job failed with `error` as its reason.
    private func fail(_ error: Error) throws {
        do {
            let energy = unitEnergy()
            try update {
                $0.state = .failed
                $0.failureReason = "\(error)"
                $0.add(energy)
            }
        } catch StoreError.leaseLost(let jobID) {
            throw StoreError.leaseLost(jobID: jobID)
        } catch let storeError {
            throw JobError.failed("\(error); the job store could not record the failure: \(storeError)")
        }
    }

    /// Marks the job cancelled, charging the time used.
    private func cancel() throws {
        let energy = unitEnergy()
        let seconds = takeUnchargedSeconds()
        try update {
            $0.add(energy)
            $0.state = .cancelled
            $0.stopReason = "cancelled"
            $0.usedSeconds += seconds
        }
        say("job \(id) cancelled: its folder keeps the import summary and the search log; no model was written")
    }

    /// The energy the running unit used since it started or since the last call, for the write that
    /// records the unit's result: the meter restarts, so no part of a unit is counted twice.
    func unitEnergy() -> EnergyUse {
        let used = unitMeter?.used() ?? .zero(options.energy)
        unitMeter = EnergyMeter(settings: options.energy)
        return used
    }

    /// Charges the time this object used since it last did and reports progress.
    func chargeTime() throws {
        guard clock != nil else { return }
        let seconds = takeUnchargedSeconds()
        try update {
            $0.usedSeconds += seconds
            $0.progress = min(1, $0.usedSeconds / self.options.budget.seconds)
        }
    }

    /// Seconds since this object last charged the job's time; from now on they count as charged.
    func takeUnchargedSeconds() -> Double {
        let now = Date()
        defer { chargedUntil = now }
        return max(0, now.timeIntervalSince(chargedUntil))
    }

    /// At a unit's start, the budget's clock goes on from the time the store says the job used (other
    /// workers' units included), and this unit's time is charged from now.
    private func rebaseClock() {
        chargedUntil = Date()
        guard planned != nil else { return }  // the plan stage makes the clock
        let clock = BudgetClock(budgetSeconds: options.budget.seconds, usedBefore: record.usedSeconds)
        self.clock = clock
        planned?.clock = clock
        searched?.planned.clock = clock
        finalModel?.searched.planned.clock = clock
    }
}

extension JobRecord {
    /// Adds a unit's energy to the job's sum.
    mutating func add(_ unit: EnergyUse) {
        energy = (energy ?? .zero(EnergySettings(wattsPerCore: unit.wattsPerCore, gridIntensity: unit.gridIntensity))) + unit
    }
}

/// Whether someone asked the store to cancel a job, polled at most once a second.
final class CancellationPoll: @unchecked Sendable {
    private let store: any JobStore
    private let jobID: String
    private let lock = NSLock()
    private var lastCheck = Date.distantPast
    private var requested = false

    init(store: any JobStore, jobID: String) {
        self.store = store
        self.jobID = jobID
    }

    var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        if !requested, Date().timeIntervalSince(lastCheck) >= 1 {
            lastCheck = Date()
            // A store that cannot be read is not a request to stop; the job's next write reports it.
            requested = (try? store.isCancelRequested(jobID)) ?? false
        }
        return requested
    }
}

/// Thrown by a stage when `shouldStop` ended the job: `run` marks it cancelled.
struct JobCancelled: Error {}

/// The budget's wall clock: it starts after the import, or goes on from the time an interrupted
/// run of the job used.
struct BudgetClock {
    let start: Date
    let end: Date

    init(budgetSeconds: Double, usedBefore: Double) {
        start = Date().addingTimeInterval(-usedBefore)
        end = start.addingTimeInterval(budgetSeconds)
    }

    /// Seconds of the budget used.
    var elapsed: Double { Date().timeIntervalSince(start) }
    /// Seconds until the budget's end.
    var left: Double { end.timeIntervalSinceNow }
}

func percent(_ value: Double) -> String { String(format: "%.2f %%", value * 100) }

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
