import Datasets
import Dispatch
import Foundation
import Hummingbird
import ImageIO
import JobService
import PredictionAPI
import Search
import ServiceLifecycle

/// Builds the HTTP service: the store, the job runner (a lifecycle service: started with the
/// server, stopped on graceful shutdown) and the routes. Outside `main`, so tests drive it in-process.
/// - Throws: `ConfigurationError` for an open (token-less) server on a non-loopback host.
public func buildApplication(configuration: ServerConfiguration) throws -> some ApplicationProtocol {
    if configuration.apiToken == nil && !configuration.isLoopback {
        throw ConfigurationError(description: "refusing to serve \(configuration.host) without a token: "
            + "pass --api-token TOKEN (or set AUTOVISION_API_TOKEN), or listen on 127.0.0.1")
    }
    if let token = configuration.apiToken, token.isEmpty {
        throw ConfigurationError(description: "the API token is empty: pass a non-empty --api-token")
    }
    let store = try SQLiteJobStore(jobsDirectory: configuration.jobsDirectory)
    let metrics = ServiceMetrics()
    let runner = JobRunner(store: store, jobsDirectory: configuration.jobsDirectory, concurrentJobs: configuration.concurrentJobs,
                           metricsFactory: metrics.factory)
    runner.maxPixels = configuration.maxImportPixels
    let service = APIService(configuration: configuration, store: store, runner: runner, metrics: metrics)
    // HEAD is answered for every GET route, as HTTP expects of a GET resource.
    let router = Router(options: .autoGenerateHeadEndpoints)
    router.add(middleware: ProblemMiddleware(redaction: service.redaction))
    router.add(middleware: MetricsMiddleware(metrics: service.metrics))
    if let token = configuration.apiToken {
        router.add(middleware: BearerTokenMiddleware(token: token))
    } else {
        router.add(middleware: LoopbackGuardMiddleware())
    }
    router.add(middleware: MethodNotAllowedMiddleware(routes: APIService.routes))
    service.addRoutes(to: router)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "autovision"))
    if configuration.runJobs { app.addServices(RunnerService(runner: runner)) }
    return app
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

/// The routes and what they share.
final class APIService: Sendable {
    let configuration: ServerConfiguration
    let store: SQLiteJobStore
    let runner: JobRunner
    let predictions: PredictionService
    let dataRoots: [String]
    let metrics: ServiceMetrics
    let uploads: UploadSlots
    let disk: DiskSpace
    let redaction: PathRedaction

    init(configuration: ServerConfiguration, store: SQLiteJobStore, runner: JobRunner, metrics: ServiceMetrics) {
        self.configuration = configuration
        self.store = store
        self.runner = runner
        self.metrics = metrics
        predictions = PredictionService(store: store, jobsDirectory: configuration.jobsDirectory, maxPixels: configuration.maxPredictionPixels,
                                        maxBatchSize: configuration.maxBatchSize, metricsFactory: metrics.factory)
        dataRoots = configuration.dataRoots.map { APIService.canonicalPath($0.path) }
        uploads = UploadSlots(limit: configuration.maxConcurrentUploads)
        disk = DiskSpace(folder: configuration.jobsDirectory, reserve: configuration.minimumFreeDiskBytes)
        redaction = PathRedaction(jobsDirectory: configuration.jobsDirectory)
    }

    /// Every route as `METHOD path` (the OpenAPI document is checked against this list).
    static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "/healthz"), (.get, "/readyz"), (.get, "/metrics"), (.get, "/openapi.json"),
        (.post, "/v1/datasets"), (.get, "/v1/datasets"), (.get, "/v1/datasets/{id}"), (.delete, "/v1/datasets/{id}"),
        (.post, "/v1/jobs"), (.get, "/v1/jobs"), (.get, "/v1/jobs/{id}"), (.delete, "/v1/jobs/{id}"), (.post, "/v1/jobs/{id}/cancel"),
        (.get, "/v1/jobs/{id}/trials"), (.get, "/v1/jobs/{id}/report"), (.get, "/v1/jobs/{id}/report.html"),
        (.get, "/v1/models"), (.get, "/v1/models/{id}"), (.post, "/v1/models/{id}/predict"),
    ]

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in try json(["status": "ok"]) }
        router.get("/readyz") { _, _ in try self.ready() }
        router.get("/openapi.json") { _, _ in try self.openAPI() }
        router.get("/metrics") { _, _ in
            let text = self.metrics.render(jobs: try? self.store.jobs())  // Prometheus text format 0.0.4
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: text))
        }

        router.post("/v1/datasets") { request, _ in try await self.createDataset(request) }
        router.get("/v1/datasets") { _, _ in try json(["datasets": try self.store.datasets().map(self.datasetResource)]) }
        router.get("/v1/datasets/:id") { _, context in try json(self.datasetResource(try self.dataset(context.parameters.require("id")))) }
        router.delete("/v1/datasets/:id") { _, context in try self.deleteDataset(context.parameters.require("id")) }

        router.post("/v1/jobs") { request, _ in try await self.createJob(request) }
        router.get("/v1/jobs") { _, _ in try json(["jobs": try self.store.jobs().map(self.jobResource)]) }
        router.get("/v1/jobs/:id") { _, context in try json(self.jobResource(try self.job(context.parameters.require("id")))) }
        router.delete("/v1/jobs/:id") { _, context in try self.deleteJob(context.parameters.require("id")) }
        router.post("/v1/jobs/:id/cancel") { _, context in try self.cancelJob(context.parameters.require("id")) }
        router.get("/v1/jobs/:id/trials") { _, context in try self.trials(context.parameters.require("id")) }
        router.get("/v1/jobs/:id/report") { _, context in try self.report(context.parameters.require("id"), html: false) }
        router.get("/v1/jobs/:id/report.html") { _, context in try self.report(context.parameters.require("id"), html: true) }

        router.get("/v1/models") { _, _ in try json(["models": try self.store.models().map(self.modelResource)]) }
        router.get("/v1/models/:id") { _, context in try self.modelInfo(context.parameters.require("id")) }
        router.post("/v1/models/:id/predict") { request, context in try await self.predict(request, id: context.parameters.require("id")) }
    }

    // MARK: Operations

    /// Open to everyone (health checks need no token), so it says how many jobs run, never which:
    /// a job's ID is the key to its model and report.
    func ready() throws -> Response {
        guard (try? store.jobs()) != nil else { throw APIError(.serviceUnavailable, "the job store cannot be read") }
        guard runner.isRunning || !configuration.runJobs else {
            throw APIError(.serviceUnavailable, "the job runner is not running (starting or shutting down)")
        }
        return try json(["status": "ready", "running_jobs": runner.runningJobs.count] as [String: Any])
    }

    func openAPI() throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = FileManager.default.contents(atPath: url.path)
        else { throw APIError.notFound("the OpenAPI document is missing from this build") }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: Datasets

    func dataset(_ id: String) throws -> DatasetRecord {
        guard let record = try store.dataset(id) else { throw APIError.notFound("no dataset '\(id)' (list them with GET /v1/datasets)") }
        return record
    }

    func datasetResource(_ record: DatasetRecord) throws -> Any {
        var object = try jsonObject(record)
        object["upload"] = DatasetUpload.folder(jobsDirectory: configuration.jobsDirectory, id: record.id).appendingPathComponent("upload.csv").path
        return redaction.apply(toJSONObject: object)
    }

    /// A CSV or zip upload, at most `maxConcurrentUploads` at a time (429 beyond).
    func createDataset(_ request: Request) async throws -> Response {
        try await uploads.withSlot { try await receiveDataset(request) }
    }

    func receiveDataset(_ request: Request) async throws -> Response {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch mediaType {
        case "text/csv", "application/csv", "text/plain": break
        case "application/zip", "application/x-zip-compressed":
            return try await createZipDataset(request)
        default:
            throw APIError.unsupportedMediaType("POST a CSV manifest with Content-Type text/csv and ?root=FOLDER "
                + "(the server-side folder its relative image paths start from, inside a --data-root), "
                + "or a zip of the manifest and its images (or of one folder per label) with Content-Type application/zip")
        }
        // Without `root`, relative paths start at the first data root.
        guard let rootParameter = request.uri.queryParameters.get("root").flatMap({ $0.isEmpty ? nil : $0 }) ?? dataRoots.first else {
            throw APIError.badRequest("missing query parameter root: the server-side folder the manifest's images are in "
                + "(the server has no --data-root, so no CSV manifest can be uploaded; upload a zip instead)")
        }
        // A NUL cannot be in a path (and Foundation traps on one): such a root is outside every data root.
        let root = rootParameter.contains("\0") ? "" : Self.canonicalPath(rootParameter)
        guard !root.isEmpty, dataRoots.contains(where: { root == $0 || root.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw APIError(.forbidden, "root \(rootParameter) is outside the data roots (\(dataRoots.joined(separator: ", "))): "
                + "move the images there or start the server with --data-root")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw APIError.unprocessable("root \(rootParameter) is not a folder on the server")
        }
        let multiLabel = try boolParameter(request, "multi_label") ?? false
        let body = try await collectBody(request, limit: configuration.maxManifestBytes, what: "the manifest")
        guard !body.isEmpty else { throw APIError.badRequest("the manifest is empty: POST the CSV rows [set,]path,label") }
        let record = try DatasetUpload.register(manifest: body, root: URL(fileURLWithPath: root, isDirectory: true), multiLabel: multiLabel,
                                                name: request.uri.queryParameters.get("name"), jobsDirectory: configuration.jobsDirectory)
        try store.insertDataset(record)
        runner.wake()
        return try json(datasetResource(record), status: .created, headers: [.location: "/v1/datasets/\(record.id)"])
    }

    /// A zip upload: streamed to `JOBS_DIR/datasets/ID/upload.zip`, extracted into `files/` next to it
    /// (off the cooperative pool), then registered like a CSV upload. Any failure removes the folder.
    /// The disk keeps `minimumFreeDiskBytes` free: checked against Content-Length before, every few
    /// megabytes while streaming, and by capping extraction at the room left (507 when short).
    func createZipDataset(_ request: Request) async throws -> Response {
        let multiLabel = try boolParameter(request, "multi_label") ?? false
        let limit = configuration.maxZipBytes
        let tooLarge = APIError(.contentTooLarge, "the zip is larger than the limit of \(limit) bytes: split the dataset into several zips, "
            + "or start the server with a larger --max-zip-bytes")
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > limit { throw tooLarge }
        try disk.require(Int64(max(1, length ?? 1)), for: length.map { "a zip of \($0) bytes" } ?? "a zip")
        let id = newResourceID(prefix: "ds")
        let folder = DatasetUpload.folder(jobsDirectory: configuration.jobsDirectory, id: id)
        let zip = folder.appendingPathComponent("upload.zip")
        var extractionRoom: Int64?  // set when the disk, not --max-zip-bytes, caps extraction
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: zip.path, contents: nil), let file = FileHandle(forWritingAtPath: zip.path) else {
                throw JobError.io("cannot write \(zip.path)")
            }
            var received = 0
            var checkedAt = 0
            do {
                defer { try? file.close() }
                for try await buffer in request.body {
                    received += buffer.readableBytes
                    if received > limit { throw tooLarge }
                    if received - checkedAt >= 8 << 20 {
                        try disk.require(Int64(buffer.readableBytes), for: "the rest of the zip (\(received) bytes received)")
                        checkedAt = received
                    }
                    try file.write(contentsOf: Data(buffer.readableBytesView))
                }
            }
            guard received > 0 else { throw APIError.badRequest("the zip is empty: send the bytes of a .zip file (curl --data-binary @dataset.zip)") }
            // Extraction may write at most the room left on the disk; hitting that cap is a 507, not a 413.
            var limits = configuration.zipLimits
            let room = disk.room()
            if room < limits.maxUncompressedBytes {
                limits.maxUncompressedBytes = room
                extractionRoom = room
            }
            let (name, jobsDirectory, extractionLimits) = (request.uri.queryParameters.get("name"), configuration.jobsDirectory, limits)
            let record = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result {
                        try ZipDatasetUpload.register(zip: zip, multiLabel: multiLabel, name: name, jobsDirectory: jobsDirectory, id: id,
                                                      limits: extractionLimits)
                    })
                }
            }
            try store.insertDataset(record)
            runner.wake()
            return try json(datasetResource(record), status: .created, headers: [.location: "/v1/datasets/\(record.id)"])
        } catch let error as ZipUploadError {
            try? FileManager.default.removeItem(at: folder)
            if error.isOverLimit, let extractionRoom, error.description.contains("\(extractionRoom) bytes") {
                throw DiskSpace.insufficient("extracting the zip", room: extractionRoom)
            }
            throw APIError(error.isOverLimit ? .contentTooLarge : .unprocessableContent, error.description)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    func deleteDataset(_ id: String) throws -> Response {
        try store.deleteDataset(id)
        try? FileManager.default.removeItem(at: DatasetUpload.folder(jobsDirectory: configuration.jobsDirectory, id: id))
        return Response(status: .noContent)
    }

    // MARK: Jobs

    func job(_ id: String) throws -> JobRecord {
        guard let record = try store.job(id) else { throw APIError.notFound("no job '\(id)' (list them with GET /v1/jobs)") }
        return record
    }

    func jobResource(_ record: JobRecord) throws -> Any {
        var object = try jsonObject(record)
        // The server-side folders a command-line job was allowed to read stay on the server.
        if var settings = object["settings"] as? [String: Any] {
            settings["import_options"] = nil
            object["settings"] = settings
        }
        let running = !record.state.isFinished && record.state != .queued
        object["eta_seconds"] = running ? max(0, record.budgetSeconds - record.usedSeconds) : (record.state == .queued ? nil : 0)
        if record.state == .succeeded {
            object["model"] = "/v1/models/\(record.id)"
            object["report"] = "/v1/jobs/\(record.id)/report"
        }
        return redaction.apply(toJSONObject: object)
    }

    /// `POST /v1/jobs`: any Content-Type (so `curl -d '{…}'` works); every field is checked before the
    /// dataset is looked up, and a budget above `maxJobBudgetSeconds` is lowered to it.
    func createJob(_ request: Request) async throws -> Response {
        let body = try await collectBody(request, limit: 1 << 20, what: "the job request")
        let parsed = try JobRequest.parse(body)
        let (datasetID, testTimeAugmentation, seed) = (parsed.datasetID, parsed.testTimeAugmentation ?? true, parsed.seed ?? 0)
        let budget = Budget(seconds: min(parsed.budgetSeconds, configuration.maxJobBudgetSeconds ?? .infinity))
        let dataset = try dataset(datasetID)
        if dataset.state == .failed {
            throw APIError.conflict("dataset '\(datasetID)' failed to import (\(dataset.failureReason ?? "see GET /v1/datasets/\(datasetID)")): upload it again")
        }
        // 409, not 422: the request is well formed, the dataset's state is what stands in the way.
        if dataset.multiLabel { throw APIError.conflict("dataset '\(datasetID)' is multi-label: \(JobError.multiLabelNotSupported.description)") }
        var record = JobRecord(id: JobRecord.newID(), manifest: dataset.manifest, budgetSeconds: budget.seconds, seed: UInt64(seed))
        record.datasetID = datasetID
        if !testTimeAugmentation { record.testTimeAugmentation = false }
        if let members = parsed.ensembleMembers {
            var settings = JobSettings()
            settings.maximumEnsembleMembers = members
            record.settings = settings
        }
        try store.insertJob(record)
        runner.wake()
        return try json(jobResource(record), status: .accepted, headers: [.location: "/v1/jobs/\(record.id)"])
    }

    func cancelJob(_ id: String) throws -> Response {
        _ = try job(id)
        try runner.cancel(id)
        return try json(jobResource(job(id)), status: .accepted)
    }

    func deleteJob(_ id: String) throws -> Response {
        _ = try job(id)
        try store.deleteJob(id)
        predictions.evict(id)
        try? FileManager.default.removeItem(at: JobFolder(jobsDirectory: configuration.jobsDirectory, id: id).url)
        return Response(status: .noContent)
    }

    func trials(_ id: String) throws -> Response {
        _ = try job(id)
        return try json(["job_id": id, "trials": try store.trials(jobID: id).map(jsonObject)] as [String: Any])
    }

    func report(_ id: String, html: Bool) throws -> Response {
        let record = try job(id)
        let folder = JobFolder(jobsDirectory: configuration.jobsDirectory, id: id)
        let url = html ? folder.reportHTMLURL : folder.reportURL
        guard record.state == .succeeded, let data = FileManager.default.contents(atPath: url.path) else {
            throw APIError.conflict("job '\(id)' has no report (state: \(record.state.rawValue)\(record.failureReason.map { ", \($0)" } ?? "")); "
                + "the report is written when the job succeeds")
        }
        return Response(status: .ok, headers: [.contentType: html ? "text/html; charset=utf-8" : "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: Models

    func modelResource(_ record: ModelRecord) throws -> Any {
        var object = try jsonObject(record)
        object["input_size"] = ["width": record.width, "height": record.height, "channels": record.channels]
        object["job"] = "/v1/jobs/\(record.id)"
        return object
    }

    func modelInfo(_ id: String) throws -> Response {
        if let record = try store.model(id) { return try json(modelResource(record)) }
        _ = try predictions.handle(for: id)  // throws the 404 / 409 with its reason
        throw APIError.notFound("no model '\(id)'")
    }

    func predict(_ request: Request, id: String) async throws -> Response {
        let handle = try predictions.handle(for: id)
        let contentType = request.headers[.contentType]
        let isJSON = contentType?.lowercased().hasPrefix("application/json") ?? false
        // JSON carries base64 (4/3 of the bytes) plus a little structure.
        let limit = isJSON ? configuration.maxImageBytes / 3 * 4 + 64 * 1024 : configuration.maxImageBytes
        let body = try await collectBody(request, limit: limit, what: "the image")
        let parsed: PredictionRequest
        do throws(PredictionRequestError) {
            parsed = try PredictionRequest.parse(body: body, contentType: contentType)
        } catch {
            switch error {
            case let .badRequest(detail): throw APIError.badRequest(detail)
            case let .unsupportedMediaType(detail): throw APIError.unsupportedMediaType(detail)
            }
        }
        switch parsed {
        case let .raw(bytes):
            guard !bytes.isEmpty else {
                throw APIError.badRequest("the request body is empty: send the image's bytes (PNG or JPEG) with Content-Type image/png, "
                    + "image/jpeg or application/octet-stream")
            }
            let inputs = try await decode(handle, [bytes], names: ["the request body"])
            let predictions = await handle.predict(inputs)[0]
            let list: [[String: Any]] = predictions.map { ["label": $0.label, "score": $0.score] }
            return try json(["model_id": id, "predictions": list] as [String: Any])
        case let .automl(bytes, threshold, maxPredictions):
            let inputs = try await decode(handle, [bytes], names: ["payload.image.imageBytes"])
            var kept = await handle.predict(inputs)[0].filter { $0.score >= threshold }
            if let maxPredictions { kept = Array(kept.prefix(maxPredictions)) }
            let payload: [[String: Any]] = kept.map {
                ["annotationSpecId": "\(handle.labels.firstIndex(of: $0.label) ?? 0)", "displayName": $0.label,
                 "classification": ["score": $0.score] as [String: Any]]
            }
            return try json(["payload": payload])
        case let .vertex(images, threshold, maxPredictions):
            guard images.count <= configuration.maxInstancesPerRequest else {
                throw APIError(.contentTooLarge, "\(images.count) instances is more than the limit of \(configuration.maxInstancesPerRequest) per request: "
                    + "send them in several requests (concurrent requests are batched together)")
            }
            let inputs = try await decode(handle, images, names: images.indices.map { "instances[\($0)].content" })
            let results = await handle.predict(inputs)
            let predictions: [[String: Any]] = results.map { scores in
                let kept = scores.filter { $0.score >= threshold }.prefix(maxPredictions)
                return ["ids": kept.map { "\(handle.labels.firstIndex(of: $0.label) ?? 0)" }, "displayNames": kept.map(\.label),
                        "confidences": kept.map(\.score)]
            }
            return try json(["predictions": predictions, "deployedModelId": id] as [String: Any])
        }
    }

    private func decode(_ handle: ModelHandle, _ images: [[UInt8]], names: [String]) async throws -> [[Float]] {
        for (index, bytes) in images.enumerated() where bytes.isEmpty {
            throw APIError.imageError(.emptyFile, what: names[index])
        }
        do {
            return try await handle.inputs(for: images)
        } catch let error as ImageDecodingError {
            // Name the failing image when there are several.
            if images.count > 1 {
                for (index, bytes) in images.enumerated() {
                    do { _ = try await handle.inputs(for: [bytes]) } catch let error as ImageDecodingError {
                        throw APIError.imageError(error, what: names[index])
                    }
                }
            }
            throw APIError.imageError(error, what: names[0])
        }
    }

    // MARK: Helpers

    /// Reads the body up to `limit` bytes; 413 beyond (checked from Content-Length first when given).
    func collectBody(_ request: Request, limit: Int, what: String) async throws -> [UInt8] {
        let tooLarge = APIError(.contentTooLarge, "\(what) is larger than the limit of \(limit) bytes")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            if bytes.count + buffer.readableBytes > limit { throw tooLarge }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    func boolParameter(_ request: Request, _ name: String) throws -> Bool? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        // Exactly the document's boolean: a client misspelling it learns so rather than getting a default.
        switch value {
        case "true": return true
        case "false": return false
        default: throw APIError.badRequest("query parameter \(name) must be true or false, got '\(value)'")
        }
    }

    /// Absolute (relative to the working directory), without `.`/`..`, symbolic links resolved.
    static func canonicalPath(_ path: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(path)
        var resolved = url.standardizedFileURL.resolvingSymlinksInPath().path
        while resolved.count > 1 && resolved.hasSuffix("/") { resolved.removeLast() }
        return resolved
    }
}

// MARK: JSON

let responseEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
}()

/// A Codable value as a JSON object (to add links and derived fields).
func jsonObject(_ value: some Encodable) throws -> [String: Any] {
    (try JSONSerialization.jsonObject(with: responseEncoder.encode(value)) as? [String: Any]) ?? [:]
}

func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    var headers = headers
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}

/// `buildApplication` for the command-line tool.
public struct ServerBox: ApplicationProtocolBox {
    let body: @Sendable () async throws -> Void

    public init(configuration: ServerConfiguration) throws {
        let app = try buildApplication(configuration: configuration)
        body = { try await app.runService() }
    }

    public func run() async throws { try await body() }
}
