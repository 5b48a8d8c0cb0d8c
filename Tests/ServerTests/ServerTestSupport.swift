import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
import Search
@testable import Server
import Testing
import TestSupport

/// Shared helpers: temporary folders, training a small model into a store, requests.
enum Support {
    static let root = processScratchDirectory(prefix: "autovision-server-tests-")

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
        let job = try TrainingJob(options: options, store: try SQLiteJobStore(jobsDirectory: jobs))
        _ = try job.run()
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

    /// `GET /metrics`, parsed as Prometheus text format 0.0.4 (every line checked; see `PrometheusText`).
    static func metrics(_ client: some TestClientProtocol, token: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> PrometheusText {
        let response = try await client.execute(uri: "/metrics", method: .get, headers: headers(nil, token: token))
        #expect(response.status == .ok, sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4", sourceLocation: sourceLocation)
        return try PrometheusText(String(buffer: response.body), sourceLocation: sourceLocation)
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

/// Prometheus' text exposition format (0.0.4), parsed strictly enough to catch malformed output:
/// `# HELP`/`# TYPE` lines, samples `name{label="value",…} value`, each sample of a family that has a
/// TYPE (histograms as `_bucket`/`_sum`/`_count`), no sample twice, and histogram buckets cumulative.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        self.text = text
        var seen = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) where !line.isEmpty {
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                try #require(parts.count >= 3 && ["HELP", "TYPE"].contains(parts[1]), "bad comment line: \(line)", sourceLocation: sourceLocation)
                if parts[1] == "TYPE" {
                    try #require(parts.count == 4 && ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]),
                                 "bad TYPE line: \(line)", sourceLocation: sourceLocation)
                    try #require(types[parts[2]] == nil, "second TYPE line for \(parts[2])", sourceLocation: sourceLocation)
                    types[parts[2]] = parts[3]
                } else {
                    help[parts[2]] = parts.count == 4 ? parts[3] : ""
                }
                continue
            }
            let sample = try #require(Self.sample(line), "not a Prometheus sample: \(line)", sourceLocation: sourceLocation)
            let family = types[sample.name] != nil ? sample.name
                : ["_bucket", "_sum", "_count"].lazy.compactMap { suffix in
                    sample.name.hasSuffix(suffix) ? String(sample.name.dropLast(suffix.count)) : nil
                }.first { types[$0] == "histogram" }
            try #require(family != nil, "sample before its TYPE line: \(line)", sourceLocation: sourceLocation)
            let key = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            try #require(seen.insert(key).inserted, "sample twice: \(line)", sourceLocation: sourceLocation)
            samples.append(sample)
        }
        for (name, type) in types where type == "histogram" {
            for sum in samples where sum.name == name + "_count" {
                let buckets = samples.filter { $0.name == name + "_bucket" && $0.labels.filter { $0.key != "le" } == sum.labels }
                    .map { (Double($0.labels["le"] ?? "") ?? .nan, $0.value) }.sorted { $0.0 < $1.0 }
                #expect(buckets.last?.0 == .infinity && buckets.last?.1 == sum.value, "\(name) \(sum.labels): +Inf bucket != count",
                        sourceLocation: sourceLocation)
                #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.1 <= $1.1 }, "\(name) \(sum.labels): buckets not cumulative",
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// The value of the sample `name` with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// `name{label="value",…} value`, label values with Prometheus' escapes (`\\`, `\"`, `\n`).
    private static func sample(_ line: String) -> Sample? {
        var rest = Substring(line)
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard let first = name.first, !first.isNumber else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                guard !label.isEmpty, rest.dropFirst(label.count).hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(label.count + 2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\" {
                        guard let escaped = rest.first else { return nil }
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard rest.first == "\"", labels[String(label)] == nil else { return nil }
                labels[String(label)] = value
                rest = rest.dropFirst()
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { return nil }
        let number = rest.dropFirst()
        guard let value = Double(number) ?? ["+Inf": Double.infinity, "-Inf": -Double.infinity, "NaN": Double.nan][String(number)]
        else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }
}
