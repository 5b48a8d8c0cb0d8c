import Foundation
import Hummingbird
import ImageIO
import JobService
import ModelExport
import PredictionAPI

/// `/v1/models`: list and show the trained models, and predict with one (a model's ID is its job's ID).
struct ModelsController: APIController {
    let store: any JobStore
    let predictions: PredictionService
    /// `serve --max-image-bytes`: the largest image a request may send.
    let maxImageBytes: Int
    /// `serve --max-instances`: the most images of one Vertex AI request.
    let maxInstancesPerRequest: Int

    static let routes: [Route<Self>] = [
        Route(.get, "/v1/models") { models, _, _ in try models.list() },
        Route(.get, "/v1/models/{id}") { models, _, context in try models.show(context.id()) },
        Route(.post, "/v1/models/{id}/predict") { models, request, context in try await models.predict(request, id: context.id()) },
        Route(.get, "/v1/models/{id}/export") { models, request, context in try models.export(request, id: context.id()) },
    ]

    func list() throws -> Response {
        try .json(JSONBody.records(ModelList(models: store.models().map(ModelResource.init)), redaction: nil))
    }

    /// 404 when there is no such job, 409 while the job has no model (with its state).
    func show(_ id: String) throws -> Response {
        try .json(JSONBody.records(ModelResource(predictions.requireModel(id)), redaction: nil))
    }

    /// The model as a download in `?format=` (`onnx`, the default; `triton`, a zip of the model
    /// repository; `coreml`), with `Content-Disposition: attachment; filename=…`.
    /// - Throws: 400 for an unknown format (naming the formats), 404 when there is no such job, 409
    ///   while the job has no model, 422 when the network has a layer the exporters cannot translate.
    func export(_ request: Request, id: String) throws -> Response {
        let name = request.uri.queryParameters.get("format") ?? ExportFormat.onnx.rawValue
        guard let format = ExportFormat(rawValue: name) else { throw APIError.badRequest("\(ExportError.unknownFormat(name))") }
        _ = try predictions.requireModel(id)
        let download: (data: Data, contentType: String, filename: String)
        do {
            download = try ModelExporter.download(ExportableModel(predictor: Predictor(store: store, jobID: id), name: id), format: format)
        } catch let error as ExportError {
            throw APIError.unprocessable("\(error)")
        }
        let headers: HTTPFields = [.contentType: download.contentType, .contentDisposition: "attachment; filename=\"\(download.filename)\""]
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: download.data)))
    }

    /// One of three request shapes (`PredictionRequest`), answered in the same shape.
    /// - Throws: 400 for a malformed or empty request, 413 beyond the size limits, 415 for an
    ///   unsupported media type, 422 for an image that does not decode (see `APIError.imageError`).
    func predict(_ request: Request, id: String) async throws -> Response {
        let handle = try predictions.handle(for: id)
        let contentType = request.headers[.contentType]
        let isJSON = contentType?.lowercased().hasPrefix("application/json") ?? false
        // JSON carries base64 (4/3 of the bytes) plus a little structure.
        let limit = isJSON ? maxImageBytes / 3 * 4 + 64 * 1024 : maxImageBytes
        // Checked on every request, so a bad value is a 400 whatever the model and the body's shape.
        let queryThreshold = try request.fractionParameter("threshold")
        let body = try await request.collectBody(limit: limit, what: "the image")
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
            let inputs = try await handle.decodedInputs([bytes], names: ["the request body"])
            let predictions = await handle.predict(inputs)[0]
            let labels = handle.multiLabel ? handle.kept(predictions, threshold: queryThreshold) : nil
            return try .json(JSONBody.values(RawPredictions(modelID: id, predictions: predictions, labels: labels)))
        case let .automl(bytes, threshold, maxPredictions):
            let inputs = try await handle.decodedInputs([bytes], names: ["payload.image.imageBytes"])
            var kept = handle.kept(await handle.predict(inputs)[0], threshold: threshold)
            if let maxPredictions { kept = Array(kept.prefix(maxPredictions)) }
            return try .json(JSONBody.values(AutoMLPredictions(kept, labels: handle.labels)))
        case let .vertex(images, threshold, maxPredictions):
            guard images.count <= maxInstancesPerRequest else {
                throw APIError(.contentTooLarge, "\(images.count) instances is more than the limit of \(maxInstancesPerRequest) per request: "
                    + "send them in several requests (concurrent requests are batched together)")
            }
            let inputs = try await handle.decodedInputs(images, names: images.indices.map { "instances[\($0)].content" })
            let instances = await handle.predict(inputs).map { scores in
                VertexPredictions.Instance(Array(handle.kept(scores, threshold: threshold).prefix(maxPredictions)), labels: handle.labels)
            }
            return try .json(JSONBody.values(VertexPredictions(predictions: instances, deployedModelId: id)))
        }
    }
}
