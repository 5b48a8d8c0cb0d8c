import Datasets
import Foundation
import Hummingbird
import ImageIO
import JobService

/// An error answered as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`.
/// `detail` says what to do about it.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var detail: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    public var description: String { "\(status.code) \(status.reasonPhrase): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    public func response() -> Response {
        let body: [String: Any] = ["type": "about:blank", "title": status.reasonPhrase, "status": status.code, "detail": detail]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The same error as the Open Inference Protocol answers it on `/v2…` (its clients read `error`):
    /// `{"error": detail}` as `application/json`, with this status and headers.
    public func inferenceProtocolResponse() -> Response {
        let data = (try? JSONBody.values(InferenceError(error: detail))) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Whether `path` is one of the Open Inference Protocol's (`/v2` and below), whose errors are `{"error": ...}`.
    /// Google's error body (`GoogleErrorBody`), for the Vertex AI and AutoML routes.
    public func googleResponse() -> Response {
        let data = (try? JSONBody.values(GoogleErrorBody(httpStatus: Int(status.code), message: detail))) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func isInferenceProtocolPath(_ path: String) -> Bool {
        path == "/v2" || path.hasPrefix("/v2/")
    }

    static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, detail) }
    static func notFound(_ detail: String) -> APIError { APIError(.notFound, detail) }
    static func conflict(_ detail: String) -> APIError { APIError(.conflict, detail) }
    static func unsupportedMediaType(_ detail: String) -> APIError { APIError(.unsupportedMediaType, detail) }
    static func unprocessable(_ detail: String) -> APIError { APIError(.unprocessableContent, detail) }

    /// The HTTP answer for an error of the layers below.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as StoreError:
            switch error {
            case let .notFound(kind, id): return .notFound("no \(kind) '\(id)' (list them with GET /v1/\(kind)s)")
            case let .conflict(message): return .conflict(message)
            case .leaseLost: return .conflict("\(error)")
            // The database's own message names server files; the log has it.
            case .database: return APIError(.serviceUnavailable, "the job store is unavailable (busy or unreadable); retry later",
                                            headers: [.retryAfter: "5"])
            }
        case let error as JobError:
            switch error {
            case let .notFound(id): return .notFound("no job '\(id)' (list them with GET /v1/jobs)")
            case let .noModel(id): return .conflict("job '\(id)' has no trained model yet: wait until it succeeds (GET /v1/jobs/\(id))")
            // I/O failures name server files: logged, not sent.
            case .io: return APIError(.internalServerError, "internal error: the server's log has the details; retry, or report it if it persists")
            default: return .unprocessable(error.description)
            }
        case let error as ImageDecodingError: return imageError(error)
        case let error as ManifestError: return .unprocessable("the manifest cannot be read: \(error)")
        case let error as any HTTPResponseError:
            return APIError(error.status, "\(error.status.reasonPhrase)\((error as? HTTPError)?.body.map { ": \($0)" } ?? "")")
        // An unexpected error's text may name server paths (a Foundation file error does): logged, not sent.
        default: return APIError(.internalServerError, "internal error: the server's log has the details; retry, or report it if it persists")
        }
    }

    /// 400 for an empty body, 413 beyond the pixel limit, 415 for a known non-PNG/JPEG format,
    /// 422 for anything else that does not decode.
    static func imageError(_ error: ImageDecodingError, what: String = "the request body") -> APIError {
        switch error {
        case .emptyFile:
            return .badRequest("\(what) is empty: send the image's bytes (PNG or JPEG)")
        case .tooManyPixels:
            return APIError(.contentTooLarge, "\(what): \(error)")
        case .unsupportedFormat:
            return .unsupportedMediaType("\(what): \(error)")
        case let .notAnImage(detected):
            var detail = "\(what) is not a PNG or JPEG image (the bytes look like \(detected))"
            if detected == ImageFormat.text.displayName {
                detail += "; to send base64, use JSON: {\"instances\":[{\"content\":\"<base64>\"}]} or "
                    + "{\"payload\":{\"image\":{\"imageBytes\":\"<base64>\"}}} with Content-Type application/json"
            }
            return .unprocessable(detail)
        default:
            return .unprocessable("\(what) cannot be decoded: \(error)")
        }
    }
}

/// Turns every error into problem+json (on `/v2…`, the Open Inference Protocol's `{"error": ...}`):
/// no request is ever answered with an HTML page or an empty 500.
/// A detail never shows the jobs directory, which is the server's business: it reads `JOBS_DIR` (see `PathRedaction`).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    var redaction = PathRedaction(jobsDirectory: nil)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = APIError.from(error)
            problem.detail = redaction.apply(problem.detail)
            if problem.status.code >= 500 {
                FileHandle.standardError.write(Data("serve: \(request.method) \(request.uri.path): \(error)\n".utf8))
            }
            if Google.isGooglePath(request.uri.path) { return problem.googleResponse() }
            return APIError.isInferenceProtocolPath(request.uri.path) ? problem.inferenceProtocolResponse() : problem.response()
        }
    }
}

/// Bearer-token authentication for every route but the health checks (ours and the Open Inference Protocol's,
/// which Kubernetes probes call without a token) and the console's static files (`ConsoleController`: no
/// data in them; the page asks for the token and sends it with each API call).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    static var openPaths: Set<String> { ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/"] }

    /// Whether `path` is answered without a token: the open paths and `/console/…`.
    static func isOpen(_ path: String) -> Bool { openPaths.contains(path) || path.hasPrefix("/console/") }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isOpen(request.uri.path) { return try await next(request, context) }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"autovision\""]
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "missing bearer token: send the header 'Authorization: Bearer <token>' (the server's --api-token)",
                           headers: challenge)
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix,
              constantTimeEqual(Array(header.dropFirst(prefix.count).utf8), Array(token.utf8))
        else {
            throw APIError(.unauthorized, "invalid bearer token: check the token given to the server with --api-token or AUTOVISION_API_TOKEN",
                           headers: challenge)
        }
        return try await next(request, context)
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return difference == 0
    }
}

/// Replaces the jobs directory's absolute path with `JOBS_DIR` in text shown to clients (error details,
/// failure reasons): where the server keeps its files is no client's business, and docs/http-api.md names it so.
struct PathRedaction: Sendable {
    let prefixes: [String]

    init(jobsDirectory: URL?) {
        guard let jobsDirectory else {
            prefixes = []
            return
        }
        let given = jobsDirectory.standardizedFileURL.path
        let real = jobsDirectory.resolvingSymlinksInPath().standardizedFileURL.path
        prefixes = Array(Set([given, real])).filter { $0.count > 1 }.sorted { $0.count > $1.count }
    }

    func apply(_ text: String) -> String {
        prefixes.reduce(text) { $0.replacingOccurrences(of: $1, with: "JOBS_DIR") }
    }

    /// A resource's JSON text (written without escaping `/`) with the jobs directory redacted in every
    /// string: its files, failure reason, rejected rows' reasons.
    func apply(toJSON data: Data) -> Data {
        guard !prefixes.isEmpty, let text = String(data: data, encoding: .utf8), prefixes.contains(where: text.contains) else { return data }
        return Data(apply(text).utf8)
    }
}
