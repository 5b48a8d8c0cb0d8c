import Foundation
import Hummingbird
import JobService

/// Vertex AI's endpoints (`EndpointService`, `PredictionService.Predict`): create, get, list, delete,
/// deploy and undeploy a model, and predict.
///
/// Every trained model is also an endpoint with the model's ID (so `endpoints/MODEL:predict` works
/// without a deploy call); `create` makes further ones, kept as resources of kind `vertex.endpoint`.
/// An endpoint answers with the model deployed to it last (Vertex's 100 % traffic split to the new one).
struct VertexEndpointsController: APIController {
    let store: any JobStore
    let ourModels: ModelsController

    static let kind = "vertex.endpoint"
    static let endpointType = "google.cloud.aiplatform.v1.Endpoint"

    static let routes: [Route<Self>] = [
        Route(.post, Google.prefix + "/endpoints") { endpoints, request, context in try await endpoints.create(request, parent: Google.parent(context)) },
        Route(.get, Google.prefix + "/endpoints") { endpoints, _, context in
            let parent = Google.parent(context)
            let own = try endpoints.store.models().reversed().map { VertexEndpoint(modelEndpoint: $0, parent: parent) }
            return try Google.answer(VertexEndpointList(endpoints: own + Self.endpoints(in: endpoints.store).map { VertexEndpoint($0, parent: parent) }))
        },
        Route(.get, Google.prefix + "/endpoints/{id}") { endpoints, _, context in
            try Google.answer(endpoints.resource(context.id(), parent: Google.parent(context)))
        },
        Route(.delete, Google.prefix + "/endpoints/{id}") { endpoints, _, context in try endpoints.delete(context.id(), parent: Google.parent(context)) },
        Route(.post, Google.prefix + "/endpoints/{id}:deployModel") { endpoints, request, context in
            try await endpoints.deploy(request, id: context.id(), parent: Google.parent(context))
        },
        Route(.post, Google.prefix + "/endpoints/{id}:undeployModel") { endpoints, request, context in
            try await endpoints.undeploy(request, id: context.id(), parent: Google.parent(context))
        },
        Route(.post, Google.prefix + "/endpoints/{id}:predict") { endpoints, request, context in
            let id = try context.id()
            guard let model = try endpoints.modelID(of: id) else {
                throw APIError.conflict("endpoint '\(id)' has no deployed model: deploy one first (endpoints/\(id):deployModel)")
            }
            return try await endpoints.ourModels.predict(request, id: model)
        },
    ]

    /// A created endpoint, as stored.
    struct Stored: Codable {
        struct Deployed: Codable {
            var modelID: String
            var displayName: String?
            var createTime: Date
        }

        var id: String
        var displayName: String
        var labels: [String: String]?
        var createTime: Date
        var updateTime: Date
        var deployedModels: [Deployed]
    }

    static func endpoints(in store: any JobStore) throws -> [Stored] {
        try store.documents(Stored.self, kind: kind)
    }

    func stored(_ id: String) throws -> Stored? {
        try store.document(Stored.self, kind: Self.kind, id: id)
    }

    func save(_ endpoint: Stored) throws { try store.saveResource(kind: Self.kind, id: endpoint.id, JSONBody.values(endpoint)) }

    /// The model an endpoint answers with: the one deployed last, or the model itself for a model's own endpoint.
    func modelID(of id: String) throws -> String? {
        if let endpoint = try stored(id) { return endpoint.deployedModels.last?.modelID }
        if try store.model(id) != nil { return id }
        throw APIError.notFound("no endpoint '\(id)': a model's ID is also an endpoint (list them with GET endpoints)")
    }

    func resource(_ id: String, parent: String) throws -> VertexEndpoint {
        if let endpoint = try stored(id) { return VertexEndpoint(endpoint, parent: parent) }
        guard let model = try store.model(id) else {
            throw APIError.notFound("no endpoint '\(id)': a model's ID is also an endpoint (list them with GET /v1/\(parent)/endpoints)")
        }
        return VertexEndpoint(modelEndpoint: model, parent: parent)
    }

    struct CreateRequest: Decodable {
        var displayName: String?
        var labels: [String: String]?
    }

    func create(_ request: Request, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(CreateRequest.self, from: request, help: "send an Endpoint: {\"displayName\": …}")
        let now = Date()
        let endpoint = Stored(id: newResourceID(prefix: "ep"), displayName: body.displayName ?? "endpoint", labels: body.labels,
                              createTime: now, updateTime: now, deployedModels: [])
        try save(endpoint)
        return try Google.answer(Operation.finished("\(parent)/operations/create-endpoint.\(endpoint.id)", type: Self.endpointType,
                                                    VertexEndpoint(endpoint, parent: parent)))
    }

    /// 409 for a model's own endpoint and while a model is deployed to it (as Vertex AI: undeploy first).
    func delete(_ id: String, parent: String) throws -> Response {
        guard let endpoint = try stored(id) else {
            _ = try resource(id, parent: parent)
            throw APIError.conflict("endpoint '\(id)' is the model's own endpoint: it goes when the model is deleted")
        }
        guard endpoint.deployedModels.isEmpty else {
            throw APIError.conflict("endpoint '\(id)' has deployed models (\(endpoint.deployedModels.map(\.modelID).joined(separator: ", "))): undeploy them first")
        }
        try store.deleteResource(kind: Self.kind, id: id)
        return try Google.answer(Operation.finished("\(parent)/operations/delete.\(id)", type: "google.protobuf.Empty", EmptyMessage()))
    }

    struct DeployRequest: Decodable {
        struct DeployedModel: Decodable {
            var model: String?
            var displayName: String?
        }

        var deployedModel: DeployedModel?
    }

    /// Deploys `deployedModel.model` (a model's resource name or ID); its deployed-model ID is the model's ID.
    func deploy(_ request: Request, id: String, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(DeployRequest.self, from: request, help: "send {\"deployedModel\": {\"model\": \"…/models/ID\"}}")
        guard let name = body.deployedModel?.model, case let modelID = Google.modelID(name), !modelID.isEmpty else {
            throw APIError.badRequest("missing deployedModel.model: the model's resource name (…/models/ID)")
        }
        guard try store.model(modelID) != nil else { throw APIError.notFound("no model '\(modelID)' (list them with GET /v1/\(parent)/models)") }
        guard var endpoint = try stored(id) else {
            _ = try resource(id, parent: parent)
            throw APIError.conflict("endpoint '\(id)' is a model's own endpoint: create an endpoint to deploy another model to")
        }
        endpoint.deployedModels.removeAll { $0.modelID == modelID }
        endpoint.deployedModels.append(.init(modelID: modelID, displayName: body.deployedModel?.displayName, createTime: Date()))
        endpoint.updateTime = Date()
        try save(endpoint)
        let deployed = VertexEndpoint(endpoint, parent: parent).deployedModels.last!
        return try Google.answer(Operation.finished("\(parent)/operations/deploy.\(id).\(modelID)", type: "google.cloud.aiplatform.v1.DeployModelResponse",
                                                    DeployModelResponse(deployedModel: deployed)))
    }

    struct UndeployRequest: Decodable { var deployedModelId: String? }

    func undeploy(_ request: Request, id: String, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(UndeployRequest.self, from: request, help: "send {\"deployedModelId\": \"…\"}")
        guard let modelID = body.deployedModelId, !modelID.isEmpty else { throw APIError.badRequest("missing deployedModelId") }
        guard var endpoint = try stored(id) else {
            _ = try resource(id, parent: parent)
            throw APIError.conflict("endpoint '\(id)' is the model's own endpoint: it always serves the model")
        }
        guard endpoint.deployedModels.contains(where: { $0.modelID == modelID }) else {
            throw APIError.notFound("model '\(modelID)' is not deployed to endpoint '\(id)'")
        }
        endpoint.deployedModels.removeAll { $0.modelID == modelID }
        endpoint.updateTime = Date()
        try save(endpoint)
        return try Google.answer(Operation.finished("\(parent)/operations/undeploy.\(id).\(modelID)",
                                                    type: "google.cloud.aiplatform.v1.UndeployModelResponse", EmptyMessage()))
    }
}

/// `google.cloud.aiplatform.v1.Endpoint`.
struct VertexEndpoint: Encodable {
    struct DeployedModel: Encodable {
        struct AutomaticResources: Encodable {
            var minReplicaCount = 1
            var maxReplicaCount = 1
        }

        var id: String
        var model: String
        var displayName: String?
        var createTime: Date
        var automaticResources = AutomaticResources()
    }

    var name: String
    var displayName: String
    var labels: [String: String]?
    var deployedModels: [DeployedModel]
    /// Deployed-model ID → percent of the traffic: all of it to the one deployed last.
    var trafficSplit: [String: Int]
    var createTime: Date
    var updateTime: Date

    init(_ endpoint: VertexEndpointsController.Stored, parent: String) {
        name = "\(parent)/endpoints/\(endpoint.id)"
        displayName = endpoint.displayName
        labels = endpoint.labels
        deployedModels = endpoint.deployedModels.map {
            DeployedModel(id: $0.modelID, model: "\(parent)/models/\($0.modelID)", displayName: $0.displayName, createTime: $0.createTime)
        }
        trafficSplit = endpoint.deployedModels.last.map { [$0.modelID: 100] } ?? [:]
        createTime = endpoint.createTime
        updateTime = endpoint.updateTime
    }

    /// A model's own endpoint.
    init(modelEndpoint model: ModelRecord, parent: String) {
        name = "\(parent)/endpoints/\(model.id)"
        displayName = model.id
        deployedModels = [DeployedModel(id: model.id, model: "\(parent)/models/\(model.id)", createTime: model.createdAt)]
        trafficSplit = [model.id: 100]
        createTime = model.createdAt
        updateTime = model.createdAt
    }
}

struct VertexEndpointList: Encodable {
    var endpoints: [VertexEndpoint]
}

struct DeployModelResponse: Encodable {
    var deployedModel: VertexEndpoint.DeployedModel
}
