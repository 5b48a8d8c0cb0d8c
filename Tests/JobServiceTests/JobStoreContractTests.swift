import Foundation
import JobService
import PostgresStore
import Search
import TestSupport
import Testing

/// The contract every `JobStore` keeps, run against each implementation: the service, the runner
/// and the job rely on exactly these behaviours, whichever store holds the state.
@Suite struct JobStoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, inMemory, postgres
        var testDescription: String { rawValue }
        /// PostgreSQL runs when the test command started a cluster (`Scripts/postgres.sh`).
        static var allCases: [Kind] { TestPostgres.serverURL == nil ? [.sqlite, .inMemory] : [.sqlite, .inMemory, .postgres] }
    }

    static let root = processScratchDirectory(prefix: "store-contract")

    func makeStore(_ kind: Kind) throws -> any JobStore {
        let folder = Self.root.appendingPathComponent(UUID().uuidString)
        switch kind {
        case .sqlite: return try SQLiteJobStore(jobsDirectory: folder)
        case .inMemory: return InMemoryJobStore()
        case .postgres: return try PostgresJobStore(url: try TestPostgres.newDatabase(), cacheDirectory: folder)
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

    @Test(arguments: Kind.allCases) func resourcesAreKeptByKindInCreationOrderAndReplacedInPlace(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.saveResource(kind: "endpoint", id: "b", Data("1".utf8))
        try store.saveResource(kind: "endpoint", id: "a", Data("2".utf8))
        try store.saveResource(kind: "batch", id: "a", Data("3".utf8))
        try store.saveResource(kind: "endpoint", id: "b", Data("4".utf8))
        #expect(try store.resources(kind: "endpoint") == [Data("4".utf8), Data("2".utf8)])
        #expect(try store.resource(kind: "batch", id: "a") == Data("3".utf8))
        #expect(try store.resource(kind: "batch", id: "b") == nil)
        #expect(try store.deleteResource(kind: "endpoint", id: "b"))
        #expect(try !store.deleteResource(kind: "endpoint", id: "b"))
        #expect(try store.resources(kind: "endpoint") == [Data("2".utf8)])
        #expect(try store.resources(kind: "none").isEmpty)
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

    @Test(arguments: Kind.allCases) func aPlanIsKeptPerJob(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertJob(job("j", at: 1))
        #expect(try store.plan(jobID: "j") == nil)
        try store.savePlan(jobID: "j", Self.plan)
        #expect(try store.plan(jobID: "j") == Self.plan)
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
        let claimed = try #require(try store.claimNextJob(owner: "w1", leaseSeconds: 60))
        #expect(claimed.record.id == "3-runs" && claimed.record.state == .importing)
        #expect(claimed.lease.owner == "w1" && claimed.lease.attempt == 1 && claimed.lease.expiresAt > Date().addingTimeInterval(50))
        #expect(try store.job("1-waits")?.state == .queued, "its dataset is still importing")
        let failedJob = try #require(try store.job("2-fails"))
        #expect(failedJob.state == .failed && failedJob.failureReason?.contains("no image imported") == true)
        importing.state = .ready
        try store.updateDataset("ds-importing") { $0.state = .ready }
        #expect(try store.claimNextJob(owner: "w1", leaseSeconds: 60)?.record.id == "1-waits")
        #expect(try store.claimNextJob(owner: "w2", leaseSeconds: 60)?.record.id == "4-next")
        #expect(try store.claimNextJob(owner: "w1", leaseSeconds: 60) == nil)
    }

    @Test(arguments: Kind.allCases) func aJobWhoseLeaseExpiredIsFreedForItsUnitAndALiveLeaseIsLeftAlone(kind: Kind) throws {
        let store = try makeStore(kind)
        let live = try store.insertLeasedJob(job("live", at: 1), owner: "w1", leaseSeconds: 60)
        #expect(try store.job("live")?.state == .importing, "inserted as claimed: no other worker takes it")
        _ = try store.insertLeasedJob(job("expired", at: 2), owner: "w2", leaseSeconds: 0.05)
        var between = job("between-units", at: 3)
        between.state = .training
        try store.insertJob(between)
        _ = try store.insertLeasedJob(job("cancelled", at: 4), owner: "w3", leaseSeconds: 0.05)
        try store.requestCancel("cancelled")
        Thread.sleep(forTimeInterval: 0.1)
        let recovered = try store.requeueExpiredLeases { record, losses in record.resumes = losses }
        #expect(recovered.map(\.id) == ["expired", "cancelled"], "a job between units has no lease to expire")
        #expect(try store.job("expired")?.state == .importing && store.job("expired")?.resumes == 1, "it stays at its unit")
        #expect(try store.job("cancelled")?.state == .cancelled, "a job someone asked to cancel is not run again")
        #expect(try store.job("live")?.state == .importing)
        #expect(try store.renewLease(live, seconds: 60).expiresAt > live.expiresAt)
        let again = try #require(try store.claimNextJob(owner: "w4", leaseSeconds: 60))
        #expect(again.record.id == "expired" && again.record.state == .importing && again.lease.attempt == 2, "each claim is a new attempt")
        let next = try #require(try store.claimNextJob(owner: "w5", leaseSeconds: 60))
        #expect(next.record.id == "between-units" && next.record.state == .training, "claimed for its next unit, in its state")
        #expect(try store.claimNextJob(owner: "w6", leaseSeconds: 60) == nil)
    }

    @Test(arguments: Kind.allCases) func aUnitLostAgainCountsItsLossesAndItsTimeIsCharged(kind: Kind) throws {
        let store = try makeStore(kind)
        var record = job("j", at: 1)
        record.state = .training  // a search's time is charged by its trial units (`aLostTrialUnitIsClaimedAgain…`)
        record.trialsDone = 2
        record.usedSeconds = 10
        try store.insertJob(record)
        var losses: [Int] = []
        for round in 0..<3 {
            let claimed = try #require(try store.claimNextJob(owner: "w\(round)", leaseSeconds: 0.3))
            Thread.sleep(forTimeInterval: 0.15)
            _ = try store.renewLease(claimed.lease, seconds: 0.05)  // the worker's last sign of life, then silence
            Thread.sleep(forTimeInterval: 0.1)
            _ = try store.requeueExpiredLeases { _, count in losses.append(count) }
        }
        #expect(losses == [1, 2, 3], "the final training lost three times in a row")
        let charged = try #require(try store.job("j")).usedSeconds
        #expect(charged > 10.3 && charged < 12, "each loss charges the time from the job's last write to its last renewal")
        try store.updateJob("j") { $0.state = .evaluating }  // the unit was done at last; the next one is another unit
        let claimed = try #require(try store.claimNextJob(owner: "w", leaseSeconds: 0.05))
        Thread.sleep(forTimeInterval: 0.1)
        _ = try store.requeueExpiredLeases { _, count in losses.append(count) }
        #expect(losses.last == 1 && claimed.lease.attempt == 4)
    }

    /// A searching job's trial units: each decided under the job's lock knowing of those in flight,
    /// with the next trial ID, and finished once, with its trial and the job's change in one write.
    @Test(arguments: Kind.allCases) func trialUnitsAreDecidedKnowingOfOneAnotherAndFinishedOnce(kind: Kind) throws {
        let store = try makeStore(kind)
        var record = job("j", at: 1)
        try store.insertJob(record)
        #expect(try store.claimTrialUnit(jobID: "j", owner: "w1", leaseSeconds: 60) { _, _, _ in Data("never".utf8) } == nil,
                "a job not searching has no trial unit")
        record.state = .searching
        try store.updateJob("j") { $0.state = .searching }
        try store.addTrial(jobID: "j", try trial(1))
        var seen: (state: JobState, trials: [Int], units: [TrialUnit])?
        let first = try #require(try store.claimTrialUnit(jobID: "j", owner: "w1", leaseSeconds: 60) { job, trials, units in
            seen = (job.state, trials.map(\.id), units)
            return Data("a".utf8)
        })
        #expect(seen?.state == .searching && seen?.trials == [1] && seen?.units.isEmpty == true)
        let second = try #require(try store.claimTrialUnit(jobID: "j", owner: "w2", leaseSeconds: 60) { _, trials, units in
            seen = (.searching, trials.map(\.id), units)
            return Data("b".utf8)
        })
        let units = seen?.units ?? []
        #expect(units.map(\.trialID) == [2] && units.map(\.decision) == [Data("a".utf8)] && units.map(\.owner) == ["w1"])
        #expect(first.trialID == 2 && second.trialID == 3 && first.attempt == 1 && first.lease.trialID == 2)
        #expect(try store.claimTrialUnit(jobID: "j", owner: "w3", leaseSeconds: 60) { _, _, _ in nil } == nil, "no decision, no unit")
        try store.finishTrialUnit(second.lease, trial: try trial(3)) {
            $0.usedSeconds += 5
            $0.trialsDone += 1
        }
        #expect(try store.trials(jobID: "j").map(\.id) == [1, 3], "trials finish in any order, each under its own ID")
        #expect(try store.trialUnits(jobID: "j").map(\.trialID) == [2])
        #expect(try store.job("j")?.usedSeconds == 5 && store.job("j")?.trialsDone == 1)
        #expect(throws: StoreError.leaseLost(jobID: "j"), "a unit is finished once") {
            try store.finishTrialUnit(second.lease, trial: try trial(3)) { $0.trialsDone += 1 }
        }
        #expect(throws: StoreError.leaseLost(jobID: "j"), "under its own ID only") {
            try store.finishTrialUnit(first.lease, trial: try trial(4)) { _ in }
        }
        let third = try #require(try store.claimTrialUnit(jobID: "j", owner: "w2", leaseSeconds: 60) { _, _, _ in Data("c".utf8) })
        #expect(third.trialID == 4, "after every trial and unit")
        let primary = try #require(try store.claimNextJob(owner: "p", leaseSeconds: 60), "the job's own lease, beside its units'")
        #expect(try store.fenced(by: primary.lease).claimTrialUnit(jobID: "j", owner: "p", leaseSeconds: 60) { _, _, _ in nil } == nil)
        try store.releaseLease(primary.lease)
        #expect(throws: StoreError.leaseLost(jobID: "j"), "the worker that lost the job's lease claims nothing more") {
            try store.fenced(by: primary.lease).claimTrialUnit(jobID: "j", owner: "p", leaseSeconds: 60) { _, _, _ in Data("d".utf8) }
        }
        try store.updateJob("j") { $0.state = .training }
        #expect(throws: StoreError.leaseLost(jobID: "j"), "a search that ended takes no more trials") {
            try store.finishTrialUnit(first.lease, trial: try trial(2)) { _ in }
        }
        #expect(try store.trials(jobID: "j").map(\.id) == [1, 3] && store.job("j")?.trialsDone == 1)
    }

    /// A unit whose worker stopped is claimed again by the next claim, with its decision and trial
    /// ID, its lost time charged; the stopped worker's lease then fences nothing. A released unit
    /// (its worker paused) is claimed again at once, nothing charged.
    @Test(arguments: Kind.allCases) func aLostTrialUnitIsClaimedAgainWithItsDecisionAndItsTimeCharged(kind: Kind) throws {
        let store = try makeStore(kind)
        var record = job("j", at: 1)
        record.state = .searching
        record.usedSeconds = 10
        try store.insertJob(record)
        let lost = try #require(try store.claimTrialUnit(jobID: "j", owner: "w1", leaseSeconds: 0.3) { _, _, _ in Data("a".utf8) })
        Thread.sleep(forTimeInterval: 0.15)
        let renewed = try store.renewLease(lost.lease, seconds: 0.05)  // the worker's last sign of life, then silence
        #expect(renewed.trialID == lost.trialID)
        var seen: [TrialUnit] = []
        let none = try store.claimTrialUnit(jobID: "j", owner: "w2", leaseSeconds: 60) { _, _, units in
            seen = units
            return nil
        }
        #expect(none == nil && seen.count == 1, "the live unit is in flight")
        Thread.sleep(forTimeInterval: 0.15)
        var decided = false
        let again = try #require(try store.claimTrialUnit(jobID: "j", owner: "w2", leaseSeconds: 60) { _, _, _ in
            decided = true
            return Data("b".utf8)
        })
        #expect(!decided, "a lost unit is claimed again before anything new is decided")
        #expect(again.trialID == lost.trialID && again.decision == Data("a".utf8) && again.attempt == 2 && again.owner == "w2")
        let charged = try #require(try store.job("j")).usedSeconds
        #expect(charged > 10.1 && charged < 11, "its time from its claim to its last renewal is charged: \(charged)")
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.renewLease(lost.lease, seconds: 60) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) {
            try store.fenced(by: lost.lease).writeArtifact(jobID: "j", name: "best-trial.ckpt", Data("late".utf8))
        }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.finishTrialUnit(lost.lease, trial: try trial(again.trialID)) { _ in } }
        try store.fenced(by: again.lease).writeArtifact(jobID: "j", name: "best-trial.ckpt", Data("kept".utf8))
        #expect(try store.readArtifact(jobID: "j", name: "best-trial.ckpt") == Data("kept".utf8))

        try store.releaseLease(again.lease)
        let resumed = try #require(try store.claimTrialUnit(jobID: "j", owner: "w3", leaseSeconds: 60) { _, _, _ in Data("c".utf8) })
        #expect(resumed.trialID == lost.trialID && resumed.attempt == 3 && resumed.decision == Data("a".utf8))
        #expect(try store.job("j")?.usedSeconds == charged, "a released unit's worker charged its own time")
        try store.finishTrialUnit(resumed.lease, trial: try trial(resumed.trialID)) { $0.trialsDone += 1 }
        #expect(try store.trials(jobID: "j").map(\.id) == [1] && store.trialUnits(jobID: "j").isEmpty)
    }

    @Test(arguments: Kind.allCases) func anImportIsClaimedOnceAndALostOneIsTakenAgainUntilItFailsTheDataset(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertDataset(dataset("ds-1", at: 1))
        var ready = dataset("ds-ready", at: 0)
        ready.state = .ready
        try store.insertDataset(ready)
        #expect(try store.claimNextImport(owner: "w1", leaseSeconds: 0.05, maximumAttempts: 3)?.id == "ds-1")
        #expect(try store.claimNextImport(owner: "w2", leaseSeconds: 60, maximumAttempts: 3) == nil, "its lease is live")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(throws: StoreError.self) { try store.renewImport("ds-1", owner: "w2", seconds: 60) }
        #expect(try store.claimNextImport(owner: "w2", leaseSeconds: 60, maximumAttempts: 3)?.id == "ds-1", "taken again once expired")
        #expect(throws: StoreError.self) { try store.finishImport("ds-1", owner: "w1") { $0.state = .ready } }
        #expect(try store.dataset("ds-1")?.state == .importing, "the worker that lost the import wrote nothing")
        try store.renewImport("ds-1", owner: "w2", seconds: 0.05)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try store.claimNextImport(owner: "w3", leaseSeconds: 0.05, maximumAttempts: 3)?.id == "ds-1")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try store.claimNextImport(owner: "w4", leaseSeconds: 60, maximumAttempts: 3) == nil, "three attempts: not a fourth")
        let failed = try #require(try store.dataset("ds-1"))
        #expect(failed.state == .failed && failed.failureReason?.contains("stopped its worker 3 times") == true)

        try store.insertDataset(dataset("ds-2", at: 2))
        #expect(try store.claimNextImport(owner: "w5", leaseSeconds: 60, maximumAttempts: 3)?.id == "ds-2")
        let done = try store.finishImport("ds-2", owner: "w5") {
            $0.state = .ready
            $0.images = 7
        }
        #expect(try done.state == .ready && store.dataset("ds-2")?.images == 7)
        #expect(try store.claimNextImport(owner: "w6", leaseSeconds: 60, maximumAttempts: 3) == nil)
    }

    @Test(arguments: Kind.allCases) func theNextUnitHasANewAttemptThatFencesTheLastOne(kind: Kind) throws {
        let store = try makeStore(kind)
        let first = try store.insertLeasedJob(job("j", at: 1), owner: "w", leaseSeconds: 60)
        let second = try store.advanceLease(first, seconds: 60)
        #expect(second.owner == "w" && second.attempt == first.attempt + 1)
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.fenced(by: first).updateJob("j") { $0.trialsDone = 5 } }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.advanceLease(first, seconds: 60) }
        try store.fenced(by: second).updateJob("j") { $0.trialsDone = 1 }
        #expect(try store.job("j")?.trialsDone == 1)
    }

    @Test(arguments: Kind.allCases) func valuesAndArtifactsAreKeptPerJobAndFenced(kind: Kind) throws {
        let store = try makeStore(kind)
        let lease = try store.insertLeasedJob(job("j", at: 1), owner: "w", leaseSeconds: 60)
        let fenced = store.fenced(by: lease)
        #expect(try store.value(jobID: "j", key: "search") == nil && store.readArtifact(jobID: "j", name: "final.ckpt") == nil)
        try fenced.saveValue(jobID: "j", key: "search", Data("{\"a\":1}".utf8))
        try fenced.saveValue(jobID: "j", key: "search", Data("{\"a\":2}".utf8))
        try fenced.writeArtifact(jobID: "j", name: "final.ckpt", Data([1, 2, 3]))
        #expect(try store.value(jobID: "j", key: "search") == Data("{\"a\":2}".utf8), "a value is replaced")
        #expect(try store.readArtifact(jobID: "j", name: "final.ckpt") == Data([1, 2, 3]))
        let next = try store.advanceLease(lease, seconds: 60)
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fenced.saveValue(jobID: "j", key: "search", Data()) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fenced.writeArtifact(jobID: "j", name: "final.ckpt", Data([9])) }
        #expect(try store.readArtifact(jobID: "j", name: "final.ckpt") == Data([1, 2, 3]), "a stale writer replaced nothing")
        try store.releaseLease(next)
        try store.updateJob("j") { $0.state = .failed }
        try store.deleteJob("j")
        #expect(try store.value(jobID: "j", key: "search") == nil)
    }

    @Test(arguments: Kind.allCases) func aFileArtifactIsKeptWholeAndFencedAndItsSourceLeftAsItIs(kind: Kind) throws {
        let store = try makeStore(kind)
        let lease = try store.insertLeasedJob(job("j", at: 1), owner: "w", leaseSeconds: 60)
        let fenced = store.fenced(by: lease)
        let source = Self.root.appendingPathComponent("source-\(UUID().uuidString).avcache")
        let bytes = Data((0..<100_000).map { UInt8($0 % 251) })
        try bytes.write(to: source)
        #expect(try store.artifactFile(jobID: "j", name: "dataset.avcache") == nil)
        try fenced.writeArtifact(jobID: "j", name: "dataset.avcache", contentsOf: source)
        let kept = try #require(try store.artifactFile(jobID: "j", name: "dataset.avcache"))
        #expect(kept != source && FileManager.default.contents(atPath: kept.path) == bytes)
        #expect(FileManager.default.contents(atPath: source.path) == bytes, "the source is left as it is")
        let other = Self.root.appendingPathComponent("other-\(UUID().uuidString).avcache")
        try Data([7]).write(to: other)
        _ = try store.advanceLease(lease, seconds: 60)
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fenced.writeArtifact(jobID: "j", name: "dataset.avcache", contentsOf: other) }
        #expect(try store.artifactFile(jobID: "j", name: "dataset.avcache").flatMap { FileManager.default.contents(atPath: $0.path) } == bytes,
                "a stale writer replaced nothing")
        let folder = kept.deletingLastPathComponent()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }.isEmpty,
                "the refused write left no temporary file")
    }

    @Test(arguments: Kind.allCases) func aWorkerThatLostItsLeaseWritesNothing(kind: Kind) throws {
        let store = try makeStore(kind)
        let stale = try store.insertLeasedJob(job("j", at: 1), owner: "paused", leaseSeconds: 0.05)
        let fencedStale = store.fenced(by: stale)
        try fencedStale.updateJob("j") { $0.trialsDone = 1 }
        try fencedStale.addTrial(jobID: "j", try trial(1))
        Thread.sleep(forTimeInterval: 0.1)
        _ = try store.requeueExpiredLeases { _, _ in }
        let current = try #require(try store.claimNextJob(owner: "new", leaseSeconds: 60)).lease
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.renewLease(stale, seconds: 60) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.updateJob("j") { $0.trialsDone = 99 } }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.addTrial(jobID: "j", try trial(2)) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.savePlan(jobID: "j", Self.plan) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.saveValue(jobID: "j", key: "search", Data()) }
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.writeArtifact(jobID: "j", name: "best-trial.ckpt", Data([1])) }
        var done = try #require(try store.job("j"))
        done.state = .succeeded
        let model = ModelRecord(id: "j", labels: ["a"], width: 1, height: 1, channels: 1, architecture: "x", parameters: 1, testAccuracy: 1)
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try fencedStale.completeJob(done, model: model) }
        #expect(try store.job("j")?.trialsDone == 1 && store.trials(jobID: "j").count == 1 && store.plan(jobID: "j") == nil)
        #expect(try store.model("j") == nil && store.job("j")?.state == .importing)
        #expect(try store.readArtifact(jobID: "j", name: "best-trial.ckpt") == nil)
        let fencedCurrent = store.fenced(by: current)
        try fencedCurrent.addTrial(jobID: "j", try trial(2))
        try fencedCurrent.completeJob(done, model: model)
        #expect(try store.job("j")?.state == .succeeded && store.trials(jobID: "j").count == 2)
        try store.releaseLease(current)
        #expect(throws: StoreError.leaseLost(jobID: "j")) { try store.renewLease(current, seconds: 60) }
    }

    static let plan = JobPlan(searches: true, budgetSeconds: 60, searchSeconds: 15,
                              regime: SearchRegime(costModel: CostModel(secondsPerImageFLOP: 1e-9), baseImageEpochs: 8000,
                                                   favourCapacityWithinNoise: false, augmentationFloor: .none),
                              rebalancingSearched: false, minimumSecondsAfterCalibration: 5)

    @Test(arguments: Kind.allCases) func trialsAreKeptInOrderAndAReplayedTrialReplacesItsRecord(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertJob(job("j", at: 1))
        try store.addTrial(jobID: "j", try trial(2))
        try store.addTrial(jobID: "j", try trial(1))
        var again = try trial(2)
        again.validationScore = 0.75
        try store.addTrial(jobID: "j", again)
        #expect(try store.trials(jobID: "j").map(\.id) == [1, 2])
        #expect(try store.trials(jobID: "j").last?.validationScore == 0.75)
    }

    @Test(arguments: Kind.allCases) func aDatasetKeepsItsVersionParentAndImportProgress(kind: Kind) throws {
        let store = try makeStore(kind)
        try store.insertDataset(dataset("upload", at: 1))
        var labelled = DatasetRecord(id: "labelled", root: "/data", manifest: "/data/v2.csv", multiLabel: false, version: 2,
                                     parentDatasetID: "upload", now: Date(timeIntervalSince1970: 2))
        labelled.importProgress = ImportProgress(imagesDone: 0, imagesTotal: 70_000)
        try store.insertDataset(labelled)
        let upload = try #require(try store.dataset("upload"))
        #expect(upload.version == 1 && upload.parentDatasetID == nil && upload.importProgress == nil)
        let stored = try #require(try store.dataset("labelled"))
        #expect(stored.version == 2 && stored.parentDatasetID == "upload")
        #expect(stored.importProgress == ImportProgress(imagesDone: 0, imagesTotal: 70_000))
        try store.updateDataset("labelled") { $0.importProgress = ImportProgress(imagesDone: 35_000, imagesTotal: 70_000) }
        #expect(try store.dataset("labelled")?.importProgress?.imagesDone == 35_000)
        #expect(try store.datasets().map { "\($0.id) v\($0.version) \($0.parentDatasetID ?? "-")" } == ["labelled v2 upload", "upload v1 -"])
        // The import's lease keeps them: claimed and finished, the record keeps its version and parent.
        let claimed = try #require(try store.claimNextImport(owner: "w", leaseSeconds: 60, maximumAttempts: 3))
        #expect(claimed.id == "upload")
        _ = try #require(try store.claimNextImport(owner: "w", leaseSeconds: 60, maximumAttempts: 3))
        let finished = try store.finishImport("labelled", owner: "w") { $0.state = .ready }
        #expect(finished.version == 2 && finished.parentDatasetID == "upload" && finished.importProgress?.imagesDone == 35_000)
    }

    @Test func aDatasetStoredBeforeVersionsDecodesAsVersionOne() throws {
        let json = #"{"id":"old","state":"ready","root":"/d","manifest":"/d/m.csv","multi_label":false,"#
            + #""created_at":0,"updated_at":0}"#
        let record = try JSONDecoder().decode(DatasetRecord.self, from: Data(json.utf8))
        #expect(record.version == 1 && record.parentDatasetID == nil && record.importProgress == nil)
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

    /// What a worker on another machine needs of a dataset (its upload, its decoded images) is kept before
    /// the dataset's record exists, replaced whole, and removed with the dataset only: content another
    /// artifact shares stays readable.
    @Test(arguments: Kind.allCases) func datasetArtifactsAreKeptBeforeTheRecordAndGoWithTheDataset(kind: Kind) throws {
        let store = try makeStore(kind)
        func file(_ bytes: Data) throws -> URL {
            try FileManager.default.createDirectory(at: Self.root, withIntermediateDirectories: true)
            let url = Self.root.appendingPathComponent("dataset-artifact-\(UUID().uuidString)")
            try bytes.write(to: url)
            return url
        }
        func contents(_ url: URL?) -> Data? { url.flatMap { FileManager.default.contents(atPath: $0.path) } }
        let zip = Data((0..<50_000).map { UInt8($0 % 253) })
        #expect(try store.datasetArtifactFile(datasetID: "ds-a", name: "upload.zip") == nil)
        try store.writeDatasetArtifact(datasetID: "ds-a", name: "upload.zip", contentsOf: try file(Data([1, 2, 3])))
        try store.writeDatasetArtifact(datasetID: "ds-a", name: "upload.zip", contentsOf: try file(zip))
        #expect(contents(try store.datasetArtifactFile(datasetID: "ds-a", name: "upload.zip")) == zip, "the last write replaced the first")
        #expect(try store.datasetArtifactFile(datasetID: "ds-b", name: "upload.zip") == nil, "kept per dataset")
        try store.insertDataset(dataset("ds-a", at: 1))
        try store.insertJob(job("j", at: 2))
        try store.writeArtifact(jobID: "j", name: "copy", contentsOf: try file(zip))
        try store.deleteDataset("ds-a")
        #expect(try store.datasetArtifactFile(datasetID: "ds-a", name: "upload.zip") == nil, "deleted with its dataset")
        #expect(contents(try store.artifactFile(jobID: "j", name: "copy")) == zip, "a job's artifact with the same content stays")
    }

    /// On PostgreSQL a dataset's artifacts and a job's share content-addressed chunks: deleting the dataset
    /// keeps the chunks a job still names, as another machine (with nothing cached) reads them.
    @Test(.enabled(if: TestPostgres.serverURL != nil)) func aDeletedDatasetLeavesTheChunksAJobNames() throws {
        let url = try TestPostgres.newDatabase()
        let store = try PostgresJobStore(url: url, cacheDirectory: Self.root.appendingPathComponent(UUID().uuidString))
        try FileManager.default.createDirectory(at: Self.root, withIntermediateDirectories: true)
        let source = Self.root.appendingPathComponent("shared-\(UUID().uuidString)")
        let bytes = Data((0..<(5 << 20)).map { UInt8($0 % 241) })  // two chunks
        try bytes.write(to: source)
        try store.writeDatasetArtifact(datasetID: "ds-a", name: "dataset.avcache", contentsOf: source)
        try store.insertDataset(dataset("ds-a", at: 1))
        try store.insertJob(job("j", at: 2))
        try store.writeArtifact(jobID: "j", name: "dataset.avcache", contentsOf: source)
        try store.deleteDataset("ds-a")
        let elsewhere = try PostgresJobStore(url: url, cacheDirectory: Self.root.appendingPathComponent(UUID().uuidString))
        #expect(try elsewhere.artifactFile(jobID: "j", name: "dataset.avcache").flatMap { FileManager.default.contents(atPath: $0.path) } == bytes)
        #expect(try elsewhere.datasetArtifactFile(datasetID: "ds-a", name: "dataset.avcache") == nil)
    }

}
