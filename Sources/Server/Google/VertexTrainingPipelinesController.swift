import Foundation
import Hummingbird
import JobService
import Search
import Tensors

/// Vertex AI's training pipelines (`PipelineService`): an AutoML image classification pipeline is one
/// of our jobs, with the same ID; its model, once it succeeded, is `models/ID`. Create, get, list,
/// cancel and delete. Every job is listed, also those started through `/v1/jobs` or the CLI.
struct VertexTrainingPipelinesController: APIController {
    let store: any JobStore
    let runner: JobRunner
    let predictions: PredictionService
    let jobsDirectory: URL
    let maxBudgetSeconds: Double?
    /// `serve --precision`, resolved: the arithmetic of the jobs created here.
    let precision: Precision

    /// The display names and inputs a pipeline was created with (a job value).
    static let valueKey = "vertex.training_pipeline"
    /// Worker-seconds in one milli-node-hour: a node-hour is 3,600 seconds of one worker.
    static let secondsPerMilliNodeHour = 3.6
    static let imageClassificationDefinition = "gs://google-cloud-aiplatform/schema/trainingjob/definition/automl_image_classification_1.0.0.yaml"

    static let routes: [Route<Self>] = [
        Route(.post, Google.prefix + "/trainingPipelines") { pipelines, request, context in
            try await pipelines.create(request, parent: Google.parent(context))
        },
        Route(.get, Google.prefix + "/trainingPipelines") { pipelines, _, context in
            let parent = Google.parent(context)
            return try Google.answer(VertexTrainingPipelineList(trainingPipelines: pipelines.store.jobs().map { try pipelines.resource($0, parent: parent) }))
        },
        Route(.get, Google.prefix + "/trainingPipelines/{id}") { pipelines, _, context in
            try Google.answer(pipelines.resource(pipelines.store.requireJob(context.id()), parent: Google.parent(context)))
        },
        Route(.post, Google.prefix + "/trainingPipelines/{id}:cancel") { pipelines, _, context in
            _ = try pipelines.store.requireJob(context.id())
            try pipelines.runner.cancel(context.id())
            return try Google.answer(EmptyMessage())
        },
        Route(.delete, Google.prefix + "/trainingPipelines/{id}") { pipelines, _, context in
            try pipelines.delete(context.id(), parent: Google.parent(context))
        },
    ]

    /// What the request named that our job record does not keep.
    struct Inputs: Codable {
        var displayName: String
        var modelDisplayName: String?
        var modelLabels: [String: String]?
        var trainingTaskInputs: TaskInputs
    }

    /// `automl_image_classification`'s `trainingTaskInputs`.
    struct TaskInputs: Codable {
        var modelType: String?
        var budgetMilliNodeHours: Int64?
        var disableEarlyStopping: Bool?
        var multiLabel: Bool?

        enum CodingKeys: CodingKey { case modelType, budgetMilliNodeHours, disableEarlyStopping, multiLabel }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            modelType = try container.decodeIfPresent(String.self, forKey: .modelType)
            budgetMilliNodeHours = try container.decodeIfPresent(ProtoInt64.self, forKey: .budgetMilliNodeHours)?.value
            disableEarlyStopping = try container.decodeIfPresent(Bool.self, forKey: .disableEarlyStopping)
            multiLabel = try container.decodeIfPresent(Bool.self, forKey: .multiLabel)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(modelType, forKey: .modelType)
            try container.encodeIfPresent(budgetMilliNodeHours.map(String.init), forKey: .budgetMilliNodeHours)
            try container.encodeIfPresent(disableEarlyStopping, forKey: .disableEarlyStopping)
            try container.encodeIfPresent(multiLabel, forKey: .multiLabel)
        }
    }

    struct CreateRequest: Decodable {
        struct InputDataConfig: Decodable { var datasetId: String? }
        struct ModelToUpload: Decodable {
            var displayName: String?
            var labels: [String: String]?
        }

        var displayName: String?
        var inputDataConfig: InputDataConfig?
        var trainingTaskDefinition: String?
        var trainingTaskInputs: TaskInputs?
        var modelToUpload: ModelToUpload?
    }

    static let help = "send a TrainingPipeline with trainingTaskDefinition \(imageClassificationDefinition), inputDataConfig.datasetId "
        + "and trainingTaskInputs.budgetMilliNodeHours (1 milli-node-hour = 3.6 worker-seconds)"

    /// Queues a job on the dataset, its budget `budgetMilliNodeHours × 3.6` seconds (lowered to `serve --max-budget`).
    /// - Throws: 400 for another task or a missing dataset ID or budget, 404 for an unknown dataset, 409
    ///   for one not imported, failed, or multi-label.
    func create(_ request: Request, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(CreateRequest.self, from: request, help: Self.help)
        let (datasetID, inputs, milliNodeHours) = try Self.validated(body)
        let dataset = try trainableDataset(datasetID, multiLabel: inputs.multiLabel, parent: parent)
        let seconds = min(Double(milliNodeHours) * Self.secondsPerMilliNodeHour, maxBudgetSeconds ?? .infinity)
        var record = JobRecord(id: JobRecord.newID(), manifest: dataset.manifest, budgetSeconds: Budget(seconds: seconds).seconds, seed: 0)
        record.datasetID = datasetID
        var settings = JobSettings()
        if inputs.disableEarlyStopping == true { settings.earlyStopping = false }
        settings.precision = precision
        record.settings = settings
        let stored = Inputs(displayName: body.displayName ?? record.id, modelDisplayName: body.modelToUpload?.displayName,
                            modelLabels: body.modelToUpload?.labels, trainingTaskInputs: inputs)
        try store.insertJob(record)
        try store.saveValue(jobID: record.id, key: Self.valueKey, JSONBody.values(stored))
        runner.wake()
        return try Google.answer(resource(record, parent: parent))
    }

    /// The request's dataset ID, task inputs and budget; 400 for another task or a missing or out-of-range field.
    static func validated(_ body: CreateRequest) throws -> (datasetID: String, inputs: TaskInputs, milliNodeHours: Int64) {
        guard let definition = body.trainingTaskDefinition, definition.contains("automl_image_classification") else {
            throw APIError.badRequest("only AutoML image classification pipelines are supported: \(help)")
        }
        guard let datasetID = body.inputDataConfig?.datasetId, !datasetID.isEmpty else { throw APIError.badRequest("missing inputDataConfig.datasetId: \(help)") }
        guard let inputs = body.trainingTaskInputs, let milliNodeHours = inputs.budgetMilliNodeHours, milliNodeHours >= 1,
              Double(milliNodeHours) * secondsPerMilliNodeHour <= JobRequest.maxBudgetSeconds
        else {
            throw APIError.badRequest("trainingTaskInputs.budgetMilliNodeHours must be from 1 to \(Int(JobRequest.maxBudgetSeconds / secondsPerMilliNodeHour)): \(help)")
        }
        return (datasetID, inputs, milliNodeHours)
    }

    /// Dataset `id`: 404 when there is none, 409 when it has no data yet, failed to import, or is not
    /// of the kind asked for (`multiLabel`, from the inputs' `multiLabel`, when given).
    func trainableDataset(_ id: String, multiLabel: Bool?, parent: String) throws -> DatasetRecord {
        guard let dataset = try store.dataset(id) else {
            if try store.resource(kind: VertexDatasetsController.kind, id: id) != nil {
                throw APIError.conflict("dataset '\(id)' has no data: import it first (datasets/\(id):import)")
            }
            throw APIError.notFound("no dataset '\(id)' (list them with GET /v1/\(parent)/datasets)")
        }
        if dataset.state == .failed { throw APIError.conflict("dataset '\(id)' failed to import: \(dataset.failureReason ?? "")") }
        if let multiLabel, multiLabel != dataset.multiLabel {
            throw APIError.conflict("dataset '\(id)' is \(dataset.multiLabel ? "multi-label" : "single-label"): "
                + "set trainingTaskInputs.multiLabel to \(dataset.multiLabel), or leave it out")
        }
        return dataset
    }

    func delete(_ id: String, parent: String) throws -> Response {
        _ = try store.requireJob(id)
        try store.deleteJob(id, withFolderIn: jobsDirectory)
        predictions.evict(id)
        return try Google.answer(Operation.finished("\(parent)/operations/delete.\(id)", type: "google.protobuf.Empty", EmptyMessage()))
    }

    /// The inputs stored with a job created here; `nil` for other jobs.
    static func inputs(of id: String, in store: any JobStore) -> Inputs? {
        (try? store.value(jobID: id, key: valueKey)).flatMap { $0 }.flatMap { try? JSONDecoder.google.decode(Inputs.self, from: $0) }
    }

    func resource(_ record: JobRecord, parent: String) throws -> VertexTrainingPipeline {
        let inputs = Self.inputs(of: record.id, in: store)
        let state: String = switch record.state {
        case .queued: "PIPELINE_STATE_QUEUED"
        case .importing, .searching, .training, .evaluating: "PIPELINE_STATE_RUNNING"
        case .succeeded: "PIPELINE_STATE_SUCCEEDED"
        case .failed: "PIPELINE_STATE_FAILED"
        case .cancelled: "PIPELINE_STATE_CANCELLED"
        }
        let model = record.state == .succeeded ? "\(parent)/models/\(record.id)" : nil
        return VertexTrainingPipeline(
            name: "\(parent)/trainingPipelines/\(record.id)", displayName: inputs?.displayName ?? record.id,
            inputDataConfig: .init(datasetId: record.datasetID), trainingTaskDefinition: Self.imageClassificationDefinition,
            trainingTaskInputs: inputs?.trainingTaskInputs,
            modelToUpload: .init(name: model, displayName: inputs?.modelDisplayName ?? record.id, labels: inputs?.modelLabels),
            modelId: record.state == .succeeded ? record.id : nil, state: state,
            error: record.state == .failed ? RPCStatus("INTERNAL", record.failureReason ?? "the job failed") : nil,
            createTime: record.createdAt, updateTime: record.updatedAt, endTime: record.state.isFinished ? record.updatedAt : nil)
    }
}

/// `google.cloud.aiplatform.v1.TrainingPipeline`.
struct VertexTrainingPipeline: Encodable {
    struct InputDataConfig: Encodable { var datasetId: String? }
    struct ModelToUpload: Encodable {
        var name: String?
        var displayName: String
        var labels: [String: String]?
    }

    var name: String
    var displayName: String
    var inputDataConfig: InputDataConfig
    var trainingTaskDefinition: String
    var trainingTaskInputs: VertexTrainingPipelinesController.TaskInputs?
    var modelToUpload: ModelToUpload
    var modelId: String?
    var state: String
    var error: RPCStatus?
    var createTime: Date
    var updateTime: Date
    var endTime: Date?
}

struct VertexTrainingPipelineList: Encodable {
    var trainingPipelines: [VertexTrainingPipeline]
}
