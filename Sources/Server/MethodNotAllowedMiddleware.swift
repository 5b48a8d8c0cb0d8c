import Hummingbird

/// Answers 405 Method Not Allowed, with the `Allow` header RFC 9110 requires, when a path that some
/// route serves is asked with a method none of its routes declares; the router alone answers 404,
/// which tells a client the resource does not exist when only the method is wrong.
///
/// Runs after routing failed (it only looks at the router's own 404), so it costs matched requests nothing.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Every route as `METHOD path template` (`{name}` matches one path segment).
    let routes: [(method: HTTPRequest.Method, path: String)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = Self.allowedMethods(for: request.uri.path, routes: routes)
            guard !allowed.isEmpty else {
                throw APIError.notFound("no route \(request.uri.path): the routes are listed by GET /openapi.json")
            }
            throw APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path): use \(allowed.joined(separator: ", "))",
                           headers: [.allow: allowed.joined(separator: ", ")])
        }
    }

    /// The methods the routes matching `path` declare (HEAD with GET, as the router answers it), sorted.
    static func allowedMethods(for path: String, routes: [(method: HTTPRequest.Method, path: String)]) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = routes.filter { route in
            let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return template.count == segments.count && zip(template, segments).allSatisfy { segmentMatches($0, $1) }
        }
        // The router prefers `{id}:verb` to `{id}` (Hummingbird's trie ranks a capture with a suffix first),
        // so where a custom method matches, the plain routes are not this path's.
        let verbs = matching.filter { $0.path.split(separator: "/").contains { $0.hasPrefix("{") && !$0.hasSuffix("}") } }
        var methods = Set<String>()
        for route in verbs.isEmpty ? matching : verbs {
            methods.insert(route.method.rawValue)
            if route.method == .get { methods.insert(HTTPRequest.Method.head.rawValue) }
        }
        return methods.sorted()
    }

    /// `{name}` matches any segment, `{name}:verb` one ending in `:verb` (a custom method, as
    /// Google's APIs write them), anything else only itself.
    static func segmentMatches(_ template: Substring, _ segment: Substring) -> Bool {
        guard template.hasPrefix("{"), let close = template.firstIndex(of: "}") else { return template == segment }
        let suffix = template[template.index(after: close)...]
        return suffix.isEmpty || segment.count > suffix.count && segment.hasSuffix(suffix)
    }
}
