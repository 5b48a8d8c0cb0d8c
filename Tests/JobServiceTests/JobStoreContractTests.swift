import Foundation
import JobService
import Search
import TestSupport
import Testing

/// The contract every `JobStore` keeps, run against each implementation: the service, the runner
/// and the job rely on exactly these behaviours, whichever store holds the state.
@Suite struct JobStoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, inMemory
        var testDescription: String { rawValue }
    }

    static let root = processScratchDirectory(prefix: "store-contract")

    func makeStore(_ kind: Kind) throws -> any JobStore {
        switch kind {
        case .sqlite: try SQLiteJobStore(jobsDirectory: Self.root.appendingPathComponent(UUID().uuidString))
        case .inMemory: InMemoryJobStore()
        }
    }

    func job(_ id: String, at seconds: Double, dataset: String? = nil) -> JobRecord {
        var record = JobRecord(id: id, manifest: "/m.csv", budgetSeconds: 60, seed: 1, now: Date(timeIntervalSince1970: seconds))
        record.datasetID = dataset
        return record
    }

    func dataset(_ id: String, at seconds: Double) -> DatasetRecord {
        DatasetRecord(id: id, root: "/data", manifest: "/data/m.csv", multiLabel: false, now: Date(timeIntervalSince1970: seconds))
    }

    func trial(_ id: Int) throws -> TrialRecord {
        let candidate = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false).startingArchitectures()[0]
        let json = """
            {"id": \(id), "rung": 0, "candidate": \(String(decoding: try JSONEncoder().encode(candidate), as: UTF8.self)),
             "architecture": "a", "parameters": 10, "flops": 100, "epochs": 1, "train_images": 50, "validation_accuracy": 0.5,
             "seconds": 1, "ended_at": \(id), "stop_reason": "completed"}
            """
        return try JSONDecoder().decode(TrialRecord.self, from: Data(json.utf8))
    }

    @Test(arguments: Kind.allCases) func jobsAreListedNewestFirstAndUpdatedInPlace(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertJob(job("a", at: 100))
        try store.insertJob(job("b", at: 200))
        #expect(try store.jobs().map(\.id) == ["b", "a"])
        let updated = try store.updateJob("a") { $0.usedSeconds = 12 }
        #expect(updated.usedSeconds == 12 && updated.updatedAt > Date(timeIntervalSince1970: 100))
        #expect(try store.job("a")?.usedSeconds == 12)
        #expect(try store.job("missing") == nil)
        #expect(throws: StoreError.notFound(kind: "job", id: "missing")) { try store.updateJob("missing") { _ in } }
    }

    @Test(arguments: Kind.allCases) func cancellingAQueuedJobEndsItAndARunningOneIsFlagged(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertJob(job("queued", at: 1))
        var running = job("running", at: 2)
        running.state = .searching
        try store.insertJob(running)
        var done = job("done", at: 3)
        done.state = .succeeded
        try store.insertJob(done)
        try store.requestCancel("queued")
        #expect(try store.job("queued")?.state == .cancelled)
        #expect(try store.isCancelRequested("queued") == false)
        try store.requestCancel("running")
        #expect(try store.job("running")?.state == .searching, "a running job stops between batches, by itself")
        #expect(try store.isCancelRequested("running"))
        try store.requestCancel("done")
        #expect(try store.job("done")?.state == .succeeded && store.isCancelRequested("done") == false)
    }

    @Test(arguments: Kind.allCases) func onlyFinishedJobsAreDeletedWithTheirTrialsAndModel(kind: Kind) throws {
        let store = try makeStore(kind)
        var running = job("running", at: 1)
        running.state = .training
        try store.insertJob(running)
        #expect(throws: StoreError.self) { try store.deleteJob("running") }
        var done = job("done", at: 2)
        try store.insertJob(done)
        try store.addTrial(jobID: "done", try trial(1))
        done.state = .succeeded
        try store.completeJob(done, model: ModelRecord(id: "done", labels: ["a", "b"], width: 28, height: 28, channels: 1,
                                                      architecture: "x", parameters: 10, testAccuracy: 0.9))
        #expect(try store.job("done")?.state == .succeeded && store.model("done") != nil)
        try store.deleteJob("done")
        #expect(try store.job("done") == nil && store.model("done") == nil && store.trials(jobID: "done").isEmpty)
        #expect(throws: StoreError.notFound(kind: "job", id: "done")) { try store.deleteJob("done") }
    }

    @Test(arguments: Kind.allCases) func theOldestJobWithAReadyDatasetIsClaimedFirst(kind: Kind) throws {
        let store = try makeStore(kind)
        var importing = dataset("ds-importing", at: 1)
        try store.insertDataset(importing)
        var failed = dataset("ds-failed", at: 2)
        failed.state = .failed
        failed.failureReason = "no image imported"
        try store.insertDataset(failed)
        try store.insertJob(job("1-waits", at: 10, dataset: "ds-importing"))
        try store.insertJob(job("2-fails", at: 20, dataset: "ds-failed"))
        try store.insertJob(job("3-runs", at: 30))
        try store.insertJob(job("4-next", at: 40))
        let claimed = try #require(try store.claimNextJob(pid: getpid()))
        #expect(claimed.id == "3-runs" && claimed.state == .importing)
        #expect(try store.job("1-waits")?.state == .queued, "its dataset is still importing")
        let failedJob = try #require(try store.job("2-fails"))
        #expect(failedJob.state == .failed && failedJob.failureReason?.contains("no image imported") == true)
        importing.state = .ready
        try store.updateDataset("ds-importing") { $0.state = .ready }
        #expect(try store.claimNextJob(pid: getpid())?.id == "1-waits")
        #expect(try store.claimNextJob(pid: getpid())?.id == "4-next")
        #expect(try store.claimNextJob(pid: getpid()) == nil)
    }

    @Test(arguments: Kind.allCases) func jobsOfADeadProcessAreRecoveredAndThisProcesssAreNot(kind: Kind) throws {
        let store = try makeStore(kind)
        for (id, seconds) in [("mine", 1.0), ("orphan", 2.0), ("unclaimed", 3.0)] {
            var record = job(id, at: seconds)
            record.state = .searching
            try store.insertJob(record)
        }
        try store.setRunner(jobID: "mine", pid: getpid())
        try store.setRunner(jobID: "orphan", pid: Self.deadProcessID())
        let recovered = try store.recoverOrphanedJobs { $0.state = .queued }
        #expect(Set(recovered.map(\.id)) == ["orphan", "unclaimed"])
        #expect(try store.job("orphan")?.state == .queued && store.job("mine")?.state == .searching)
    }

    @Test(arguments: Kind.allCases) func trialsAreKeptInOrderAndAReplayedTrialReplacesItsRecord(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertJob(job("j", at: 1))
        try store.addTrial(jobID: "j", try trial(2))
        try store.addTrial(jobID: "j", try trial(1))
        var again = try trial(2)
        again.validationAccuracy = 0.75
        try store.addTrial(jobID: "j", again)
        #expect(try store.trials(jobID: "j").map(\.id) == [1, 2])
        #expect(try store.trials(jobID: "j").last?.validationAccuracy == 0.75)
    }

    @Test(arguments: Kind.allCases) func aDatasetInUseIsNotDeleted(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertDataset(dataset("ds-a", at: 1))
        try store.insertDataset(dataset("ds-b", at: 2))
        #expect(try store.datasets().map(\.id) == ["ds-b", "ds-a"])
        try store.insertJob(job("uses-a", at: 3, dataset: "ds-a"))
        #expect(throws: StoreError.self) { try store.deleteDataset("ds-a") }
        try store.updateJob("uses-a") { $0.state = .failed }
        try store.deleteDataset("ds-a")
        #expect(try store.dataset("ds-a") == nil)
        #expect(try store.job("uses-a")?.datasetID == nil, "a finished job outlives its dataset")
        #expect(throws: StoreError.notFound(kind: "dataset", id: "ds-a")) { try store.deleteDataset("ds-a") }
        let renamed = try store.updateDataset("ds-b") { $0.name = "renamed" }
        #expect(try renamed.name == "renamed" && store.dataset("ds-b")?.name == "renamed")
    }

    /// The ID of a process that has exited: a child started and waited for.
    static func deadProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
