import ArgumentParser
import Foundation
import JobService

/// `autovision jobs list | show ID | cancel ID | delete ID` over the job store the server uses.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List, show, cancel and delete jobs of the job store (shared with autovision serve).",
        subcommands: [List.self, Show.self, Cancel.self, Delete.self])

    struct StoreOptions: ParsableArguments {
        @Option(help: "The job store folder.") var jobsDir = "Jobs"
        @Option(help: StoreLocation.help) var store: String?
        @Flag(help: "Print the result as one line of JSON last.") var json = false

        func open() throws -> any JobStore { try StoreLocation.open(store, jobsDirectory: URL(fileURLWithPath: jobsDir, isDirectory: true)) }
    }

    static func line(_ job: JobRecord) -> String {
        let accuracy = job.testAccuracy.map { String(format: "test %.2f %%", $0 * 100) }
            ?? job.bestValidationScore.map { String(format: "best validation %.2f %%", $0 * 100) } ?? ""
        return [job.id, job.state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0),
                String(format: "%3.0f %%", job.progress * 100), "budget \(Int(job.budgetSeconds)) s", "\(job.trialsDone) trials", accuracy]
            .joined(separator: "  ")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            let jobs = try store.open().jobs()
            if jobs.isEmpty { print("no jobs in \(store.jobsDir)") }
            for job in jobs { print(JobsCommand.line(job)) }
            if store.json { try Console.printJSON(["jobs": jobs]) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job: state, progress, budget, trials, model.")
        @Argument(help: "The job ID.") var jobID: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let database = try store.open()
            guard let job = try database.job(jobID) else { throw JobError.notFound(jobID) }
            print(JobsCommand.line(job))
            print("  manifest: \(job.manifest)\(job.datasetID.map { " (dataset \($0))" } ?? "")")
            print(String(format: "  budget: %.0f s requested, %.0f s used%@", job.budgetSeconds, job.usedSeconds,
                         job.importSeconds.map { String(format: "; import %.1f s", $0) } ?? ""))
            if let reason = job.stopReason { print("  stopped: \(reason)") }
            if let reason = job.failureReason { print("  failed: \(reason)") }
            if let model = try database.model(jobID) {
                print("  model: \(model.architecture), \(model.parameters) parameters, \(model.width)×\(model.height)×\(model.channels), "
                    + "labels \(model.labels.joined(separator: ", "))")
            }
            if store.json { try Console.printJSON(job) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a job: a queued one at once, a running one between batches (whichever process runs it).")
        @Argument(help: "The job ID.") var jobID: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let record = try store.open().requestCancel(jobID)
            print(record.state == .cancelled ? "job \(jobID) cancelled"
                : record.state.isFinished ? "job \(jobID) already \(record.state.rawValue)"
                : "job \(jobID) is \(record.state.rawValue): it stops after the current batch")
            if store.json { try Console.printJSON(record) }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a finished job and its folder.")
        @Argument(help: "The job ID.") var jobID: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.open().deleteJob(jobID, withFolderIn: URL(fileURLWithPath: store.jobsDir))
            print("job \(jobID) deleted")
            if store.json { try Console.printJSON(["deleted": jobID]) }
        }
    }
}
