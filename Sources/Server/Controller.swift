import Foundation
import Hummingbird
import JobService

/// One route of a controller: its method, its path template as the OpenAPI document writes it
/// (`{id}` matches one path segment; Hummingbird's router reads the same syntax) and its handler.
struct Route<Controller: Sendable>: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let handler: @Sendable (Controller, Request, BasicRequestContext) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String,
         _ handler: @escaping @Sendable (Controller, Request, BasicRequestContext) async throws -> Response) {
        self.method = method
        self.path = path
        self.handler = handler
    }
}

/// The routes of one resource and what they share. A controller's route table is static, so the
/// complete list of routes (for 405 answers and the OpenAPI check) exists without a server.
protocol APIController: Sendable {
    static var routes: [Route<Self>] { get }
}

extension APIController {
    /// This controller's routes as `METHOD path template`.
    static var endpoints: [(method: HTTPRequest.Method, path: String)] { routes.map { ($0.method, $0.path) } }

    /// Adds every route of the table to `router`, each calling its handler on this controller.
    func addRoutes(to router: Router<BasicRequestContext>) {
        for route in Self.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await route.handler(self, request, context)
            }
        }
    }
}

/// Every route of the service, controller by controller (the OpenAPI document is checked against this list).
let apiEndpoints = HealthController.endpoints + ConsoleController.endpoints + DatasetsController.endpoints + DatasetImagesController.endpoints
    + JobsController.endpoints + EvaluationController.endpoints + ModelsController.endpoints
    + InferenceController.endpoints + VertexDatasetsController.endpoints + VertexTrainingPipelinesController.endpoints
    + GoogleModelsController.endpoints + VertexEndpointsController.endpoints + GoogleBatchPredictionController.endpoints
    + GoogleOperationsController.endpoints

extension BasicRequestContext {
    /// The `{id}` segment of the matched route.
    func id() throws -> String { try parameters.require("id") }
}

extension Request {
    /// Reads the body up to `limit` bytes; 413 beyond (checked from Content-Length first when given).
    func collectBody(limit: Int, what: String) async throws -> [UInt8] {
        let tooLarge = APIError(.contentTooLarge, "\(what) is larger than the limit of \(limit) bytes")
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        var bytes: [UInt8] = []
        for try await buffer in body {
            if bytes.count + buffer.readableBytes > limit { throw tooLarge }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    /// The query parameter `name` read as an HTML form (and `URLSearchParams`, and Python's `requests`)
    /// writes it: `+` is a space, `%2B` a plus sign. Hummingbird's `queryParameters` keeps `+`, so a label
    /// with a space would not be found. `nil` when absent; the first one when repeated.
    func formParameter(_ name: String) -> String? {
        for pair in (uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            if decode(parts[0]) == name { return parts.count > 1 ? decode(parts[1]) ?? String(parts[1]) : "" }
        }
        return nil
    }

    /// The query parameter `name` as a boolean, `nil` when absent.
    /// - Throws: 400 for anything but exactly `true` or `false`: a client misspelling it learns so rather than getting a default.
    func boolParameter(_ name: String) throws -> Bool? {
        guard let value = uri.queryParameters.get(name) else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        default: throw APIError.badRequest("query parameter \(name) must be true or false, got '\(value)'")
        }
    }

    /// The query parameter `name` as a number from 0 to 1, `nil` when absent.
    /// - Throws: 400 for anything else.
    func fractionParameter(_ name: String) throws -> Double? {
        guard let value = uri.queryParameters.get(name) else { return nil }
        guard let number = Double(value), number.isFinite, (0...1).contains(number) else {
            throw APIError.badRequest("query parameter \(name) must be a number from 0 to 1, got '\(value)'")
        }
        return number
    }
}

extension JobStore {
    /// The dataset `id`; 404 naming how to list them when there is none.
    func requireDataset(_ id: String) throws -> DatasetRecord {
        guard let record = try dataset(id) else { throw APIError.notFound("no dataset '\(id)' (list them with GET /v1/datasets)") }
        return record
    }

    /// The job `id`; 404 naming how to list them when there is none.
    func requireJob(_ id: String) throws -> JobRecord {
        guard let record = try job(id) else { throw APIError.notFound("no job '\(id)' (list them with GET /v1/jobs)") }
        return record
    }
}
