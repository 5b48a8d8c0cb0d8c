import Foundation
import JobService
import PostgresNIO
import Search

extension PostgresJobStore {
    public func claimTrialUnit(jobID: String, owner: String, leaseSeconds: Double,
                               decide: (JobRecord, [TrialRecord], [TrialUnit]) throws -> Data?) throws -> TrialUnit? {
        try connections.transaction { transaction in
            // The job's row first, then its units': the one lock order (docs/decisions/0022-postgresql-queue-failures.md).
            try checkFence(transaction, jobID: jobID)
            guard var job = try JobRows.fetch(jobID, in: transaction, locking: true), job.state == .searching else { return nil }
            let units = try TrialUnitRows.units(jobID: jobID, in: transaction)
            guard let unit = try TrialUnit.claim(units: units, job: &job, trials: { try TrialUnitRows.trials(jobID: jobID, in: transaction) },
                                                 owner: owner, leaseSeconds: leaseSeconds, now: transaction.now, decide: decide) else { return nil }
            if unit.attempt > 1 { try JobRows.save(job, in: transaction) }
            try transaction.execute("""
                INSERT INTO trial_units (job_id, trial_id, decision, owner, attempt, expires_at, claimed_at, renewed_at)
                VALUES (\(jobID), \(unit.trialID), \(unit.decision), \(owner), \(unit.attempt), \(unit.expiresAt!), \(unit.claimedAt), \(unit.renewedAt))
                ON CONFLICT (job_id, trial_id) DO UPDATE SET owner = EXCLUDED.owner, attempt = EXCLUDED.attempt,
                    expires_at = EXCLUDED.expires_at, claimed_at = EXCLUDED.claimed_at, renewed_at = EXCLUDED.renewed_at
                """)
            return unit
        }
    }

    public func finishTrialUnit(_ lease: JobLease, trial: TrialRecord, _ change: (inout JobRecord) -> Void) throws {
        try connections.transaction { transaction in
            guard let trialID = lease.trialID, trial.id == trialID,
                  var job = try JobRows.fetch(lease.jobID, in: transaction, locking: true), job.state == .searching,
                  let unit = try TrialUnitRows.fetch(jobID: lease.jobID, trialID: trialID, locking: true, in: transaction),
                  unit.owner == lease.owner, unit.attempt == lease.attempt else {
                throw StoreError.leaseLost(jobID: lease.jobID)
            }
            try TrialUnitRows.insert(trial, jobID: lease.jobID, in: transaction)
            try transaction.execute("DELETE FROM trial_units WHERE job_id = \(lease.jobID) AND trial_id = \(trialID)")
            change(&job)
            job.updatedAt = transaction.now
            try JobRows.save(job, in: transaction)
        }
    }

    public func trialUnits(jobID: String) throws -> [TrialUnit] {
        try connections.transaction(reading: true) { try TrialUnitRows.units(jobID: jobID, in: $0) }
    }
}

/// The `trials` and `trial_units` tables' rows.
enum TrialUnitRows {
    static func insert(_ trial: TrialRecord, jobID: String, in transaction: PostgresTransaction) throws {
        try transaction.execute("""
            INSERT INTO trials (job_id, trial_id, record) VALUES (\(jobID), \(trial.id), \(try JSONRecord.encode(trial))::jsonb)
            ON CONFLICT (job_id, trial_id) DO UPDATE SET record = EXCLUDED.record
            """)
    }

    static func trials(jobID: String, in transaction: PostgresTransaction) throws -> [TrialRecord] {
        try transaction.rows("SELECT record::text FROM trials WHERE job_id = \(jobID) ORDER BY trial_id").compactMap {
            try? JSONRecord.decode(TrialRecord.self, $0)
        }
    }

    static func units(jobID: String, in transaction: PostgresTransaction) throws -> [TrialUnit] {
        try transaction.rows("""
            SELECT trial_id, decision, owner, attempt, expires_at, claimed_at, renewed_at FROM trial_units WHERE job_id = \(jobID) ORDER BY trial_id
            """).map { try unit($0, jobID: jobID) }
    }

    static func fetch(jobID: String, trialID: Int, locking: Bool, in transaction: PostgresTransaction) throws -> TrialUnit? {
        let lock: PostgresQuery = locking
            ? "SELECT trial_id, decision, owner, attempt, expires_at, claimed_at, renewed_at FROM trial_units WHERE job_id = \(jobID) AND trial_id = \(trialID) FOR UPDATE"
            : "SELECT trial_id, decision, owner, attempt, expires_at, claimed_at, renewed_at FROM trial_units WHERE job_id = \(jobID) AND trial_id = \(trialID)"
        return try transaction.rows(lock).first.map { try unit($0, jobID: jobID) }
    }

    private static func unit(_ row: PostgresRow, jobID: String) throws -> TrialUnit {
        let (trialID, decision, owner, attempt, expiresAt, claimedAt, renewedAt) = try row.decode((Int, ByteBuffer, String?, Int, Date?, Date, Date).self)
        return TrialUnit(jobID: jobID, trialID: trialID, decision: Data(buffer: decision), owner: owner, attempt: attempt,
                         expiresAt: expiresAt, claimedAt: claimedAt, renewedAt: renewedAt)
    }
}
