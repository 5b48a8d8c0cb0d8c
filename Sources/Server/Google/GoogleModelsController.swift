import Evaluation
import Foundation
import Hummingbird
import JobService

/// The models of Vertex AI (`ModelService`) and AutoML Vision (`AutoMl`), which share
/// `/v1/projects/*/locations/*/models[/*]`: list, get and delete answer with one body carrying both
/// schemas' fields (each client ignores the other's). A model's ID is its job's ID. Evaluations:
/// Vertex's `evaluations` (with per-label `slices`) and AutoML's `modelEvaluations`, both from the
/// job's TEST report. Predictions: AutoML's `models/ID:predict` (Vertex predicts through endpoints).
struct GoogleModelsController: APIController {
    let store: any JobStore
    let predictions: PredictionService
    let jobsDirectory: URL
    /// Our own `/v1/models/{id}/predict`, which reads AutoML's request shape too.
    let ourModels: ModelsController

    static let classificationMetricsSchema = "gs://google-cloud-aiplatform/schema/modelevaluation/classification_metrics_1.0.0.yaml"

    static let routes: [Route<Self>] = [
        Route(.get, Google.prefix + "/models") { models, _, context in
            let parent = Google.parent(context)
            let endpoints = try VertexEndpointsController.endpoints(in: models.store)
            let list = try models.store.models().map { try models.resource($0, parent: parent, endpoints: endpoints) }
            return try Google.answer(GoogleModelList(models: list, model: list))
        },
        Route(.get, Google.prefix + "/models/{id}") { models, _, context in
            try Google.answer(models.resource(models.predictions.requireModel(Google.modelID(context.id())), parent: Google.parent(context)))
        },
        Route(.delete, Google.prefix + "/models/{id}") { models, _, context in
            let id = Google.modelID(try context.id())
            _ = try models.predictions.requireModel(id)
            try models.store.deleteJob(id, withFolderIn: models.jobsDirectory)
            models.predictions.evict(id)
            return try Google.answer(Operation.finished("\(Google.parent(context))/operations/delete.\(id)", type: "google.protobuf.Empty", EmptyMessage()))
        },
        Route(.post, Google.prefix + "/models/{id}:predict") { models, request, context in
            try await models.ourModels.predict(request, id: Google.modelID(context.id()))
        },
        Route(.get, Google.prefix + "/models/{id}/evaluations") { models, _, context in
            let id = Google.modelID(try context.id())
            return try Google.answer(VertexModelEvaluationList(modelEvaluations: [models.vertexEvaluation(id, parent: Google.parent(context))]))
        },
        Route(.get, Google.prefix + "/models/{id}/evaluations/{evaluation}") { models, _, context in
            let id = Google.modelID(try context.id())
            try models.requireEvaluation(context, "1")
            return try Google.answer(models.vertexEvaluation(id, parent: Google.parent(context)))
        },
        Route(.get, Google.prefix + "/models/{id}/evaluations/{evaluation}/slices") { models, _, context in
            let id = Google.modelID(try context.id())
            try models.requireEvaluation(context, "1")
            return try Google.answer(VertexSliceList(modelEvaluationSlices: models.vertexSlices(id, parent: Google.parent(context))))
        },
        Route(.get, Google.prefix + "/models/{id}/modelEvaluations") { models, _, context in
            let id = Google.modelID(try context.id())
            return try Google.answer(AutoMLEvaluationList(modelEvaluation: models.automlEvaluations(id, parent: Google.parent(context))))
        },
        Route(.get, Google.prefix + "/models/{id}/modelEvaluations/{evaluation}") { models, _, context in
            let id = Google.modelID(try context.id())
            let wanted = "\(Google.parent(context))/models/\(id)/modelEvaluations/\(context.parameters.get("evaluation") ?? "")"
            guard let evaluation = try models.automlEvaluations(id, parent: Google.parent(context)).first(where: { $0.name == wanted }) else {
                throw APIError.notFound("no evaluation '\(wanted)' (list them with GET /v1/\(Google.parent(context))/models/\(id)/modelEvaluations)")
            }
            return try Google.answer(evaluation)
        },
    ]

    /// 404 unless the route's `{evaluation}` is `expected` (a model has one evaluation, on TEST).
    func requireEvaluation(_ context: BasicRequestContext, _ expected: String) throws {
        let given = context.parameters.get("evaluation") ?? ""
        guard given == expected else { throw APIError.notFound("no evaluation '\(given)': a model has one, '\(expected)'") }
    }

    /// The job's TEST report; 404 for a model without one.
    func report(_ id: String) throws -> EvaluationReport {
        _ = try predictions.requireModel(id)
        guard let data = try store.readArtifact(jobID: id, name: "report.json") else { throw APIError.notFound("model '\(id)' has no evaluation report") }
        return try EvaluationReport.decode(from: data)
    }

    /// The model as both APIs show it; `endpoints` (the created ones, read once for a list) default to the store's.
    func resource(_ record: ModelRecord, parent: String, endpoints: [VertexEndpointsController.Stored]? = nil) throws -> GoogleModel {
        let inputs = VertexTrainingPipelinesController.inputs(of: record.id, in: store)
        let job = try store.job(record.id)
        let endpoints = try (endpoints ?? VertexEndpointsController.endpoints(in: store)).filter { $0.deployedModels.contains { $0.modelID == record.id } }
        return GoogleModel(
            name: "\(parent)/models/\(record.id)", displayName: inputs?.modelDisplayName ?? record.id, createTime: record.createdAt,
            updateTime: record.createdAt, labels: inputs?.modelLabels, versionId: "1",
            trainingPipeline: "\(parent)/trainingPipelines/\(record.id)",
            deployedModels: ([record.id] + endpoints.map(\.id)).map { .init(endpoint: "\(parent)/endpoints/\($0)", deployedModelId: record.id) },
            supportedDeploymentResourcesTypes: ["AUTOMATIC_RESOURCES"], supportedInputStorageFormats: ["jsonl"],
            supportedOutputStorageFormats: ["jsonl"], datasetId: job?.datasetID, deploymentState: "DEPLOYED",
            imageClassificationModelMetadata: .init(
                trainBudgetMilliNodeHours: job.map { String(Int(($0.budgetSeconds / VertexTrainingPipelinesController.secondsPerMilliNodeHour).rounded())) },
                trainCostMilliNodeHours: job.map { String(Int(($0.usedSeconds / VertexTrainingPipelinesController.secondsPerMilliNodeHour).rounded(.up))) },
                stopReason: job?.stopReason, nodeCount: "1"))
    }

    func vertexEvaluation(_ id: String, parent: String) throws -> VertexModelEvaluation {
        let report = try report(id)
        let test = Overall(report)
        return VertexModelEvaluation(
            name: "\(parent)/models/\(id)/evaluations/1", displayName: "TEST", metricsSchemaUri: Self.classificationMetricsSchema,
            metrics: .init(auPrc: test.auPrc, auRoc: test.auRoc, logLoss: test.logLoss,
                           confidenceMetrics: test.confidenceMetrics.map(VertexConfidenceMetrics.init),
                           confusionMatrix: test.confusionMatrix.map(GoogleConfusionMatrix.init)),
            createTime: report.createdAt, sliceDimensions: ["annotationSpec"])
    }

    /// The figures both Google APIs show for the whole TEST set, of a single-label or a multi-label
    /// report (multi-label: mean AP, the mean of the labels' ROC AUCs, no log loss and, as Vertex AI's
    /// multi-label evaluations, no confusion matrix).
    struct Overall {
        var examples: Int, auPrc: Double?, auRoc: Double?, logLoss: Double?
        var confidenceMetrics: [ConfidencePoint]
        var confusionMatrix: ConfusionMatrix?
        /// Per label: name, AP, ROC AUC, precision, recall, F1, support.
        var perLabel: [(label: String, averagePrecision: Double?, auc: Double?, precision: Double, recall: Double, f1: Double, support: Int)]

        init(_ report: EvaluationReport) {
            if let m = report.multiLabelTest {
                let aucs = m.perLabel.compactMap(\.auc)
                (examples, auPrc, auRoc, logLoss) = (m.examples, m.meanAveragePrecision,
                                                     aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count), nil)
                confidenceMetrics = m.confidenceMetrics
                confusionMatrix = nil
                perLabel = m.perLabel.map { ($0.label, $0.averagePrecision, $0.auc, $0.precision, $0.recall, $0.f1, $0.support) }
            } else {
                let t = report.test
                (examples, auPrc, auRoc, logLoss) = (t?.examples ?? 0, t?.averagePrecision, t?.microAUC, t?.logLoss)
                confidenceMetrics = t?.confidenceMetrics ?? []
                confusionMatrix = t?.confusionMatrix
                perLabel = (t?.perClass ?? []).map { ($0.label, $0.averagePrecision, $0.auc, $0.precision, $0.recall, $0.f1, $0.support) }
            }
        }
    }

    func vertexSlices(_ id: String, parent: String) throws -> [VertexModelEvaluationSlice] {
        let report = try report(id)
        return Overall(report).perLabel.enumerated().map { index, metrics in
            VertexModelEvaluationSlice(
                name: "\(parent)/models/\(id)/evaluations/1/slices/\(index)", slice: .init(dimension: "annotationSpec", value: metrics.label),
                metricsSchemaUri: Self.classificationMetricsSchema,
                metrics: .init(auPrc: metrics.averagePrecision, auRoc: metrics.auc, logLoss: nil,
                               confidenceMetrics: [VertexConfidenceMetrics(threshold: nil, precision: metrics.precision, recall: metrics.recall, f1: metrics.f1)],
                               confusionMatrix: nil),
                createTime: report.createdAt)
        }
    }

    /// The overall evaluation (ID 1, no annotation spec) and one per label (ID 2 + its index).
    func automlEvaluations(_ id: String, parent: String) throws -> [AutoMLModelEvaluation] {
        let report = try report(id)
        let test = Overall(report)
        let overall = AutoMLModelEvaluation(
            name: "\(parent)/models/\(id)/modelEvaluations/1", annotationSpecId: nil, displayName: nil, createTime: report.createdAt,
            evaluatedExampleCount: test.examples,
            classificationEvaluationMetrics: .init(auPrc: test.auPrc, auRoc: test.auRoc, logLoss: test.logLoss,
                                                   confidenceMetricsEntry: test.confidenceMetrics.map(VertexConfidenceMetrics.init),
                                                   confusionMatrix: test.confusionMatrix.map(GoogleConfusionMatrix.init),
                                                   annotationSpecId: test.perLabel.indices.map(String.init)))
        let perLabel = test.perLabel.enumerated().map { index, metrics in
            AutoMLModelEvaluation(
                name: "\(parent)/models/\(id)/modelEvaluations/\(index + 2)", annotationSpecId: String(index), displayName: metrics.label,
                createTime: report.createdAt, evaluatedExampleCount: metrics.support,
                classificationEvaluationMetrics: .init(auPrc: metrics.averagePrecision, auRoc: metrics.auc, logLoss: nil,
                                                       confidenceMetricsEntry: [VertexConfidenceMetrics(threshold: nil, precision: metrics.precision,
                                                                                                        recall: metrics.recall, f1: metrics.f1)],
                                                       confusionMatrix: nil, annotationSpecId: nil))
        }
        return [overall] + perLabel
    }
}

/// A model as both APIs describe it: `google.cloud.aiplatform.v1.Model` and `google.cloud.automl.v1.Model`.
struct GoogleModel: Encodable {
    struct DeployedModelRef: Encodable {
        var endpoint: String
        var deployedModelId: String
    }

    struct ImageClassificationModelMetadata: Encodable {
        var modelType = "cloud"
        var trainBudgetMilliNodeHours: String?
        var trainCostMilliNodeHours: String?
        var stopReason: String?
        var nodeCount: String
    }

    var name: String
    var displayName: String
    var createTime: Date
    var updateTime: Date
    var labels: [String: String]?
    // Vertex AI
    var versionId: String
    var trainingPipeline: String
    var deployedModels: [DeployedModelRef]
    var supportedDeploymentResourcesTypes: [String]
    var supportedInputStorageFormats: [String]
    var supportedOutputStorageFormats: [String]
    // AutoML Vision
    var datasetId: String?
    var deploymentState: String
    var imageClassificationModelMetadata: ImageClassificationModelMetadata
}

/// Vertex AI's `ListModelsResponse` (`models`) and AutoML's (`model`) in one body.
struct GoogleModelList: Encodable {
    var models: [GoogleModel]
    var model: [GoogleModel]
}

/// One entry of Vertex's `confidenceMetrics` (AutoML's `confidenceMetricsEntry` has the same fields).
struct VertexConfidenceMetrics: Encodable {
    var confidenceThreshold: Double?
    var precision: Double
    var recall: Double
    var f1Score: Double

    init(threshold: Double?, precision: Double, recall: Double, f1: Double) {
        confidenceThreshold = threshold
        self.precision = precision
        self.recall = recall
        f1Score = f1
    }

    init(_ point: ConfidencePoint) { self.init(threshold: point.threshold, precision: point.precision, recall: point.recall, f1: point.f1) }
}

/// Vertex's confusion matrix: `annotationSpecs` and count `rows` (true label by predicted label).
/// AutoML's fields (`annotationSpecId`, `displayName`, `row[].exampleCount`) are in the same object.
struct GoogleConfusionMatrix: Encodable {
    struct AnnotationSpec: Encodable {
        var id: String
        var displayName: String
    }

    struct Row: Encodable { var exampleCount: [Int] }

    var annotationSpecs: [AnnotationSpec]
    var rows: [[Int]]
    var annotationSpecId: [String]
    var displayName: [String]
    var row: [Row]

    init(_ matrix: ConfusionMatrix) {
        annotationSpecs = matrix.labels.enumerated().map { AnnotationSpec(id: String($0), displayName: $1) }
        rows = matrix.counts
        annotationSpecId = matrix.labels.indices.map(String.init)
        displayName = matrix.labels
        row = matrix.counts.map { Row(exampleCount: $0) }
    }
}

/// `google.cloud.aiplatform.v1.ModelEvaluation` with the classification metrics schema.
struct VertexModelEvaluation: Encodable {
    struct Metrics: Encodable {
        var auPrc: Double?
        var auRoc: Double?
        var logLoss: Double?
        var confidenceMetrics: [VertexConfidenceMetrics]
        var confusionMatrix: GoogleConfusionMatrix?
    }

    var name: String
    var displayName: String
    var metricsSchemaUri: String
    var metrics: Metrics
    /// RFC 3339, when the report was written.
    var createTime: String
    var sliceDimensions: [String]
}

struct VertexModelEvaluationList: Encodable {
    var modelEvaluations: [VertexModelEvaluation]
}

/// `google.cloud.aiplatform.v1.ModelEvaluationSlice`: one label's metrics.
struct VertexModelEvaluationSlice: Encodable {
    struct Slice: Encodable {
        var dimension: String
        var value: String
    }

    var name: String
    var slice: Slice
    var metricsSchemaUri: String
    var metrics: VertexModelEvaluation.Metrics
    /// RFC 3339, when the report was written.
    var createTime: String
}

struct VertexSliceList: Encodable {
    var modelEvaluationSlices: [VertexModelEvaluationSlice]
}

/// `google.cloud.automl.v1.ModelEvaluation` of an image classification model.
struct AutoMLModelEvaluation: Encodable {
    struct Metrics: Encodable {
        var auPrc: Double?
        var auRoc: Double?
        var logLoss: Double?
        var confidenceMetricsEntry: [VertexConfidenceMetrics]
        var confusionMatrix: GoogleConfusionMatrix?
        var annotationSpecId: [String]?
    }

    var name: String
    var annotationSpecId: String?
    var displayName: String?
    /// RFC 3339, when the report was written.
    var createTime: String
    var evaluatedExampleCount: Int
    var classificationEvaluationMetrics: Metrics
}

struct AutoMLEvaluationList: Encodable {
    var modelEvaluation: [AutoMLModelEvaluation]
}
