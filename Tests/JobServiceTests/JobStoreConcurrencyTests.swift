import Dispatch
import Foundation
import JobService
import Testing

/// The store contract under concurrent workers (threads sharing one store, as worker processes share
/// one database): what PostgreSQL job queues got wrong (docs/decisions/0022-postgresql-queue-failures.md).
@Suite struct JobStoreConcurrencyTests {
    typealias Kind = JobStoreContractTests.Kind

    /// Optuna's duplicate pops (optuna#1014), solid_queue's double claims: a claim is one transaction.
    @Test(arguments: Kind.allCases) func workersClaimingAtOnceNeverGetTheSameJob(kind: Kind) throws {
        let store = try JobStoreContractTests().makeStore(kind)
        let ids = (0..<60).map { String(format: "j%02d", $0) }
        for (index, id) in ids.enumerated() { try store.insertJob(JobStoreContractTests().job(id, at: Double(index))) }
        let claims = Locked<[String]>([])
        let errors = Locked<[String]>([])
        runTogether(6) { worker in
            do {
                while let (record, _) = try store.claimNextJob(owner: "w\(worker)", leaseSeconds: 60) { claims.mutate { $0.append(record.id) } }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        #expect(errors.value.isEmpty, "\(errors.value)")
        #expect(claims.value.sorted() == ids, "each job claimed once: \(claims.value.sorted())")
    }

    /// Optuna's duplicate trial numbers (optuna#1014 for trials, #2021): workers deciding trials of one
    /// search at once each see every unit decided before theirs, and no two get one trial ID.
    @Test(arguments: Kind.allCases) func workersDecidingTrialsAtOnceSeeOneAnotherAndNeverShareAnID(kind: Kind) throws {
        let store = try JobStoreContractTests().makeStore(kind)
        var record = JobStoreContractTests().job("j", at: 1)
        record.state = .searching
        try store.insertJob(record)
        let claims = Locked<[Int]>([])
        let errors = Locked<[String]>([])
        runTogether(6) { worker in
            do {
                for _ in 0..<5 {
                    let unit = try store.claimTrialUnit(jobID: "j", owner: "w\(worker)", leaseSeconds: 60) { _, _, units in
                        // The decision names how many units it saw: the units before it, all of them.
                        Data("\(units.count)".utf8)
                    }
                    guard let unit else { throw StoreError.database("no unit") }
                    #expect(String(decoding: unit.decision, as: UTF8.self) == "\(unit.trialID - 1)", "unit \(unit.trialID) saw every unit before it")
                    claims.mutate { $0.append(unit.trialID) }
                }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        #expect(errors.value.isEmpty, "\(errors.value)")
        #expect(claims.value.sorted() == Array(1...30), "\(claims.value.sorted())")
    }

    /// Claims, renewals, next units, fenced writes, releases and the reaper all at once (Oban#168,
    /// solid_queue#267: deadlocks; solid_queue#589, River#1302: a stale owner's write landing): no
    /// error but `leaseLost`, and every attempt's writes come from one owner.
    @Test(arguments: Kind.allCases) func claimsWritesAndReapsAtOnceNeitherDeadlockNorLetTwoOwnersWrite(kind: Kind) throws {
        let store = try JobStoreContractTests().makeStore(kind)
        for index in 0..<4 { try store.insertJob(JobStoreContractTests().job("j\(index)", at: Double(index))) }
        let writers = Locked<[String: Set<String>]>([:])  // "job attempt" → owners whose fenced write landed
        let errors = Locked<[String]>([])
        let deadline = Date().addingTimeInterval(2)
        runTogether(5) { worker in
            do {
                while Date() < deadline {
                    if worker == 0 {
                        _ = try store.requeueExpiredLeases { record, _ in record.resumes = (record.resumes ?? 0) + 1 }
                    } else {
                        try Self.workOnce(store: store, owner: "w\(worker)", writers: writers)
                    }
                }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        #expect(errors.value.isEmpty, "\(errors.value)")
        #expect(!writers.value.isEmpty && writers.value.values.allSatisfy { $0.count == 1 }, "\(writers.value.filter { $0.value.count > 1 })")
    }

    /// One worker's turn: claims a job with a short lease, writes under its fence, sometimes goes on to
    /// the next unit, then releases it or lets it expire.
    static func workOnce(store: any JobStore, owner: String, writers: Locked<[String: Set<String>]>) throws {
        guard var (_, lease) = try store.claimNextJob(owner: owner, leaseSeconds: 0.05) else { return }
        do {
            for _ in 0..<Int.random(in: 1...3) {
                try store.fenced(by: lease).updateJob(lease.jobID) { $0.trialsDone += 1 }
                writers.mutate { $0["\(lease.jobID) \(lease.attempt)", default: []].insert(owner) }
                if Bool.random() { lease = try store.advanceLease(lease, seconds: 0.05) } else { try store.renewLease(lease, seconds: 0.05) }
            }
            if Bool.random() { try store.releaseLease(lease) }
        } catch StoreError.leaseLost {
            return  // the reaper took it: this worker writes nothing more about it
        }
    }

    /// Oban#862: a restarted worker on the same host must not pass for the one that died.
    @Test func everyWorkerProcessStartHasItsOwnLeaseOwner() {
        let owners = (0..<100).map { _ in JobLease.newOwner() }
        #expect(Set(owners).count == owners.count)
        #expect(owners.allSatisfy { $0.hasPrefix(ProcessInfo.processInfo.hostName + ":\(getpid()):") })
    }
}

/// Runs `body` on `count` threads of their own (as many workers as asked, whatever the cores), released
/// together once all have started; returns when all have returned.
func runTogether(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let ready = Locked(0)
    let start = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for index in 0..<count {
        done.enter()
        Thread {
            ready.mutate { $0 += 1 }
            if ready.value == count { for _ in 0..<count { start.signal() } }
            start.wait()
            body(index)
            done.leave()
        }.start()
    }
    done.wait()
}

/// A value shared between threads, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }

    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
