import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

/// Issue 25: the browser console's static files, served without a token and with a strict policy;
/// the API behind them still needs the token. (Scripts/console-check.sh drives the console in Chromium.)
@Suite struct ConsoleTests {
    @Test func theConsoleIsServedWithoutATokenAndTheAPIStillNeedsOne() async throws {
        var configuration = Support.configuration(jobs: try Support.folder("console-jobs"), token: "t0ken")
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self'"))
            #expect(page.headers[.cacheControl] == "no-cache")
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script type="module" src="/console/app.js">"#))

            // Every file the page and its modules name is served, with its type; nothing else is.
            var names = Set(Self.references(in: html, pattern: #"(?:src|href)="/console/([^"]+)""#))
            var checked: Set<String> = []
            while let name = names.subtracting(checked).sorted().first {
                checked.insert(name)
                let file = try await client.execute(uri: "/console/\(name)", method: .get)
                #expect(file.status == .ok, "\(name)")
                #expect(file.headers[.contentType] == ConsoleController.contentType(of: name), "\(name)")
                #expect(file.headers[.contentSecurityPolicy] != nil)
                if name.hasSuffix(".js") {
                    names.formUnion(Self.references(in: String(buffer: file.body), pattern: #"from "\./([^"]+)""#))
                }
            }
            #expect(checked.isSuperset(of: ["app.js", "api.js", "charts.js", "console.css"]), "\(checked)")
            // The OpenAPI document names exactly the files served.
            let document = try Support.json(try await client.execute(uri: "/openapi.json", method: .get, headers: Support.headers(nil, token: "t0ken")))
            let paths = try #require(document["paths"] as? [String: Any])
            let route = try #require(paths["/console/{file}"] as? [String: Any])
            let parameter = try #require((route["parameters"] as? [[String: Any]])?.first)
            let documented = try #require((parameter["schema"] as? [String: Any])?["enum"] as? [String])
            #expect(Set(documented) == Set(ConsoleController().files.keys))
            #expect(checked.isSubset(of: Set(documented)))
            for name in ["nope.js", "..%2FPackage.swift", "openapi.json", "%2E%2E"] {
                try Support.expectProblem(try await client.execute(uri: "/console/\(name)", method: .get), .notFound)
            }
            // The API is not opened by the console's paths.
            try Support.expectProblem(try await client.execute(uri: "/v1/jobs", method: .get), .unauthorized)
            try Support.expectProblem(try await client.execute(uri: "/console", method: .get), .unauthorized)
            let jobs = try await client.execute(uri: "/v1/jobs", method: .get, headers: Support.headers(nil, token: "t0ken"))
            #expect(jobs.status == .ok)
        }
    }

    @Test func theConsoleNeverPutsTheTokenInAURLOrACookie() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Server/Console")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".js") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(!text.contains("document.cookie"), "\(name)")
            #expect(!text.contains("localStorage"), "\(name): the token stays in sessionStorage")
            #expect(!text.contains("?token") && !text.contains("&token"), "\(name)")
            #expect(!text.contains("http://") && !text.contains("https://"), "\(name): no external resource")
        }
    }

    private static func references(in text: String, pattern: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
