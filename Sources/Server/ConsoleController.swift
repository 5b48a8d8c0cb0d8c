import Foundation
import Hummingbird

/// `GET /` and `GET /console/{file}`: the browser console (issue 25), static HTML, CSS and JavaScript
/// modules shipped in this target's `Console/` resource folder. The files hold no data and no secret, so
/// they need no token (`BearerTokenMiddleware.isOpen`); the console asks for the token and sends it
/// with every API call it makes (docs/console.md).
struct ConsoleController: APIController {
    /// The console's files by name (`index.html`, `app.js`, …), read once from the bundle.
    let files: [String: Data]

    static let routes: [Route<Self>] = [
        Route(.get, "/") { console, _, _ in try console.file("index.html") },
        Route(.get, "/console/{file}") { console, _, context in try console.file(context.parameters.require("file")) },
    ]

    /// Reads the console's files from `Bundle.module` (none when the folder is missing from the build).
    init() {
        var files: [String: Data] = [:]
        if let folder = Bundle.module.url(forResource: "Console", withExtension: nil),
           let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) {
            for name in names where Self.contentType(of: name) != nil {
                if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) { files[name] = data }
            }
        }
        self.files = files
    }

    /// The content type served for a file name, `nil` for a kind of file the console does not ship.
    static func contentType(of name: String) -> String? {
        switch (name as NSString).pathExtension {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }

    /// The headers of every console file: revalidated on each load (a new build's files are seen at once),
    /// never framed by another site, scripts, styles and API calls from this origin only, images also
    /// from object URLs (`blob:`) and the report's inline thumbnails (`data:`), and no referrer.
    static let headers: HTTPFields = [
        .cacheControl: "no-cache",
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        HTTPFields.Element.Name("X-Content-Type-Options")!: "nosniff",
        HTTPFields.Element.Name("Referrer-Policy")!: "no-referrer",
    ]

    /// The console file `name`.
    /// - Throws: 404 for a name that is not one of the console's files (no path is ever read from the request).
    func file(_ name: String) throws -> Response {
        guard let data = files[name], let type = Self.contentType(of: name) else {
            throw APIError.notFound("no console file '\(name)' (the console starts at /)")
        }
        var headers = Self.headers
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
