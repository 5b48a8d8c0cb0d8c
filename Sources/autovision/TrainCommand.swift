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
        The budget (90s, 10m, 1h, 1h30m) is wall-clock time on this machine for search, final training and
        evaluation; the import is timed separately. Everything the job makes is in JOBS_DIR/JOB_ID/.
        Ctrl-C stops the job cleanly (state: cancelled).
        """)

    @Argument(help: "The manifest CSV file.") var manifest: String
    @Option(help: "Compute budget: 90s, 10m, 1h, 1h30m or seconds.") var budget = "10m"
    @Option(help: "Seed of the search and training (same seed, same run on one thread).") var seed: UInt64 = 0
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
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
        // Training speed: use the CPU's own OpenBLAS kernels even when the environment forces older ones
        // (see BLASRuntime; AUTOVISION_BLAS_KERNELS=inherit keeps the environment).
        BLASRuntime.relaunchWithFastestKernelsIfNeeded()
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
        // The job store shared with `jobs` and `serve`: the job is listed, cancellable and served from there.
        // It runs under a lease kept alive here, so a server sharing the store leaves it alone, and
        // resumes it if this process dies.
        let store = try SQLiteJobStore(jobsDirectory: options.jobsDirectory)
        let record = TrainingJob.newRecord(options: options)
        let lease = try store.insertLeasedJob(record, owner: JobLease.newOwner(), leaseSeconds: LeaseKeeper.defaultLeaseSeconds)
        let keeper = LeaseKeeper(store: store, lease: lease)
        keeper.start()
        defer {
            keeper.stop()
            try? store.releaseLease(keeper.lease)
        }
        let job = try TrainingJob(options: options, store: store.fenced(by: lease), id: record.id) { JobProgress.log($0) }
        print("job \(job.id)")
        let interrupted = InterruptFlag.install()
        var report: EvaluationReport?
        do {
            report = try job.run(shouldStop: { interrupted.isSet || keeper.isLost })
        } catch {
            Console.log("error: \(error)")
            if json { try Console.printJSON(summary(job, report: nil)) }
            throw ExitCode.failure
        }
        if let report {
            print(report.terminalSummary(), terminator: "")
            print("report: \(job.folder.reportURL.path) (HTML: \(job.folder.reportHTMLURL.path))")
        } else {
            print("job \(job.id) was cancelled; \(job.folder.url.path) keeps what it had done")
        }
        if json { try Console.printJSON(summary(job, report: report)) }
        if report == nil { throw ExitCode(130) }
    }

    func summary(_ job: TrainingJob, report: EvaluationReport?) -> Summary {
        let record = job.record
        return Summary(
            jobID: record.id, state: record.state.rawValue, testAccuracy: report?.test.accuracy, macroAUC: report?.test.macroAUC,
            averagePrecision: report?.test.averagePrecision, logLoss: report?.test.logLoss, budgetRequestedSeconds: record.budgetSeconds,
            budgetUsedSeconds: record.usedSeconds, importSeconds: record.importSeconds, stopReason: record.stopReason ?? record.failureReason,
            trials: record.trialsDone, report: report == nil ? nil : job.folder.reportURL.path)
    }
}

/// Set by SIGINT (Ctrl-C) so a job can stop between batches and leave a consistent folder.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var source: (any DispatchSourceSignal)?

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    static func install() -> InterruptFlag {
        let flag = InterruptFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            flag.lock.lock()
            flag.value = true
            flag.lock.unlock()
            Console.log("interrupted: stopping after the current batch (Ctrl-C again to kill)")
            signal(SIGINT, SIG_DFL)
        }
        source.resume()
        flag.source = source
        return flag
    }
}
