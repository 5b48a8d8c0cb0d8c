import ArgumentParser
import Dispatch
import Evaluation
import Foundation
import Tensors
import JobService
import Search
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a manifest within a compute budget: architecture search, final training, TEST report.",
        discussion: """
        The budget (90s, 10m, 1h, 1h30m) is worker time (with one worker, wall-clock time) for search, final training and
        evaluation; the import is timed separately. Everything the job makes is in JOBS_DIR/JOB_ID/.
        Ctrl-C stops the job cleanly (state: cancelled).
        """)

    @Argument(help: "The manifest CSV file.") var manifest: String
    @Option(help: "Compute budget: 90s, 10m, 1h, 1h30m or seconds.") var budget = "10m"
    @Option(help: "Seed of the search and training (same seed, same run on one thread).") var seed: UInt64 = 0
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?
    @Option(help: "Score threshold for the report's precision and recall.") var scoreThreshold = 0.5
    @Option(help: ArgumentHelp("Skip the search: train this starting architecture (vgg-bn, resnet, small) with the whole budget.",
                               valueName: "NAME")) var architecture: String?
    @Option(help: ArgumentHelp("Deprecated: the old name of --architecture.", visibility: .hidden)) var baseline: String?
    @Option(help: ArgumentHelp("Skip the search: train this candidate with the whole budget. FILE is JSON: one line of a job's "
                               + "search.jsonl (that trial's candidate, trained as the search's final would train it), or a candidate "
                               + "object alone (trained as it is).", valueName: "FILE"))
    var candidate: String?
    @Flag(inversion: .prefixedNo,
          help: "Let the model average each prediction over mirrored or shifted views when that raises VALIDATION accuracy (2–5× the inference work).")
    var testTimeAugmentation = true
    @Option(help: ArgumentHelp("Most networks the final model may average: when the final training ends early with time left, more are "
                               + "trained from other random weights and kept if they raise VALIDATION accuracy (each adds the "
                               + "inference work of one). 1 keeps one network.", valueName: "N"))
    var ensembleMembers = FinalEnsemble.defaultMaximumMembers
    @OptionGroup var importArguments: ImportArguments
    @OptionGroup var energy: EnergyArguments
    @OptionGroup var precision: PrecisionArguments
    @Flag(help: "Print the job summary as one line of JSON last.") var json = false

    struct Summary: Encodable {
        var jobID: String
        var state: String
        var testAccuracy: Double?
        var macroAUC: Double?
        var averagePrecision: Double?
        var logLoss: Double?
        var budgetRequestedSeconds: Double
        var budgetUsedSeconds: Double
        var importSeconds: Double?
        var stopReason: String?
        var trials: Int
        var report: String?
        enum CodingKeys: String, CodingKey {
            case jobID = "job_id", state, testAccuracy = "test_accuracy", macroAUC = "macro_auc", averagePrecision = "average_precision"
            case logLoss = "log_loss", budgetRequestedSeconds = "budget_requested_seconds", budgetUsedSeconds = "budget_used_seconds"
            case importSeconds = "import_seconds", stopReason = "stop_reason", trials, report
        }
    }

    func validate() throws {
        if architecture != nil && baseline != nil { throw ValidationError("give --architecture, not also --baseline (its old name)") }
        if startingArchitecture != nil && candidate != nil { throw ValidationError("give --architecture or --candidate, not both") }
        _ = try parsedBudget()
        try Validate.range(scoreThreshold, 0...1, "--score-threshold")
        try Validate.range(ensembleMembers, 1...16, "--ensemble-members")
        try Validate.nonEmpty(jobsDir, "--jobs-dir")
    }

    /// `--architecture`, or its deprecated alias `--baseline`.
    var startingArchitecture: String? { architecture ?? baseline }

    func parsedBudget() throws -> Budget {
        do { return try Budget(parsing: budget) } catch { throw ValidationError("--budget: \(error)") }
    }

    /// The candidate in the JSON file at `path` (`GivenCandidate.decode(json:)`).
    static func readCandidate(_ path: String) throws -> GivenCandidate {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read the --candidate file \(path): \(error.localizedDescription)")
        }
        do { return try GivenCandidate.decode(json: data) } catch {
            throw ValidationError("--candidate \(path) holds no candidate: expected JSON with the keys of a search.jsonl line's "
                + "\"candidate\" (architecture, optimizer, learningRate, …), or such a line (\(error))")
        }
    }

    func run() throws {
        var options = TrainingJobOptions(manifest: URL(fileURLWithPath: manifest), budget: try parsedBudget())
        options.seed = seed
        options.jobsDirectory = URL(fileURLWithPath: jobsDir)
        options.scoreThreshold = scoreThreshold
        if baseline != nil { Console.log("warning: --baseline is deprecated and will be removed; use --architecture") }
        options.startingArchitecture = startingArchitecture
        options.fixedCandidate = try candidate.map(Self.readCandidate)
        options.testTimeAugmentation = testTimeAugmentation
        options.maximumEnsembleMembers = ensembleMembers
        options.importOptions = try importArguments.options()
        options.precision = try precision.resolved()
        // The job store shared with `jobs` and `serve`: the job is listed, cancellable and served from there.
        // It is inserted already claimed for the worker started here, so a server sharing the store leaves
        // it alone, and resumes it if the worker dies.
        let store = try StoreLocation.open(self.store, jobsDirectory: options.jobsDirectory)
        let record = TrainingJob.newRecord(options: options)
        let owner = JobLease.newOwner()
        _ = try store.insertLeasedJob(record, owner: owner, leaseSeconds: LeaseKeeper.defaultLeaseSeconds)
        print("job \(record.id)")
        let worker = try startWorker(job: record.id, owner: owner, maxPixels: options.importOptions.maxPixels)
        let interrupted = InterruptFlag.install { _ = try? store.requestCancel(record.id) }
        worker.waitUntilExit()
        withExtendedLifetime(interrupted) {}
        try finish(try store.job(record.id) ?? record, folder: JobFolder(jobsDirectory: options.jobsDirectory, id: record.id), worker: worker)
    }

    /// Starts the worker that runs the job (`autovision worker --job`): a trap in the numeric core ends
    /// it, not this process; its progress lines go to this process's standard error.
    private func startWorker(job: String, owner: String, maxPixels: Int) throws -> Process {
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        worker.arguments = ["worker", "--jobs-dir", jobsDir, "--job", job, "--lease-owner", owner, "--lease-attempt", "1",
                            "--max-pixels", String(maxPixels), "--exit-with-parent"] + (store.map { ["--store", $0] } ?? []) + (try energy.workerArguments())
        try worker.run()
        return worker
    }

    /// Prints what became of the job once its worker exited.
    /// - Throws: `ExitCode.failure` when the job failed or its worker stopped first; `ExitCode(130)` when cancelled.
    private func finish(_ record: JobRecord, folder: JobFolder, worker: Process) throws {
        let report = record.state == .succeeded ? (try? Data(contentsOf: folder.reportURL)).flatMap { try? EvaluationReport.decode(from: $0) } : nil
        switch record.state {
        case .succeeded:
            if let report { print(report.terminalSummary(), terminator: "") }
            print("report: \(folder.reportURL.path) (HTML: \(folder.reportHTMLURL.path))")
        case .cancelled:
            print("job \(record.id) was cancelled; \(folder.url.path) keeps what it had done")
        case .failed:
            Console.log("error: \(record.failureReason ?? "the job failed")")
        default:
            let how = worker.terminationReason == .uncaughtSignal ? "was killed by signal \(worker.terminationStatus)" : "exited"
            Console.log("error: the worker running job \(record.id) \(how) while the job was \(record.state.rawValue); the job keeps its "
                + "state: `autovision worker` or `autovision serve` on \(jobsDir) resumes it")
        }
        if json { try Console.printJSON(summary(record, report: report, folder: folder)) }
        if record.state == .cancelled { throw ExitCode(130) }
        if record.state != .succeeded { throw ExitCode.failure }
    }

    func summary(_ record: JobRecord, report: EvaluationReport?, folder: JobFolder) -> Summary {
        Summary(
            jobID: record.id, state: record.state.rawValue, testAccuracy: report?.test?.accuracy ?? report?.multiLabelTest?.subsetAccuracy,
            macroAUC: report?.test?.macroAUC, averagePrecision: report?.test?.averagePrecision ?? report?.multiLabelTest?.meanAveragePrecision,
            logLoss: report?.test?.logLoss, budgetRequestedSeconds: record.budgetSeconds,
            budgetUsedSeconds: record.usedSeconds, importSeconds: record.importSeconds, stopReason: record.stopReason ?? record.failureReason,
            trials: record.trialsDone, report: report == nil ? nil : folder.reportURL.path)
    }
}

/// Set by SIGINT (Ctrl-C): the first calls `onInterrupt` (the job stops between batches and leaves a
/// consistent folder); the next kills the process.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var source: (any DispatchSourceSignal)?

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    static func install(onInterrupt: @escaping @Sendable () -> Void = {}) -> InterruptFlag {
        let flag = InterruptFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            flag.lock.lock()
            flag.value = true
            flag.lock.unlock()
            Console.log("interrupted: stopping after the current batch (Ctrl-C again to kill)")
            signal(SIGINT, SIG_DFL)
            onInterrupt()
        }
        source.resume()
        flag.source = source
        return flag
    }
}
