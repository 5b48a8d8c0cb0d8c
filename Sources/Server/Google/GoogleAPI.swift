import Foundation
import Hummingbird
import JobService

/// What the Vertex AI and AutoML Vision REST APIs share here: resource names, `google.protobuf.Any`
/// bodies, `google.rpc.Status` errors and `google.longrunning.Operation`s.
///
/// Both APIs name resources `projects/PROJECT/locations/LOCATION/KIND/ID` under `/v1/`. Any project
/// and location are accepted and echoed back: there is one service, not one per region. Bodies are
/// proto3 JSON (lowerCamelCase fields; 64-bit integers may be strings); both clients parse answers
/// with `ignore_unknown_fields`, so where the APIs share a route (models, operations) one body carries
/// both schemas' fields (docs/decisions/0024-one-body-for-vertex-and-automl.md).
enum Google {
    /// The route prefix of every resource: `/v1/projects/{project}/locations/{location}`.
    static let prefix = "/v1/projects/{project}/locations/{location}"

    /// `projects/P/locations/L` of the request's route.
    static func parent(_ context: BasicRequestContext) -> String {
        let project = context.parameters.get("project") ?? "-"
        let location = context.parameters.get("location") ?? "-"
        return "projects/\(project)/locations/\(location)"
    }

    /// A model's ID from a path segment or resource name: Vertex AI names a version `ID@VERSION`
    /// (percent-encoded in paths); a model here has one version, so the suffix is dropped.
    static func modelID(_ nameOrID: String) -> String {
        var id = nameOrID.split(separator: "/").last.map(String.init) ?? nameOrID
        if let at = id.range(of: "@") ?? id.range(of: "%40") { id = String(id[..<at.lowerBound]) }
        return id
    }

    /// Whether a request path is one of these APIs' (its errors then take Google's shape).
    static func isGooglePath(_ path: String) -> Bool { path.hasPrefix("/v1/projects/") || path.hasPrefix("/ui/projects/") }

    /// The canonical `google.rpc.Code` name of an HTTP status, as Google's HTTP mapping pairs them
    /// (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
    static func statusName(_ code: Int) -> String {
        switch code {
        case 400, 413, 415, 422: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 405, 501: "UNIMPLEMENTED"
        case 409: "FAILED_PRECONDITION"
        case 429, 507: "RESOURCE_EXHAUSTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: code >= 500 ? "INTERNAL" : "UNKNOWN"
        }
    }

    /// The `google.rpc.Code` number of a status name (for `Operation.error.code`).
    static func codeNumber(_ name: String) -> Int {
        ["INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
         "ABORTED": 10, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14, "UNAUTHENTICATED": 16, "CANCELLED": 1][name] ?? 2
    }

    /// `record`'s JSON with `JSONBody.values` as an `application/json` response.
    static func answer(_ body: some Encodable) throws -> Response { try .json(JSONBody.values(body)) }
}

/// `{"error": {"code": HTTP status, "message": …, "status": "NOT_FOUND"}}`: the error body of Google's
/// REST APIs, which their clients turn into `google.api_core.exceptions` by `code`.
struct GoogleErrorBody: Encodable {
    struct Status: Encodable {
        var code: Int
        var message: String
        var status: String
    }

    var error: Status

    init(httpStatus: Int, message: String) {
        error = Status(code: httpStatus, message: message, status: Google.statusName(httpStatus))
    }
}

/// `google.rpc.Status` inside a resource or operation: `code` is the RPC code number, not HTTP's.
struct RPCStatus: Encodable {
    var code: Int
    var message: String

    init(_ name: String, _ message: String) {
        code = Google.codeNumber(name)
        self.message = message
    }
}

/// A `google.protobuf.Any` in proto3 JSON: the message's fields with `"@type"` beside them. The type
/// must be one the client knows, or it cannot unpack the operation's result.
struct PackedAny<Message: Encodable>: Encodable {
    var typeURL: String
    var message: Message

    private struct TypeKey: CodingKey {
        var stringValue: String { "@type" }
        var intValue: Int? { nil }
        init() {}
        init?(stringValue: String) {}
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        try message.encode(to: encoder)
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(typeURL, forKey: TypeKey())
    }
}

/// An empty message (`google.protobuf.Empty`, `ImportDataResponse`, …).
struct EmptyMessage: Encodable {}

/// A `google.longrunning.Operation`. Every operation here is derived from the state of the resource
/// it acts on (its name says which: `operations/import.DATASET`), so it survives restarts and needs
/// no table of its own; operations that finish at once are answered `done` in the call that starts them.
struct Operation<Result: Encodable>: Encodable {
    var name: String
    var done: Bool
    var response: PackedAny<Result>?
    var error: RPCStatus?

    /// A finished operation with `result` (`type` is its full proto name, e.g. `google.cloud.aiplatform.v1.Dataset`).
    static func finished(_ name: String, type: String, _ result: Result) -> Operation {
        Operation(name: name, done: true, response: PackedAny(typeURL: "type.googleapis.com/\(type)", message: result), error: nil)
    }

    static func running(_ name: String) -> Operation { Operation(name: name, done: false, response: nil, error: nil) }

    static func failed(_ name: String, _ error: RPCStatus) -> Operation { Operation(name: name, done: true, response: nil, error: error) }
}

/// Decodes a proto3 JSON request body; 400 with `help` when it is not the expected JSON object.
func decodeGoogleRequest<Body: Decodable>(_ type: Body.Type, from request: Request, limit: Int = 1 << 20, help: String) async throws -> Body {
    let bytes = try await request.collectBody(limit: limit, what: "the request body")
    do {
        return try JSONDecoder().decode(Body.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
    } catch let error as APIError {
        throw error
    } catch {
        throw APIError.badRequest("the body is not a valid JSON request: \(help)")
    }
}

/// A proto3 JSON 64-bit integer: a number or a decimal string.
struct ProtoInt64: Decodable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            value = number
        } else if let text = try? container.decode(String.self), let number = Int64(text) {
            value = number
        } else {
            throw APIError.badRequest("expected an integer (a number or a decimal string)")
        }
    }
}

extension JobStore {
    /// Resource `id` of `kind` read back as the `T` it was saved as; `nil` when there is none (or it no longer decodes).
    func document<T: Decodable>(_ type: T.Type, kind: String, id: String) throws -> T? {
        try resource(kind: kind, id: id).flatMap { try? JSONDecoder.google.decode(T.self, from: $0) }
    }

    /// Every resource of `kind` that decodes as `T`, oldest first.
    func documents<T: Decodable>(_ type: T.Type, kind: String) throws -> [T] {
        try resources(kind: kind).compactMap { try? JSONDecoder.google.decode(T.self, from: $0) }
    }
}
