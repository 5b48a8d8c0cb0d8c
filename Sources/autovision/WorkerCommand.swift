import ArgumentParser
import Dispatch
import Foundation
import JobService
import Tensors

/// `autovision worker`: a process that runs the store's jobs, one unit at a time, each under a lease it
/// renews (`LeaseKeeper`), and imports its uploaded datasets under an import lease. `serve` starts its
/// workers this way; more can run beside it.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the job store's queued jobs, one at a time, and import its uploaded datasets, until stopped (SIGTERM/SIGINT).",
        discussion: """
        A job runs as units (the import, each trial, the final training, the evaluation), each under a lease renewed
        every --heartbeat-seconds for --lease-seconds more; a worker that stops renewing (killed, paused, cut off) loses
        the unit, which another worker runs again, and writes nothing more about the job. Dataset imports run under a
        lease of their own. SIGTERM/SIGINT stop the running unit between batches; the job keeps its state for the next
        worker.
        """)

    @Option(help: "The job store folder (autovision.sqlite, one folder per job).") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?
    @Option(help: "Seconds a job's lease lasts unless renewed.") var leaseSeconds = LeaseKeeper.defaultLeaseSeconds
    @Option(help: "Seconds between lease renewals.") var heartbeatSeconds = LeaseKeeper.defaultHeartbeatSeconds
    @Option(help: "Largest image a job imports, in pixels.") var maxPixels = 100_000_000
    @Flag(help: "Stop when the process that started this one exits (how `serve` and `train` start their workers).") var exitWithParent = false
    @Option(help: ArgumentHelp("Run only this job, whose lease --lease-owner holds, then exit (how `train` runs its job); "
                               + "its progress is printed without a job prefix, and SIGINT is left to the parent.", valueName: "ID"))
    var job: String?
    @Option(help: ArgumentHelp("With --job: the owner of the job's lease, taken over by this worker.", valueName: "OWNER")) var leaseOwner: String?
    @Option(help: ArgumentHelp("With --job: the attempt number of that lease.", valueName: "N")) var leaseAttempt = 1
    @OptionGroup var energy: EnergyArguments
    @Option(help: .hidden) var simulatedTrialSeconds: Double?  // `bench workers`: trials wait instead of training

    func validate() throws {
        try Validate.nonEmpty(jobsDir, "--jobs-dir")
        try Validate.range(heartbeatSeconds, 0.01...3600, "--heartbeat-seconds")
        if leaseSeconds <= heartbeatSeconds { throw ValidationError("--lease-seconds must be longer than --heartbeat-seconds") }
        try Validate.range(maxPixels, 1...Int(Int32.max), "--max-pixels")
        if (job == nil) != (leaseOwner == nil) { throw ValidationError("give --job and --lease-owner together") }
    }

    func run() throws {
        BLASRuntime.relaunchWithFastestKernelsIfNeeded()
        let jobs = URL(fileURLWithPath: jobsDir, isDirectory: true)
        let runner = JobRunner(store: try StoreLocation.open(store, jobsDirectory: jobs), jobsDirectory: jobs, concurrentJobs: 1, runsImports: job == nil)
        runner.leaseSeconds = leaseSeconds
        runner.heartbeatSeconds = heartbeatSeconds
        runner.maxPixels = maxPixels
        runner.energy = try energy.settings()
        runner.simulatedTrialSeconds = simulatedTrialSeconds
        runner.onEvent = { [job] id, event in
            JobProgress.log(event, job: job == nil ? id : nil)
            if case .trial = event { TestFault.trapOnceIfAsked("AUTOVISION_TEST_TRAP_ONCE") }
        }
        runner.beforeImport = { _ in TestFault.trapOnceIfAsked("AUTOVISION_TEST_TRAP_ONCE_IN_IMPORT") }
        let stop = DispatchSemaphore(value: 0)
        let signals = (job == nil ? [SIGTERM, SIGINT] : [SIGTERM]).map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        if job != nil { signal(SIGINT, SIG_IGN) }  // Ctrl-C reaches `train` too, which cancels the job through the store
        if exitWithParent {
            let parent = getppid()
            Thread.detachNewThread {
                while getppid() == parent { Thread.sleep(forTimeInterval: 1) }
                stop.signal()
            }
        }
        if let job, let leaseOwner {
            try runOne(job, owner: leaseOwner, runner: runner, stop: stop)
        } else {
            runner.start()
            Console.log("worker \(runner.owner) running jobs of \(jobs.path)")
            stop.wait()
            Console.log("worker \(runner.owner) stopping: the running unit, if any, stops; its job keeps its state for the next worker")
            runner.shutdown()
        }
        withExtendedLifetime(signals) {}
    }

    /// Runs job `id` under the lease `owner` holds until it is finished, or paused by `stop`.
    /// - Throws: `ExitCode.failure` when it did not succeed (130 when cancelled).
    private func runOne(_ id: String, owner: String, runner: JobRunner, stop: DispatchSemaphore) throws {
        DispatchQueue.global().async {
            stop.wait()
            runner.shutdown()
        }
        let lease = JobLease(jobID: id, owner: owner, attempt: leaseAttempt, expiresAt: Date().addingTimeInterval(leaseSeconds))
        let record = runner.runJob(id, lease: lease)
        switch record?.state {
        case .succeeded?: return
        case .cancelled?: throw ExitCode(130)
        default: throw ExitCode.failure
        }
    }
}

/// One line of progress on stderr for a job's event.
enum JobProgress {
    static func log(_ event: JobEvent, job: String? = nil) {
        let prefix = job.map { "job \($0): " } ?? ""
        switch event {
        case let .message(text): Console.log(prefix + text)
        case let .trial(trial):
            let result = trial.error.map { "failed: \($0)" } ?? String(format: "validation %.2f %%", trial.validationScore * 100)
            Console.log(prefix + String(format: "trial %d (rung %d, %d epoch%@, %.0f s): %@ — %@", trial.id, trial.rung, trial.epochs,
                                        trial.epochs == 1 ? "" : "s", trial.seconds, trial.architecture, result))
        case let .epoch(epoch):
            Console.log(prefix + String(format: "final epoch %d: train loss %.4f, train %.2f %%, validation %.2f %% (%.0f img/s, %.0f s)",
                                        epoch.epoch, epoch.trainLoss, epoch.trainAccuracy * 100, epoch.validationScore * 100,
                                        epoch.imagesPerSecond, epoch.seconds))
        }
    }
}

/// Fault switches for tests of what a worker's death does: with `AUTOVISION_TEST_TRAP_ONCE=FILE` in the
/// environment, the first worker to finish a trial while FILE does not exist creates it and traps, as
/// a precondition failure in the numeric core would; `AUTOVISION_TEST_TRAP_ONCE_IN_IMPORT=FILE` does the
/// same as a dataset import starts, as a decoder crashed by a file would.
enum TestFault {
    static func trapOnceIfAsked(_ variable: String) {
        guard let marker = ProcessInfo.processInfo.environment[variable], !marker.isEmpty,
              FileManager.default.createFile(atPath: marker + ".tmp", contents: nil), link(marker + ".tmp", marker) == 0 else { return }
        fatalError("\(variable): a trap, as asked")
    }
}
