import Foundation
import Hummingbird
import JobService

/// Vertex AI's endpoints (`EndpointService`, `PredictionService.Predict`): create, get, list, delete,
/// update, deploy and undeploy a model, and predict.
///
/// Every trained model is also an endpoint with the model's ID (so `endpoints/MODEL:predict` works
/// without a deploy call); `create` makes further ones, kept as resources of kind `vertex.endpoint`.
/// A deployed model's ID is its model's ID. Predictions go to the deployed models with the odds of the
/// endpoint's traffic split (`VertexTrafficSplit`), set by `deployModel`, `undeployModel` and `PATCH`
/// as Vertex AI sets it.
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
        Route(.patch, Google.prefix + "/endpoints/{id}") { endpoints, request, context in
            try await endpoints.update(request, id: context.id(), parent: Google.parent(context))
        },
        Route(.post, Google.prefix + "/endpoints/{id}:deployModel") { endpoints, request, context in
            try await endpoints.deploy(request, id: context.id(), parent: Google.parent(context))
        },
        Route(.post, Google.prefix + "/endpoints/{id}:undeployModel") { endpoints, request, context in
            try await endpoints.undeploy(request, id: context.id(), parent: Google.parent(context))
        },
        Route(.post, Google.prefix + "/endpoints/{id}:predict") { endpoints, request, context in
            let id = try context.id()
            guard let model = try endpoints.modelID(of: id) else {
                throw APIError.conflict("endpoint '\(id)' sends no traffic to a model: deploy one (endpoints/\(id):deployModel) or set its trafficSplit")
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
        var description: String?
        var labels: [String: String]?
        var createTime: Date
        var updateTime: Date
        var deployedModels: [Deployed]
        /// Absent in endpoints stored before splits were kept: all traffic went to the model deployed last.
        var trafficSplit: VertexTrafficSplit?

        var split: VertexTrafficSplit {
            trafficSplit ?? deployedModels.last.map { VertexTrafficSplit(all: $0.modelID) } ?? VertexTrafficSplit()
        }
    }

    static func endpoints(in store: any JobStore) throws -> [Stored] {
        try store.documents(Stored.self, kind: kind)
    }

    func stored(_ id: String) throws -> Stored? {
        try store.document(Stored.self, kind: Self.kind, id: id)
    }

    func save(_ endpoint: Stored) throws { try store.saveResource(kind: Self.kind, id: endpoint.id, JSONBody.values(endpoint)) }

    /// The model that answers one prediction of an endpoint: drawn with the odds of its traffic split
    /// (nil when it sends no traffic), or the model itself for a model's own endpoint.
    func modelID(of id: String) throws -> String? {
        if let endpoint = try stored(id) { return endpoint.split.drawModel() }
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
        var description: String?
        var labels: [String: String]?
    }

    /// The fields of an Endpoint that `PATCH` changes.
    struct UpdateRequest: Decodable {
        var displayName: String?
        var description: String?
        var labels: [String: String]?
        var trafficSplit: [String: Int]?
    }

    func create(_ request: Request, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(CreateRequest.self, from: request, help: "send an Endpoint: {\"displayName\": …}")
        let now = Date()
        let endpoint = Stored(id: newResourceID(prefix: "ep"), displayName: body.displayName ?? "endpoint", description: body.description,
                              labels: body.labels, createTime: now, updateTime: now, deployedModels: [], trafficSplit: VertexTrafficSplit())
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
        var trafficSplit: [String: Int]?
    }

    /// Deploys `deployedModel.model` (a model's resource name or ID); its deployed-model ID is the model's ID.
    /// A `trafficSplit` ("0" for the model deployed) replaces the endpoint's; without one, an endpoint that
    /// sent no traffic sends all of it to the new model and any other keeps its split, as Vertex AI does.
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
        if let requested = body.trafficSplit, !requested.isEmpty {
            endpoint.trafficSplit = try VertexTrafficSplit(requested: requested, deployed: endpoint.deployedModels.map(\.modelID), deploying: modelID)
        } else if endpoint.split.isEmpty {
            endpoint.trafficSplit = VertexTrafficSplit(all: modelID)
        } else {
            endpoint.trafficSplit = endpoint.split
        }
        endpoint.updateTime = Date()
        try save(endpoint)
        let deployed = VertexEndpoint(endpoint, parent: parent).deployedModels.last!
        return try Google.answer(Operation.finished("\(parent)/operations/deploy.\(id).\(modelID)", type: "google.cloud.aiplatform.v1.DeployModelResponse",
                                                    DeployModelResponse(deployedModel: deployed)))
    }

    struct UndeployRequest: Decodable {
        var deployedModelId: String?
        var trafficSplit: [String: Int]?
    }

    /// Undeploys `deployedModelId`. A model that answers part of the traffic can only go with a
    /// `trafficSplit` for the models that stay (unless it is the last one), as in Vertex AI.
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
        if endpoint.deployedModels.isEmpty {
            endpoint.trafficSplit = VertexTrafficSplit()
        } else if let requested = body.trafficSplit, !requested.isEmpty {
            if (requested[modelID] ?? 0) > 0 { throw APIError.badRequest("trafficSplit gives '\(modelID)', the model undeployed, \(requested[modelID]!) %") }
            endpoint.trafficSplit = try VertexTrafficSplit(requested: requested.filter { $0.key != modelID }, deployed: endpoint.deployedModels.map(\.modelID))
        } else if case let percent = endpoint.split.percent(of: modelID), percent > 0 {
            throw APIError.badRequest("model '\(modelID)' answers \(percent) % of endpoint '\(id)''s traffic: send a trafficSplit for the models that stay")
        } else {
            endpoint.trafficSplit = endpoint.split.removing(modelID)
        }
        endpoint.updateTime = Date()
        try save(endpoint)
        return try Google.answer(Operation.finished("\(parent)/operations/undeploy.\(id).\(modelID)",
                                                    type: "google.cloud.aiplatform.v1.UndeployModelResponse", EmptyMessage()))
    }

    /// `PATCH endpoints/{id}?updateMask=…`: an Endpoint's `displayName`, `description`, `labels` and
    /// `trafficSplit` (every one of them the body has when there is no `updateMask`); answers the Endpoint.
    func update(_ request: Request, id: String, parent: String) async throws -> Response {
        let body = try await decodeGoogleRequest(UpdateRequest.self, from: request, help: "send an Endpoint: {\"trafficSplit\": {\"MODEL_ID\": 100}}")
        let mask = request.uri.queryParameters["updateMask"].map { Set(String($0).split(separator: ",").map { Self.fieldName(String($0)) }) }
        guard var endpoint = try stored(id) else {
            _ = try resource(id, parent: parent)
            throw APIError.conflict("endpoint '\(id)' is a model's own endpoint: it always sends all traffic to the model")
        }
        if let unknown = mask?.subtracting(["displayName", "description", "labels", "trafficSplit"]), !unknown.isEmpty {
            throw APIError.badRequest("updateMask names \(unknown.sorted().joined(separator: ", ")): only displayName, description, labels and trafficSplit can change")
        }
        func changes(_ field: String, _ present: Bool) -> Bool { mask.map { $0.contains(field) } ?? present }
        if changes("displayName", body.displayName != nil) {
            guard let name = body.displayName, !name.isEmpty else { throw APIError.badRequest("displayName cannot be empty") }
            endpoint.displayName = name
        }
        if changes("description", body.description != nil) { endpoint.description = body.description }
        if changes("labels", body.labels != nil) { endpoint.labels = body.labels }
        if changes("trafficSplit", body.trafficSplit != nil) {
            let requested = body.trafficSplit ?? [:]
            endpoint.trafficSplit = requested.isEmpty ? VertexTrafficSplit()
                : try VertexTrafficSplit(requested: requested, deployed: endpoint.deployedModels.map(\.modelID))
        }
        endpoint.updateTime = Date()
        try save(endpoint)
        return try Google.answer(VertexEndpoint(endpoint, parent: parent))
    }

    /// A field mask's path in the JSON name (`traffic_split` → `trafficSplit`): clients send either.
    static func fieldName(_ path: String) -> String {
        let parts = path.split(separator: "_")
        return (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
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
    var description: String?
    var labels: [String: String]?
    var deployedModels: [DeployedModel]
    /// Deployed-model ID → percent of the predictions it answers (`VertexTrafficSplit`).
    var trafficSplit: [String: Int]
    var createTime: Date
    var updateTime: Date

    init(_ endpoint: VertexEndpointsController.Stored, parent: String) {
        name = "\(parent)/endpoints/\(endpoint.id)"
        displayName = endpoint.displayName
        description = endpoint.description
        labels = endpoint.labels
        deployedModels = endpoint.deployedModels.map {
            DeployedModel(id: $0.modelID, model: "\(parent)/models/\($0.modelID)", displayName: $0.displayName, createTime: $0.createTime)
        }
        trafficSplit = endpoint.split.percentages
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
