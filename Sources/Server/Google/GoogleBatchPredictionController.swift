import Foundation
import Hummingbird
import JobService

/// Vertex AI's `batchPredictionJobs` (create, get, list, cancel is refused) and AutoML's
/// `models/ID:batchPredict` (a long-running operation, `batch-predict.ID`), both run by `GoogleBatchPredictions`.
struct GoogleBatchPredictionController: APIController {
    let batches: GoogleBatchPredictions

    static let routes: [Route<Self>] = [
        Route(.post, Google.prefix + "/batchPredictionJobs") { controller, request, context in
            try await controller.createVertex(request, parent: Google.parent(context))
        },
        Route(.get, Google.prefix + "/batchPredictionJobs") { controller, _, context in
            let parent = Google.parent(context)
            let jobs = try controller.batches.batches().filter { $0.api == .vertex }.map { VertexBatchPredictionJob($0, parent: parent) }
            return try Google.answer(VertexBatchPredictionJobList(batchPredictionJobs: jobs))
        },
        Route(.get, Google.prefix + "/batchPredictionJobs/{id}") { controller, _, context in
            try Google.answer(VertexBatchPredictionJob(controller.require(context.id(), parent: Google.parent(context)), parent: Google.parent(context)))
        },
        Route(.post, Google.prefix + "/models/{id}:batchPredict") { controller, request, context in
            try await controller.createAutoML(request, modelID: Google.modelID(context.id()), parent: Google.parent(context))
        },
    ]

    func require(_ id: String, parent: String) throws -> GoogleBatchPredictions.Batch {
        guard let batch = try batches.batch(id) else {
            throw APIError.notFound("no batch prediction job '\(id)' (list them with GET /v1/\(parent)/batchPredictionJobs)")
        }
        return batch
    }

    struct VertexRequest: Decodable {
        struct InputConfig: Decodable {
            struct Source: Decodable { var uris: [String]? }
            var instancesFormat: String?
            var gcsSource: Source?
        }

        struct OutputConfig: Decodable {
            struct Destination: Decodable { var outputUriPrefix: String? }
            var predictionsFormat: String?
            var gcsDestination: Destination?
        }

        var displayName: String?
        var model: String?
        var inputConfig: InputConfig?
        var outputConfig: OutputConfig?
    }

    static let vertexHelp = "send a BatchPredictionJob: {\"model\": \"…/models/ID\", \"inputConfig\": {\"instancesFormat\": \"jsonl\", "
        + "\"gcsSource\": {\"uris\": [\"gs://…\"]}}, \"outputConfig\": {\"predictionsFormat\": \"jsonl\", \"gcsDestination\": {\"outputUriPrefix\": \"gs://…\"}}}"

    func createVertex(_ request: Request, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(VertexRequest.self, from: request, help: Self.vertexHelp)
        guard let model = body.model.map(Google.modelID), let uris = body.inputConfig?.gcsSource?.uris,
              let prefix = body.outputConfig?.gcsDestination?.outputUriPrefix
        else { throw APIError.badRequest(Self.vertexHelp) }
        for (field, format) in [("inputConfig.instancesFormat", body.inputConfig?.instancesFormat), ("outputConfig.predictionsFormat", body.outputConfig?.predictionsFormat)] {
            if let format, format != "jsonl" { throw APIError.badRequest("\(field) '\(format)' is not supported: use jsonl") }
        }
        let batch = try batches.start(api: .vertex, displayName: body.displayName ?? "batch", modelID: model, inputURIs: uris, outputPrefix: prefix)
        return try Google.answer(VertexBatchPredictionJob(batch, parent: parent))
    }

    struct AutoMLRequest: Decodable {
        struct InputConfig: Decodable {
            struct Source: Decodable { var inputUris: [String]? }
            var gcsSource: Source?
        }

        struct OutputConfig: Decodable {
            struct Destination: Decodable { var outputUriPrefix: String? }
            var gcsDestination: Destination?
        }

        var inputConfig: InputConfig?
        var outputConfig: OutputConfig?
    }

    func createAutoML(_ request: Request, modelID: String, parent: String) async throws -> Response {
        let help = "send {\"inputConfig\": {\"gcsSource\": {\"inputUris\": [\"gs://…csv\"]}}, \"outputConfig\": {\"gcsDestination\": {\"outputUriPrefix\": \"gs://…\"}}}"
        let body = try await decodeGoogleRequest(AutoMLRequest.self, from: request, help: help)
        guard let uris = body.inputConfig?.gcsSource?.inputUris, let prefix = body.outputConfig?.gcsDestination?.outputUriPrefix else {
            throw APIError.badRequest(help)
        }
        let batch = try batches.start(api: .automl, displayName: "batch", modelID: modelID, inputURIs: uris, outputPrefix: prefix)
        return try Google.answer(Self.automlOperation(batch, parent: parent))
    }

    /// `batch-predict.ID`: done when the batch is; AutoML's `BatchPredictResult` as its response.
    static func automlOperation(_ batch: GoogleBatchPredictions.Batch, parent: String) -> Operation<EmptyMessage> {
        let name = "\(parent)/operations/batch-predict.\(batch.id)"
        switch batch.state {
        case "JOB_STATE_SUCCEEDED": return .finished(name, type: "google.cloud.automl.v1.BatchPredictResult", EmptyMessage())
        case "JOB_STATE_FAILED": return .failed(name, RPCStatus("INTERNAL", batch.failure ?? "the batch failed"))
        default: return .running(name)
        }
    }
}

/// `google.cloud.aiplatform.v1.BatchPredictionJob`.
struct VertexBatchPredictionJob: Encodable {
    struct InputConfig: Encodable {
        struct Source: Encodable { var uris: [String] }
        var instancesFormat = "jsonl"
        var gcsSource: Source
    }

    struct OutputConfig: Encodable {
        struct Destination: Encodable { var outputUriPrefix: String }
        var predictionsFormat = "jsonl"
        var gcsDestination: Destination
    }

    struct OutputInfo: Encodable { var gcsOutputDirectory: String }
    struct CompletionStats: Encodable {
        var successfulCount: String
        var failedCount: String
    }

    var name: String
    var displayName: String
    var model: String
    var inputConfig: InputConfig
    var outputConfig: OutputConfig
    var state: String
    var outputInfo: OutputInfo?
    var error: RPCStatus?
    var completionStats: CompletionStats
    var createTime: Date
    var updateTime: Date
    var endTime: Date?

    init(_ batch: GoogleBatchPredictions.Batch, parent: String) {
        name = "\(parent)/batchPredictionJobs/\(batch.id)"
        displayName = batch.displayName
        model = "\(parent)/models/\(batch.modelID)"
        inputConfig = InputConfig(gcsSource: .init(uris: batch.inputURIs))
        outputConfig = OutputConfig(gcsDestination: .init(outputUriPrefix: batch.outputPrefix))
        state = batch.state
        outputInfo = batch.outputDirectory.map(OutputInfo.init)
        error = batch.failure.map { RPCStatus("INTERNAL", $0) }
        completionStats = CompletionStats(successfulCount: String(batch.succeeded), failedCount: String(batch.failed))
        createTime = batch.createTime
        updateTime = batch.updateTime
        endTime = batch.state == "JOB_STATE_RUNNING" ? nil : batch.updateTime
    }
}

struct VertexBatchPredictionJobList: Encodable {
    var batchPredictionJobs: [VertexBatchPredictionJob]
}
