import Foundation
import Hummingbird
import JobService

/// `GET …/operations/{id}` of both APIs. An operation's ID names what it acts on (`google.longrunning`
/// lets a service choose): `import.DATASET` and `batch-predict.BATCH` follow their resource's state;
/// the others (`create-dataset.`, `create-endpoint.`, `deploy.`, `undeploy.`, `delete.`) finished in
/// the call that started them and are answered done.
struct GoogleOperationsController: APIController {
    let store: any JobStore
    let batches: GoogleBatchPredictions
    let datasets: VertexDatasetsController
    let endpoints: VertexEndpointsController

    static let routes: [Route<Self>] = [
        Route(.get, Google.prefix + "/operations/{id}") { operations, _, context in try operations.show(context.id(), parent: Google.parent(context)) },
        // The Vertex SDK's REST operations client polls the first of its paths, under /ui/.
        Route(.get, "/ui/projects/{project}/locations/{location}/operations/{id}") { operations, _, context in
            try operations.show(context.id(), parent: Google.parent(context))
        },
    ]

    func show(_ id: String, parent: String) throws -> Response {
        let name = "\(parent)/operations/\(id)"
        guard let dot = id.firstIndex(of: ".") else { throw notFound(id) }
        let (kind, subject) = (String(id[..<dot]), String(id[id.index(after: dot)...]))
        switch kind {
        case "import":
            guard let record = try store.dataset(subject) else { throw notFound(id) }
            return try Google.answer(VertexDatasetsController.importOperation(record, parent: parent))
        case "batch-predict":
            guard let batch = try batches.batch(subject) else { throw notFound(id) }
            return try Google.answer(GoogleBatchPredictionController.automlOperation(batch, parent: parent))
        case "create-dataset":
            return try Google.answer(Operation.finished(name, type: VertexDatasetsController.datasetType, try datasets.resource(subject, parent: parent)))
        case "create-endpoint":
            return try Google.answer(Operation.finished(name, type: VertexEndpointsController.endpointType, try endpoints.resource(subject, parent: parent)))
        case "deploy":
            let parts = subject.split(separator: ".").map(String.init)
            let endpoint = try endpoints.resource(parts.first ?? "", parent: parent)
            guard parts.count == 2, let deployed = endpoint.deployedModels.first(where: { $0.id == parts[1] }) else { throw notFound(id) }
            return try Google.answer(Operation.finished(name, type: "google.cloud.aiplatform.v1.DeployModelResponse", DeployModelResponse(deployedModel: deployed)))
        case "undeploy":
            return try Google.answer(Operation.finished(name, type: "google.cloud.aiplatform.v1.UndeployModelResponse", EmptyMessage()))
        case "delete":
            return try Google.answer(Operation.finished(name, type: "google.protobuf.Empty", EmptyMessage()))
        default:
            throw notFound(id)
        }
    }

    func notFound(_ id: String) -> APIError { APIError.notFound("no operation '\(id)'") }
}
