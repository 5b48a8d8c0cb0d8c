import Foundation
import Hummingbird

/// Protects a token-less server (loopback only) from web pages: refuses (403) a request whose `Host`
/// is not a loopback name or address, and one whose `Origin` is present and is not the server's own.
///
/// Without a token, anything that reaches the port may use the API. A page on another site cannot
/// connect to 127.0.0.1 with its own origin's rights, but it can get there two ways: by DNS
/// rebinding (its own name re-pointed at 127.0.0.1, so the browser sends `Host: evil.example`), or by
/// a cross-origin "simple" request (a form POST needs no CORS preflight, and the browser sends
/// `Origin`). Clients that are not browsers (curl, scripts) send a loopback `Host` and no `Origin`,
/// and keep working; so does `curl -d` without a Content-Type.
struct LoopbackGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = Self.refusal(host: request.head.authority, origin: request.headers[.origin]) {
            throw APIError(.forbidden, refusal)
        }
        return try await next(request, context)
    }

    /// Why a request with these `Host` and `Origin` values is refused, or `nil` when it is not.
    /// A missing `Host` (HTTP/1.0) is accepted; a present `Origin` must be `http://` with a loopback
    /// host and the port of `Host` (the page was served by this server).
    static func refusal(host: String?, origin: String?) -> String? {
        let advice = "this server has no API token, so it only answers clients on this machine; "
            + "use http://127.0.0.1:PORT or http://localhost:PORT, or start it with --api-token to serve other origins"
        var hostPort: Int?
        if let host {
            guard let authority = Authority(host), ServerConfiguration.isLoopback(authority.host) else {
                return "Host '\(host)' is not a loopback name or address (a DNS rebinding attempt?): \(advice)"
            }
            hostPort = authority.port ?? 80
        }
        guard let origin else { return nil }
        let prefix = "http://"
        guard origin.lowercased().hasPrefix(prefix), let authority = Authority(String(origin.dropFirst(prefix.count))),
              ServerConfiguration.isLoopback(authority.host), hostPort == nil || (authority.port ?? 80) == hostPort
        else {
            return "Origin '\(origin)' is not this server's own (a page of another site?): \(advice)"
        }
        return nil
    }

    /// `host[:port]`, the host possibly a bracketed IPv6 address.
    struct Authority {
        var host: String
        var port: Int?

        init?(_ text: String) {
            var rest = Substring(text)
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ":") ?? rest.endIndex
                host = String(rest[..<end])
                rest = rest[end...]
            }
            if rest.isEmpty {
                port = nil
            } else {
                guard rest.first == ":", let number = Int(rest.dropFirst()), (0...65535).contains(number) else { return nil }
                port = number
            }
            if host.isEmpty { return nil }
        }
    }
}
