import Evaluation
import Foundation
import JobService
import Search
import Testing

/// The store is the one owner of a job's state: what the job does when the store does not take a
/// write, and what it keeps there.
@Suite struct StateOwnerTests {
    @Test func aTrialTheStoreDoesNotTakeFailsTheJobWithTheReason() throws {
        var options = TrainingJobOptions(manifest: try TrainingJobTests.slice(perClass: 20), budget: Budget(seconds: 30))
        // Most of the budget to the search, so a trial finishes (and is written) even on a loaded
        // machine: on 2026-12-03, beside two builds, the default share ran out before the first did.
        options.searchFraction = 0.9
        options.jobsDirectory = TrainingJobTests.root.appendingPathComponent("jobs")
        let store = InMemoryJobStore()
        store.faultInjection = { $0 == "finishTrialUnit" ? StoreError.database("disk I/O error") : nil }
        let job = try TrainingJob(options: options, store: store)
        #expect(throws: StoreError.database("disk I/O error")) { try job.run() }
        let record = try #require(try store.job(job.id))
        #expect(record.state == .failed, "the job does not go on as if the trial were kept")
        #expect(record.failureReason == "job store: disk I/O error")
        #expect(try store.model(job.id) == nil)
    }

    @Test func aSucceededJobKeepsItsPlanTrialsAndModelInTheStore() throws {
        var options = TrainingJobOptions(manifest: try TrainingJobTests.slice(perClass: 20), budget: Budget(seconds: 30))
        options.jobsDirectory = TrainingJobTests.root.appendingPathComponent("jobs")
        let store = InMemoryJobStore()
        let job = try TrainingJob(options: options, store: store)
        let report = try #require(try job.run())
        let record = try #require(try store.job(job.id))
        #expect(record.state == .succeeded && record.testAccuracy == report.test!.accuracy)
        let budget = try #require(report.budget)
        let phases = [budget.searchSeconds, budget.finalTrainingSeconds, budget.evaluationSeconds].compactMap { $0 }
        #expect(phases.count == 3 && phases.allSatisfy { $0 >= 0 } && abs(phases.reduce(0, +) - budget.usedSeconds) < 0.01,
                "the worker time of the search, the final training and the evaluation add up to the time used: \(phases), \(budget.usedSeconds)")
        #expect(budget.usedSeconds == record.usedSeconds && budget.usedSeconds <= 30 * 1.05)
        let wallClock = try #require(budget.wallClockSeconds)
        #expect(wallClock >= budget.usedSeconds - 0.5, "one worker: the wall clock is at least its time: \(wallClock), \(budget.usedSeconds)")
        #expect(report.terminalSummary().contains("worker time: search "))
        let written = try JSONDecoder().decode(EvaluationReport.self, from: try Data(contentsOf: job.folder.reportURL))
        #expect(written.budget == budget, "report.json keeps the phases and the wall clock")
        let exported = try job.folder.readRecord()
        #expect(exported.state == .succeeded && exported.usedSeconds == record.usedSeconds, "job.json is the store's record, exported")
        let plan = try #require(try store.plan(jobID: job.id))
        #expect(plan.budgetSeconds == 30 && plan.searches)
        #expect(try store.trials(jobID: job.id).count == record.trialsDone)
        let model = try #require(try store.model(job.id))
        #expect(model.testAccuracy == report.test!.accuracy && model.labels.count == 10 && model.width == 28)
        #expect(model.architecture == report.model?.architecture)
        #expect(try store.readArtifact(jobID: job.id, name: JobFolder.modelName) != nil, "the model, written through the store")
        #expect(try store.value(jobID: job.id, key: "final_training") != nil && store.value(jobID: job.id, key: "search") != nil,
                "each unit's outcome is kept for the next")
    }
}
