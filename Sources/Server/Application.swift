import Dispatch
import Foundation
import Hummingbird
import JobService
import ServiceLifecycle

/// Builds the HTTP service on the SQLite job store of `configuration.jobsDirectory`
/// (see `buildApplication(configuration:store:)`).
/// - Throws: `ConfigurationError` for an open (token-less) server on a non-loopback host or an
///   empty token, checked before the store is opened; `StoreError` when the store cannot be opened.
public func buildApplication(configuration: ServerConfiguration) throws -> some ApplicationProtocol {
    try checkAccess(configuration)
    return try buildApplication(configuration: configuration, store: SQLiteJobStore(jobsDirectory: configuration.jobsDirectory))
}

/// Builds the HTTP service on `store`: the job runner (a lifecycle service: started with the server,
/// stopped on graceful shutdown), the middleware and every controller's routes. Outside `main`, so
/// tests drive it in-process. Whatever the store, the job and dataset folders (uploads, models,
/// reports) are under `configuration.jobsDirectory`.
/// - Throws: `ConfigurationError` for an open (token-less) server on a non-loopback host or an empty token.
public func buildApplication(configuration: ServerConfiguration, store: any JobStore) throws -> some ApplicationProtocol {
    try checkAccess(configuration)
    let metrics = ServiceMetrics()
    let runner = JobRunner(store: store, jobsDirectory: configuration.jobsDirectory, concurrentJobs: configuration.concurrentJobs,
                           runsImports: configuration.runsImports, metricsFactory: metrics.factory)
    runner.maxPixels = configuration.maxImportPixels
    runner.energy = configuration.energy
    let predictions = PredictionService(store: store, jobsDirectory: configuration.jobsDirectory, maxPixels: configuration.maxPredictionPixels,
                                        maxBatchSize: configuration.maxBatchSize, modelInstances: configuration.modelInstances,
                                        metricsFactory: metrics.factory)
    let redaction = PathRedaction(jobsDirectory: configuration.jobsDirectory)
    let health = HealthController(store: store, runner: runner, runsJobs: configuration.runJobs, metrics: metrics)
    let models = ModelsController(store: store, predictions: predictions, maxImageBytes: configuration.maxImageBytes,
                                  maxInstancesPerRequest: configuration.maxInstancesPerRequest)
    let batches = GoogleBatchPredictions(store: store, predictions: predictions, bucketMap: configuration.bucketMap, maxImageBytes: configuration.maxImageBytes)
    batches.failInterrupted()
    let vertexDatasets = VertexDatasetsController(configuration: configuration, store: store, runner: runner)
    let endpoints = VertexEndpointsController(store: store, ourModels: models)
    let controllers: [any APIController] = [
        health,
        ConsoleController(),
        DatasetsController(configuration: configuration, store: store, runner: runner, redaction: redaction),
        DatasetImagesController(configuration: configuration, store: store, runner: runner, redaction: redaction),
        JobsController(store: store, runner: runner, predictions: predictions, jobsDirectory: configuration.jobsDirectory,
                       maxBudgetSeconds: configuration.maxJobBudgetSeconds, precision: configuration.precision, redaction: redaction),
        EvaluationController(store: store, cache: TestScoresCache()),
        models,
        InferenceController(health: health, predictions: predictions, maxImageBytes: configuration.maxImageBytes,
                            maxInstancesPerRequest: configuration.maxInstancesPerRequest),
        // Vertex AI's and AutoML Vision's REST APIs, for their own clients.
        vertexDatasets,
        VertexTrainingPipelinesController(store: store, runner: runner, predictions: predictions, jobsDirectory: configuration.jobsDirectory,
                                          maxBudgetSeconds: configuration.maxJobBudgetSeconds, precision: configuration.precision),
        GoogleModelsController(store: store, predictions: predictions, jobsDirectory: configuration.jobsDirectory, ourModels: models),
        endpoints,
        GoogleBatchPredictionController(batches: batches),
        GoogleOperationsController(store: store, batches: batches, datasets: vertexDatasets, endpoints: endpoints),
    ]
    // HEAD is answered for every GET route, as HTTP expects of a GET resource.
    let router = Router(options: .autoGenerateHeadEndpoints)
    router.add(middleware: ProblemMiddleware(redaction: redaction))
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    if let token = configuration.apiToken {
        router.add(middleware: BearerTokenMiddleware(token: token))
    } else {
        router.add(middleware: LoopbackGuardMiddleware())
    }
    router.add(middleware: MethodNotAllowedMiddleware(routes: controllers.flatMap { type(of: $0).endpoints }))
    for controller in controllers { controller.addRoutes(to: router) }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "autovision"))
    if configuration.runJobs { app.addServices(RunnerService(runner: runner)) }
    return app
}

/// Refuses to serve everyone without a token: a token-less server listens on loopback only.
private func checkAccess(_ configuration: ServerConfiguration) throws {
    if configuration.apiToken == nil && !configuration.isLoopback {
        throw ConfigurationError(description: "refusing to serve \(configuration.host) without a token: "
            + "pass --api-token TOKEN (or set AUTOVISION_API_TOKEN), or listen on 127.0.0.1")
    }
    if let token = configuration.apiToken, token.isEmpty {
        throw ConfigurationError(description: "the API token is empty: pass a non-empty --api-token")
    }
}

/// Starts the job runner with the server and stops it (running jobs marked interrupted) on shutdown.
struct RunnerService: ServiceLifecycle.Service {
    let runner: JobRunner

    func run() async throws {
        runner.start()
        try? await gracefulShutdown()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                runner.shutdown()
                continuation.resume()
            }
        }
    }
}

/// `buildApplication` for the command-line tool.
public struct ServerBox: ApplicationProtocolBox {
    let body: @Sendable () async throws -> Void

    public init(configuration: ServerConfiguration) throws {
        let app = try buildApplication(configuration: configuration)
        body = { try await app.runService() }
    }

    /// On `store` instead of the SQLite store of `configuration.jobsDirectory`.
    public init(configuration: ServerConfiguration, store: any JobStore) throws {
        let app = try buildApplication(configuration: configuration, store: store)
        body = { try await app.runService() }
    }

    public func run() async throws { try await body() }
}
