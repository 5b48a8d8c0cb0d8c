import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// Intake cases 15 (prediction request bodies) and 07 (decompression bombs) over real HTTP on
/// loopback, against models trained in the test on each case's manifest (small budgets).
@Suite(.serialized) struct PredictionIntakeTests {
    @Test func intake15EveryRequestBodyGetsItsExpectedStatusAndNeverA500() async throws {
        let jobs = try Support.folder("intake15-jobs")
        let case15 = Support.intake("15-predict-request-bodies")
        let job = try Support.train(manifest: case15.appendingPathComponent("manifest.csv"), budget: 10, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: case15.appendingPathComponent("expected.json"))) as? [String: Any])
        let requests = try #require(expected["requests"] as? [[String: Any]]).map(IntakeRequest.init)
        // What `autovision predict` answers for the PNG.
        let cli = try Predictor(folder: JobFolder(jobsDirectory: jobs, id: job.id))
            .predict(images: [[UInt8](try Data(contentsOf: case15.appendingPathComponent("requests/cat.png")))])[0]

        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        let app = try buildApplication(configuration: configuration)
        try await app.test(.live) { client in
            var firstScores: [Double]?
            for (index, request) in requests.enumerated() {
                let body = try Support.bytes(case15.appendingPathComponent(request.body))
                let response = try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post,
                                                        headers: Support.headers(request.contentType), body: body)
                let text = String(buffer: response.body)
                #expect(request.allowed.contains(Int(response.status.code)),
                        "request \(index) (\(request.body), \(request.contentType ?? "no type")): \(response.status) \(text)")
                #expect(response.status.code < 500)
                if response.status == .ok {
                    let object = try Support.json(response)
                    let predictions = try #require(object["predictions"] as? [[String: Any]])
                    if let top = request.topLabel {
                        let first = predictions.first
                        let label = (first?["label"] as? String) ?? ((first?["displayNames"] as? [String])?.first)
                        #expect(label == top, "request \(index): \(text)")
                    }
                    if request.contentType == "image/png", request.body == "requests/cat.png" {
                        let scores = predictions.map { $0["score"] as! Double }
                        if let firstScores { #expect(scores == firstScores, "the final request scores as the first") } else { firstScores = scores }
                        // The same answer as `autovision predict` (the same Predictor).
                        #expect(predictions.map { $0["label"] as! String } == cli.map(\.label))
                        for (served, direct) in zip(scores, cli.map(\.score)) { #expect(abs(served - direct) <= 1e-6) }
                    }
                } else {
                    #expect(response.headers[.contentType] == "application/problem+json", "request \(index)")
                    if let needle = request.messageContains {
                        #expect(text.lowercased().contains(needle), "request \(index): \(text)")
                    }
                }
            }
            #expect(firstScores != nil)

            // AutoML Vision's and Vertex AI's JSON shapes give the same scores.
            let png = [UInt8](try Data(contentsOf: case15.appendingPathComponent("requests/cat.png")))
            let base64 = Data(png).base64EncodedString()
            let automl = try await client.execute(
                uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers("application/json"),
                body: ByteBuffer(string: #"{"payload":{"image":{"imageBytes":"\#(base64)"}},"params":{"score_threshold":"0.0","max_predictions":"1"}}"#))
            #expect(automl.status == .ok, "\(String(buffer: automl.body))")
            let payload = try #require(try Support.json(automl)["payload"] as? [[String: Any]])
            #expect(payload.count == 1 && payload[0]["displayName"] as? String == "cat")
            #expect((payload[0]["classification"] as? [String: Any])?["score"] as? Double == firstScores?.first)
            let vertex = try await client.execute(
                uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers("application/json"),
                body: ByteBuffer(string: #"{"instances":[{"content":"\#(base64)"},{"content":"\#(base64)"}],"parameters":{"confidenceThreshold":0,"maxPredictions":5}}"#))
            #expect(vertex.status == .ok, "\(String(buffer: vertex.body))")
            let answers = try #require(try Support.json(vertex)["predictions"] as? [[String: Any]])
            #expect(answers.count == 2)
            for answer in answers {
                #expect((answer["displayNames"] as? [String])?.first == "cat")
                let confidences = try #require(answer["confidences"] as? [Double])
                #expect(confidences.count == 2 && zip(confidences, firstScores ?? []).allSatisfy { abs($0 - $1) <= 1e-6 })
            }
            // An undecodable instance among several is named.
            let bad = try await client.execute(
                uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers("application/json"),
                body: ByteBuffer(string: #"{"instances":[{"content":"\#(base64)"},{"content":"aGVsbG8gd29ybGQ="}]}"#))
            try Support.expectProblem(bad, .unprocessableContent, contains: "instances[1]")
        }

        // Image bodies beyond the limit: 413, from the Content-Length or while streaming.
        configuration.maxImageBytes = 1000
        try await buildApplication(configuration: configuration).test(.router) { client in
            let big = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 5000))
            try Support.expectProblem(try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post,
                                                               headers: Support.headers("image/jpeg"), body: big), .contentTooLarge, contains: "limit")
        }
    }

    /// Intake 16 (prediction images of any size on a native-size model: a 1×1 PNG crashed the server)
    /// and 17 (out-of-range numbers and instance counts: `maxPredictions` 1e19 crashed it), over real
    /// HTTP. Both cases train on the same eight images, so one model (trained once) serves both; every
    /// request gets its expected status, never a 500, and the server stays up.
    @Test func intake16And17RequestsGetTheirExpectedStatusAndTheServerStaysUp() async throws {
        let jobs = try Support.folder("intake16-17-jobs")
        // 20 s: the suites run side by side on two cores, and a model trained in a quarter of 10 s once
        // answered the half-transparent red image 'dog' (0.60).
        let job = try Support.train(manifest: Support.intake("16-predict-image-any-size").appendingPathComponent("manifest.csv"), budget: 20, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.live) { client in
            for name in ["16-predict-image-any-size", "17-predict-request-numbers"] {
                let folder = Support.intake(name)
                let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json"))) as? [String: Any])
                for (index, request) in try #require(expected["requests"] as? [[String: Any]]).map(IntakeRequest.init).enumerated() {
                    let response = try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers(request.contentType),
                                                            body: try Support.bytes(folder.appendingPathComponent(request.body)))
                    let text = String(buffer: response.body)
                    #expect(request.allowed.contains(Int(response.status.code)), "\(name) request \(index) (\(request.body)): \(response.status) \(text)")
                    if response.status == .ok {
                        let predictions = try #require(try Support.json(response)["predictions"] as? [[String: Any]], "\(text)")
                        #expect(!predictions.isEmpty)
                        if let top = request.topLabel {
                            #expect(predictions.first?["label"] as? String == top, "\(name) request \(index) (\(request.body)): \(text)")
                        }
                    } else {
                        #expect(response.headers[.contentType] == "application/problem+json", "\(name) request \(index)")
                        if let needle = request.messageContains { #expect(text.lowercased().contains(needle), "\(name) request \(index): \(text)") }
                    }
                }
            }
        }
    }

    @Test func intake07BombsAreRefusedFromTheHeaderAndTheServerStaysUp() async throws {
        let jobs = try Support.folder("intake07-jobs")
        let case07 = Support.intake("07-decompression-bomb")
        let job = try Support.train(manifest: case07.appendingPathComponent("manifest.csv"), budget: 10, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        let app = try buildApplication(configuration: configuration)
        try await app.test(.live) { client in
            for bomb in ["bomb_20000x20000_1bit.png", "huge_header_100000x100000_rgba.png"] {
                let started = Date()
                let response = try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers("image/png"),
                                                        body: try Support.bytes(case07.appendingPathComponent("images/\(bomb)")))
                #expect([400, 413, 422].contains(Int(response.status.code)), "\(bomb): \(response.status) \(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("limit"), "\(String(buffer: response.body))")
                #expect(Date().timeIntervalSince(started) < 2, "refused from the header, without decoding")
                let next = try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post, headers: Support.headers("image/png"),
                                                    body: try Support.bytes(case07.appendingPathComponent("images/ctrl_cat_0.png")))
                #expect(next.status == .ok, "the next valid request succeeds")
            }
        }
    }
}

/// One request of intake 15's expected.json.
struct IntakeRequest: Sendable {
    var body: String
    var contentType: String?
    var allowed: [Int]
    var topLabel: String?
    var messageContains: String?

    init(_ object: [String: Any]) {
        body = object["body"] as? String ?? ""
        contentType = object["content_type"] as? String
        allowed = (object["status_in"] as? [Int]) ?? [(object["status"] as? Int) ?? 200]
        topLabel = object["top_label"] as? String
        messageContains = object["message_contains"] as? String
    }
}
