import ArgumentParser
import Datasets
import Foundation
import JobService
import Search

/// `autovision bench workers --store URL --workers 1,2,4,…`: how a search's trials scale with worker
/// processes on one store (issue 21, item 7). For each count, a job whose trials wait `--trial-seconds`
/// instead of training (`TrainingJob.simulatedTrialSeconds`: claims, leases, heartbeats, the dataset
/// from the store, decisions and records are the real ones) runs on that many `autovision worker`
/// processes; once each has finished a trial, the trials finished in `--seconds` are counted.
struct WorkersBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "Trials per hour of one search against the number of worker processes sharing a store.",
        discussion: """
        Prints, for each worker count N, the trials per hour, the store's and the search's overhead per trial in
        milliseconds (the time each trial's unit was charged, from its claim to its record, less the trial's own),
        and, last, the scaling against one worker (target: at least 0.9 × N). Use a PostgreSQL store for more than
        one machine's worth of workers.
        """)

    @Option(help: StoreLocation.help) var store: String
    @Option(help: "Worker counts to measure, comma-separated.") var workers = "1,2,4,8,16,32"
    @Option(help: "Seconds each simulated trial takes.") var trialSeconds = 2.0
    @Option(help: "Seconds measured at each worker count, after every worker has finished a trial.") var seconds = 20.0
    @Option(help: "Scratch folder (the workers' caches and the dataset); default: a new temporary folder.") var scratch: String?

    var counts: [Int] { workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !counts.isEmpty, counts.count == workers.split(separator: ",").count, counts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--workers: comma-separated counts from 1 to 256, e.g. 1,2,4")
        }
        try Validate.range(trialSeconds, 0.01...3600, "--trial-seconds")
        try Validate.range(seconds, 1...86_400, "--seconds")
    }

    func run() throws {
        let folder = scratch.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("autovision-bench-workers-\(UUID().uuidString.prefix(8))")
        let slice = try FashionMNISTExport.write(to: folder.appendingPathComponent("fashion-mnist"), perClass: 10, seed: 1)
        let jobStore = try StoreLocation.open(store, jobsDirectory: folder.appendingPathComponent("bench"))
        var results: [(workers: Int, perHour: Double, overhead: Double)] = []
        for count in counts {
            let (trials, elapsed, overhead) = try measure(workers: count, store: jobStore, manifest: slice.manifest, folder: folder)
            let perHour = Double(trials) / elapsed * 3600
            results.append((count, perHour, overhead))
            print("\(count) worker\(count == 1 ? "" : "s"): \(trials) trials in \(String(format: "%.1f", elapsed)) s, "
                + "\(Int(perHour.rounded())) trials/h; store and search overhead \(String(format: "%.1f", overhead)) ms per trial")
        }
        guard let one = results.first(where: { $0.workers == 1 }) ?? results.first else { return }
        print("scaling against \(one.workers) worker\(one.workers == 1 ? "" : "s") (target >= 0.9 x N):")
        for result in results {
            let scaling = result.perHour / max(1e-9, one.perHour) * Double(one.workers)
            print("  N = \(result.workers): \(String(format: "%.2f", scaling))x (\(String(format: "%.2f", scaling / Double(result.workers))) x N)")
        }
    }

    /// Runs one job on `workers` worker processes; returns the trials finished in the measured window, its
    /// seconds, and the milliseconds per trial its units took beyond the trials' own.
    private func measure(workers: Int, store: any JobStore, manifest: URL, folder: URL) throws -> (trials: Int, seconds: Double, overhead: Double) {
        var options = TrainingJobOptions(manifest: manifest, budget: Budget(seconds: 7 * 86_400))
        options.jobsDirectory = folder.appendingPathComponent("bench")
        let record = TrainingJob.newRecord(options: options)
        try store.insertJob(record)
        let processes = try (0..<workers).map { index in
            let process = Process()
            process.executableURL = WorkerSupervisor.executable
            process.arguments = ["worker", "--store", self.store, "--jobs-dir", folder.appendingPathComponent("worker-\(workers)-\(index)").path,
                                 "--simulated-trial-seconds", String(trialSeconds), "--exit-with-parent"]
            let log = folder.appendingPathComponent("worker-\(workers)-\(index).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            return process
        }
        defer {
            _ = try? store.requestCancel(record.id)
            for process in processes { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        // Warm-up: the import and the plan on one worker, then a first trial on each (its dataset mapped from the store).
        let warmUpEnd = Date().addingTimeInterval(600)
        while Date() < warmUpEnd {
            let job = try store.job(record.id)
            if let job, job.state.isFinished { throw ValidationError("the benchmark's job ended early: \(job.state.rawValue) \(job.failureReason ?? "")") }
            if let job, job.state == .searching, Set(try store.trials(jobID: record.id).compactMap(\.worker)).count >= workers { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let start = Date(), before = try window(record.id, store: store)
        Thread.sleep(forTimeInterval: seconds)
        let after = try window(record.id, store: store), elapsed = Date().timeIntervalSince(start)
        let finished = try store.trials(jobID: record.id).filter { !before.trials.contains($0.id) && after.trials.contains($0.id) }
        // Each unit charges its time from its claim to its record; less the trial's own seconds, what the store and the search took.
        let charged = after.used - before.used, trained = finished.map(\.seconds).reduce(0, +)
        return (finished.count, elapsed, finished.isEmpty ? .nan : (charged - trained) / Double(finished.count) * 1000)
    }

    /// The job's finished trials and its charged seconds, read in one transaction's time (the job first).
    private func window(_ id: String, store: any JobStore) throws -> (trials: Set<Int>, used: Double) {
        let used = try store.job(id)?.usedSeconds ?? 0
        return (Set(try store.trials(jobID: id).map(\.id)), used)
    }
}
