import Foundation
import JobService
import Search
import Testing

/// A worker runs a job while it holds the job's lease: the keeper renews it, and a worker that lost
/// it (paused or cut off past its expiry, the job taken by another) stops and writes nothing more.
@Suite struct LeaseTests {
    @Test func aKeptLeaseOutlivesItsLengthAndAStolenOneIsLost() throws {
        let store = InMemoryJobStore()
        let lease = try store.insertLeasedJob(JobRecord(id: "j", manifest: "/m.csv", budgetSeconds: 60, seed: 0), owner: "w1", leaseSeconds: 0.4)
        let keeper = LeaseKeeper(store: store, lease: lease, leaseSeconds: 0.4, heartbeatSeconds: 0.05)
        keeper.start()
        Thread.sleep(forTimeInterval: 1)
        #expect(!keeper.isLost)
        #expect(try store.requeueExpiredLeases { _, _ in }.isEmpty, "a renewed lease does not expire")
        keeper.stop()
        Thread.sleep(forTimeInterval: 0.6)
        #expect(try store.requeueExpiredLeases { _, _ in }.map(\.id) == ["j"], "an unrenewed one does")
        let stolen = LeaseKeeper(store: store, lease: keeper.lease, leaseSeconds: 0.4, heartbeatSeconds: 0.05)
        stolen.start()
        defer { stolen.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(stolen.isLost)
    }

    @Test func aJobWhoseLeaseIsTakenStopsAndWritesNothingMore() throws {
        var options = TrainingJobOptions(manifest: try TrainingJobTests.slice(perClass: 20), budget: Budget(seconds: 60))
        options.jobsDirectory = TrainingJobTests.root.appendingPathComponent("jobs")
        let store = InMemoryJobStore()
        let record = TrainingJob.newRecord(options: options)
        let lease = try store.insertLeasedJob(record, owner: "paused", leaseSeconds: 600)
        final class Flag: @unchecked Sendable { var value = false }  // written and read on the job's thread only
        let taken = Flag()
        let job = try TrainingJob(options: options, store: store.fenced(by: lease), id: record.id) { event in
            // After the first trial, the lease is taken over, as when a worker paused past its expiry
            // finds its job queued again and claimed by another.
            guard case .trial = event, !taken.value else { return }
            taken.value = true
            try? store.releaseLease(lease)
            _ = try? store.claimNextJob(owner: "another", leaseSeconds: 600)
        }
        #expect(throws: StoreError.leaseLost(jobID: record.id)) { try job.run() }
        let stored = try #require(try store.job(record.id))
        #expect(stored.state == .searching, "the claim by the other worker stands; the paused one wrote no state after it")
        #expect(stored.trialsDone == 1)
        #expect(try store.trials(jobID: record.id).count == 1)
        #expect(try store.model(record.id) == nil)
    }
}
