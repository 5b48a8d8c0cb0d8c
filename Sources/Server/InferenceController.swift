import Foundation
import Hummingbird
import JobService
import PredictionAPI

/// `/v2…`: KServe's Open Inference Protocol v2 over REST, with Triton's classification and binary
/// tensor data extensions, so that OIP clients (`tritonclient.http`, KServe, Seldon) use a model as
/// they use one of those servers. A model's name is its job's ID; its only version is `1`.
///
/// Spec: https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
/// Extensions: https://github.com/triton-inference-server/server/tree/main/docs/protocol
/// (extension_classification.md, extension_binary_data.md). Errors are `{"error": "..."}` with the
/// status the rest of the API gives the same fault (see `APIError.inferenceProtocolResponse`).
struct InferenceController: APIController {
    /// The one version of every model (OIP lets a server choose; a job trains one model).
    static let version = "1"
    /// The API's version, as openapi.json's `info.version` gives it.
    static let serverVersion = "1.0.0"

    let health: HealthController
    let predictions: PredictionService
    /// `serve --max-image-bytes`: with base64's 4/3 and 64 KiB of JSON, the largest infer body (as v1's JSON).
    let maxImageBytes: Int
    /// `serve --max-instances`: the most images of one infer request (413 beyond).
    let maxInstancesPerRequest: Int

    static let routes: [Route<Self>] = [
        Route(.get, "/v2") { _, _, _ in try .json(JSONBody.values(ServerMetadata(version: Self.serverVersion))) },
        Route(.get, "/v2/health/live") { _, _, _ in try .json(JSONBody.values(ServerLive())) },
        Route(.get, "/v2/health/ready") { v2, _, _ in try v2.serverReady() },
        Route(.get, "/v2/models/{id}") { v2, _, context in try v2.metadata(context.id(), version: nil) },
        Route(.get, "/v2/models/{id}/versions/{version}") { v2, _, context in try v2.metadata(context.id(), version: context.version()) },
        Route(.get, "/v2/models/{id}/ready") { v2, _, context in try v2.modelReady(context.id(), version: nil) },
        Route(.get, "/v2/models/{id}/versions/{version}/ready") { v2, _, context in try v2.modelReady(context.id(), version: context.version()) },
        Route(.post, "/v2/models/{id}/infer") { v2, request, context in try await v2.infer(request, id: context.id(), version: nil) },
        Route(.post, "/v2/models/{id}/versions/{version}/infer") { v2, request, context in
            try await v2.infer(request, id: context.id(), version: context.version())
        },
    ]

    /// 503 as `GET /readyz` gives it.
    func serverReady() throws -> Response {
        try health.requireReady()
        return try .json(JSONBody.values(ServerReady()))
    }

    /// 404 for no such job or a version other than `1`, 409 while the job has no model.
    func metadata(_ id: String, version: String?) throws -> Response {
        let handle = try model(id, version: version)
        return try .json(JSONBody.values(ModelMetadata(id: id, labels: handle.labels, multiLabel: handle.multiLabel)))
    }

    /// 200 once the model is loaded (loading it if need be); 404 / 409 as `metadata`.
    func modelReady(_ id: String, version: String?) throws -> Response {
        _ = try model(id, version: version)
        return try .json(JSONBody.values(ModelReady(name: id)))
    }

    /// The model of job `id`, checked before the version so a made-up model is named as such.
    private func model(_ id: String, version: String?) throws -> ModelHandle {
        let handle = try predictions.handle(for: id)
        if let version, version != Self.version {
            throw APIError.notFound("model '\(id)' has no version '\(version.prefix(40))': its only version is \(Self.version)")
        }
        return handle
    }

    /// Decodes the `BYTES` images of the request (through the same `ModelHandle` path as `/v1/models/{id}/predict`),
    /// predicts, and answers each requested output as JSON `data` or in the binary section.
    /// - Throws: 400 for a request that is not OIP's or not this model's input (see `InferenceRequest`),
    ///   413 beyond the body or image-count limits, 415 / 422 for an image that does not decode, 404 / 409 as `metadata`.
    func infer(_ request: Request, id: String, version: String?) async throws -> Response {
        let handle = try model(id, version: version)
        let body = try await request.collectBody(limit: maxImageBytes / 3 * 4 + 64 * 1024, what: "the inference request")
        let parsed = try Self.oip { () throws(PredictionRequestError) in
            try InferenceRequest.parse(body: body, headerLength: request.headers[Self.headerLengthField])
        }
        let count = try Self.oip { () throws(PredictionRequestError) in try parsed.imageCount() }
        guard count <= maxInstancesPerRequest else {
            throw APIError(.contentTooLarge, "\(count) images is more than the limit of \(maxInstancesPerRequest) per request: "
                + "send them in several requests (concurrent requests are batched together)")
        }
        var outputs = try Self.oip { () throws(PredictionRequestError) in try parsed.outputs() }
        if handle.multiLabel, parsed.header.outputs?.isEmpty ?? true {
            outputs.append(InferenceRequest.OutputSelection(name: InferenceRequest.labelsOutputName, binary: outputs[0].binary))
        }
        if !handle.multiLabel, outputs.contains(where: { $0.name == InferenceRequest.labelsOutputName }) {
            throw APIError.badRequest("model '\(id)' is single-label: its output is '\(InferenceRequest.outputName)'; "
                + "'\(InferenceRequest.labelsOutputName)' is a multi-label model's")
        }
        let images = try Self.oip { () throws(PredictionRequestError) in try parsed.images() }
        let inputs = try await handle.decodedInputs(images, names: images.indices.map { "inputs[0] element \($0)" })
        let scores = await handle.predict(inputs)
        let answer = InferenceAnswer(labels: handle.labels, predictions: scores,
                                     kept: handle.multiLabel ? scores.map { handle.kept($0, threshold: nil) } : nil)
        return try answer.response(InferenceResponse(modelName: id, modelVersion: Self.version, id: parsed.header.id, outputs: []),
                                   outputs: outputs)
    }

    /// Runs a parsing step of `InferenceRequest`, its refusal a 400.
    private static func oip<T>(_ step: () throws(PredictionRequestError) -> T) throws -> T {
        do { return try step() } catch { throw APIError.badRequest(error.detail) }
    }

    /// The binary tensor data extension's header: the length of the body's JSON when binary data follows it.
    /// (`HTTPFields.Element` is `HTTPField`, which Hummingbird does not re-export.)
    static let headerLengthField = HTTPFields.Element.Name("Inference-Header-Content-Length")!
}

extension BasicRequestContext {
    /// The `{version}` segment of the matched route.
    func version() throws -> String { try parameters.require("version") }
}
