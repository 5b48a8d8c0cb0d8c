import ArgumentParser
import Datasets
import Foundation
import Search
import Tensors
import Server

/// `autovision serve`: the HTTP service (datasets, jobs, reports, predictions) over the job store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API: upload datasets, run budgeted jobs, read reports, POST images for predictions.",
        discussion: """
        A bearer token (--api-token or AUTOVISION_API_TOKEN) protects every route but the health checks (/healthz, /readyz,
        /v2/health/live, /v2/health/ready);
        without one the server only listens on loopback. SIGTERM/SIGINT stop it gracefully: no new work is
        taken, and the workers (--workers processes of `autovision worker`, restarted if one dies) stop their running
        job between batches and queue it again; the trial it was training is dropped. When the server starts again it resumes such jobs (and jobs `autovision train` left
        interrupted) with the options they started with, the trials they finished and the budget they have
        left. The routes are described by GET /openapi.json; /v2 speaks KServe's Open Inference Protocol v2 (tritonclient.http works).
        """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "The job store folder (autovision.sqlite, one folder per job).") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?
    @Option(name: .customLong("data-root"), help: ArgumentHelp("A folder dataset roots must lie in (repeatable).", valueName: "DIR"))
    var dataRoots: [String] = []
    @Option(name: .customLong("map"), help: ArgumentHelp("The local folder of a bucket that Vertex AI and AutoML requests name (repeatable).",
                                                         valueName: "gs://BUCKET=DIR"))
    var mappings: [String] = []
    @Option(help: "Bearer token required on every route but the health checks (default: $AUTOVISION_API_TOKEN).") var apiToken: String?
    @Option(help: ArgumentHelp("Worker processes started with the server (`autovision worker`): jobs trained at the same time; the "
                               + "rest queue in order. 0 starts none (workers started apart run the jobs).")) var workers = 1
    @Option(help: ArgumentHelp("Deprecated: the old name of --workers.", visibility: .hidden)) var concurrentJobs: Int?
    @Option(help: "Largest prediction image body, in bytes.") var maxImageBytes = 30_000_000
    @Option(help: "Largest prediction image, in pixels (checked from the header).") var maxPixels = 50_000_000
    @Option(help: "Largest zip dataset upload, in bytes (it may extract to 4 times that).") var maxZipBytes = 2 << 30
    @Option(help: "Dataset uploads received at the same time; one more is answered 429.") var maxConcurrentUploads = 2
    @Option(help: "Images (Vertex AI instances) in one prediction request at most; more is answered 413.") var maxInstances = 64
    @Option(help: "Instances of each served model running forward passes at the same time (each on one core when more than one).")
    var modelInstances = 2
    @Option(help: ArgumentHelp("Largest job budget (90s, 10m, 1h30m or seconds); a job asking more gets this. Default: 7 days.",
                               valueName: "BUDGET"))
    var maxBudget: String?

    @OptionGroup var energy: EnergyArguments
    @OptionGroup var precision: PrecisionArguments

    func validate() throws {
        try Validate.range(concurrentJobs ?? workers, 0...64, concurrentJobs != nil ? "--concurrent-jobs" : "--workers")
        if !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
        if maxZipBytes < 1 { throw ValidationError("--max-zip-bytes must be at least 1") }
        try Validate.range(maxImageBytes, 1...(1 << 31), "--max-image-bytes")
        try Validate.range(maxPixels, 1...Int(Int32.max), "--max-pixels")
        try Validate.nonEmpty(host, "--host")
        try Validate.nonEmpty(jobsDir, "--jobs-dir")
        try Validate.range(maxConcurrentUploads, 1...1024, "--max-concurrent-uploads")
        try Validate.range(maxInstances, 1...100_000, "--max-instances")
        try Validate.range(modelInstances, 1...64, "--model-instances")
        _ = try parsedMaxBudget()
    }

    func parsedMaxBudget() throws -> Double? {
        guard let maxBudget else { return nil }
        do { return try Budget(parsing: maxBudget).seconds } catch {
            throw ValidationError("--max-budget: \(error)")
        }
    }

    func run() async throws {
        // Training speed: use the CPU's own OpenBLAS kernels even when the environment forces older ones
        // (see BLASRuntime; AUTOVISION_BLAS_KERNELS=inherit keeps the environment).
        BLASRuntime.relaunchWithFastestKernelsIfNeeded()
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.precision = try precision.resolved()
        configuration.jobsDirectory = URL(fileURLWithPath: jobsDir, isDirectory: true)
        configuration.dataRoots = (dataRoots.isEmpty ? ["Datasets"] : dataRoots).map { URL(fileURLWithPath: $0, isDirectory: true) }
        for mapping in mappings {
            guard let (bucket, directory) = PathResolver.parseMapping(mapping) else {
                throw ValidationError("--map expects gs://BUCKET=DIR, got '\(mapping)'")
            }
            configuration.bucketMap[bucket] = directory
        }
        configuration.apiToken = apiToken ?? ProcessInfo.processInfo.environment["AUTOVISION_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.concurrentJobs = 0  // jobs train and datasets import in the worker processes, never in the server's
        configuration.runsImports = false
        if concurrentJobs != nil { Console.log("warning: --concurrent-jobs is deprecated and will be removed; use --workers") }
        configuration.maxImageBytes = maxImageBytes
        configuration.maxPredictionPixels = maxPixels
        configuration.maxZipBytes = maxZipBytes
        configuration.maxConcurrentUploads = maxConcurrentUploads
        configuration.maxInstancesPerRequest = maxInstances
        configuration.modelInstances = modelInstances
        configuration.maxJobBudgetSeconds = try parsedMaxBudget()
        let app: any ApplicationProtocolBox
        do {
            app = try ServerBox(configuration: configuration, store: StoreLocation.open(store, jobsDirectory: configuration.jobsDirectory))
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let supervisor = WorkerSupervisor(count: concurrentJobs ?? workers, arguments: ["--jobs-dir", jobsDir, "--max-pixels", String(configuration.maxImportPixels)]
                                          + (store.map { ["--store", $0] } ?? []) + (try energy.workerArguments()))
        supervisor.start()
        defer { supervisor.stop() }
        Console.log("serving on http://\(host):\(port) (jobs: \(jobsDir), data roots: \(configuration.dataRoots.map(\.path).joined(separator: ", ")), "
            + "\(configuration.apiToken == nil ? "no token: loopback only" : "bearer token required"))")
        try await app.run()
    }
}
