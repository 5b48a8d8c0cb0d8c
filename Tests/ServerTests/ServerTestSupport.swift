import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
import Search
@testable import Server
import Testing

/// Shared helpers: temporary folders, training a small model into a store, requests.
enum Support {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-server-tests-\(getpid())")

    static func folder(_ name: String) throws -> URL {
        let url = root.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func intake(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/intake/\(name)")
    }

    /// Trains a job on `manifest` with `budget` seconds as `autovision train` does (recorded in the store of `jobs`).
    static func train(manifest: URL, budget: Double, jobs: URL) throws -> JobRecord {
        var options = TrainingJobOptions(manifest: manifest, budget: Budget(seconds: budget))
        options.jobsDirectory = jobs
        let recorder = JobRecorder(store: try SQLiteJobStore(jobsDirectory: jobs))
        let job = try TrainingJob(options: options) { recorder.record($0) }
        try recorder.attach(job)
        defer { recorder.finish() }
        _ = try job.run(shouldStop: { recorder.cancelRequested })
        return job.record
    }

    static func configuration(jobs: URL, dataRoots: [URL] = [], token: String? = nil) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.jobsDirectory = jobs
        configuration.dataRoots = dataRoots
        configuration.apiToken = token
        return configuration
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let data = Data(String(buffer: response.body).utf8)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "JSON object expected: \(String(buffer: response.body))")
    }

    static func bytes(_ url: URL) throws -> ByteBuffer { ByteBuffer(bytes: [UInt8](try Data(contentsOf: url))) }

    static func headers(_ contentType: String?, token: String? = nil) -> HTTPFields {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        if let token { fields[.authorization] = "Bearer \(token)" }
        return fields
    }

    /// A problem+json answer: the status, the content type and a detail.
    static func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, contains text: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let body = try json(response)
        #expect(body["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
        let detail = try #require(body["detail"] as? String, sourceLocation: sourceLocation)
        if let text { #expect(detail.lowercased().contains(text.lowercased()), "\(detail)", sourceLocation: sourceLocation) }
    }
}
