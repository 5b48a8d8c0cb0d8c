import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// Issue 18 item 2: no request can crash or exhaust the server, and a token-less loopback server
/// cannot be driven by a web page. Each rule has its test here.
@Suite(.serialized) struct HardeningTests {
    // MARK: Loopback and DNS rebinding

    @Test func loopbackIsDecidedByAddressNotByPrefix() {
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "::ffff:127.0.0.1", "[::ffff:127.9.9.9]", "localhost",
                     "LOCALHOST", "localhost.", "0:0:0:0:0:0:0:1", "::1%lo"] {
            #expect(ServerConfiguration.isLoopback(host), "\(host)")
        }
        for host in ["127.evil.com", "127.0.0.1.evil.com", "128.0.0.1", "0.0.0.0", "::", "::ffff:10.0.0.1", "10.127.0.1", "localhost.evil.com",
                     "evil.localhost.com", "", "fe80::1%lo", "127.0.0.1:8080", "[::1"] {
            #expect(!ServerConfiguration.isLoopback(host), "\(host)")
        }
        #expect(throws: ConfigurationError.self) {
            var configuration = Support.configuration(jobs: URL(fileURLWithPath: "/nonexistent"))
            configuration.host = "127.evil.com"
            _ = try buildApplication(configuration: configuration)
        }
    }

    @Test func hostAndOriginRulesOfATokenlessServer() {
        typealias Guard = LoopbackGuardMiddleware<BasicRequestContext>
        // Accepted: loopback Host, no Origin or this server's own.
        #expect(Guard.refusal(host: "127.0.0.1:8080", origin: nil) == nil)
        #expect(Guard.refusal(host: "localhost:8080", origin: "http://localhost:8080") == nil)
        #expect(Guard.refusal(host: "[::1]:8080", origin: "http://127.0.0.1:8080") == nil)
        #expect(Guard.refusal(host: "localhost", origin: "http://localhost") == nil)
        #expect(Guard.refusal(host: nil, origin: nil) == nil)
        // Refused: DNS rebinding (a foreign Host), and pages of other origins, other local ports included.
        #expect(Guard.refusal(host: "evil.example:8080", origin: nil)?.contains("DNS rebinding") == true)
        #expect(Guard.refusal(host: "127.evil.com:8080", origin: nil) != nil)
        #expect(Guard.refusal(host: "127.0.0.1:8080", origin: "http://evil.example")?.contains("Origin") == true)
        #expect(Guard.refusal(host: "127.0.0.1:8080", origin: "http://127.0.0.1:3000") != nil)
        #expect(Guard.refusal(host: "127.0.0.1:8080", origin: "https://127.0.0.1:8080") != nil)
        #expect(Guard.refusal(host: "127.0.0.1:8080", origin: "null") != nil)
        #expect(Guard.refusal(host: "127.0.0.1:99999", origin: nil) != nil)
    }

    @Test func aTokenlessServerRefusesForeignHostsAndOriginsOverHTTP() async throws {
        let jobs = try Support.folder("rebinding-jobs")
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.live) { client in
            let port = try #require(client.port)
            let answers = try await TestClient.withClient(host: "127.0.0.1", port: port) { raw in
                [
                    try await raw.execute(TestClient.Request("/v1/jobs", method: .get, authority: "evil.example:\(port)")),
                    try await raw.execute(TestClient.Request("/v1/jobs", method: .get, authority: "127.0.0.1:\(port)")),
                    try await raw.execute(TestClient.Request("/v1/jobs", method: .get, authority: "127.0.0.1:\(port)",
                                                             headers: [.origin: "http://evil.example"])),
                    try await raw.execute(TestClient.Request("/v1/jobs", method: .get, authority: "localhost:\(port)",
                                                             headers: [.origin: "http://127.0.0.1:\(port)"])),
                ]
            }
            #expect(answers.map(\.status.code) == [403, 200, 403, 200])
            #expect(answers[0].headers[.contentType] == "application/problem+json")
            #expect(String(buffer: answers[0].body ?? ByteBuffer()).contains("evil.example"))

            // `curl -d '{…}'` (form-encoded by default, no Origin) still reaches the job route.
            let curl = try await client.execute(uri: "/v1/jobs", method: .post, headers: Support.headers("application/x-www-form-urlencoded"),
                                                body: ByteBuffer(string: #"{"dataset_id":"ds-none","budget":"10m"}"#))
            try Support.expectProblem(curl, .notFound, contains: "ds-none")
            // A form a foreign page posts is refused before the route.
            let form = try await client.execute(uri: "/v1/jobs", method: .post,
                                                headers: [.contentType: "text/plain", .origin: "http://evil.example"],
                                                body: ByteBuffer(string: #"{"dataset_id":"ds-none","budget":"10m"}"#))
            try Support.expectProblem(form, .forbidden, contains: "Origin")
        }
        // With a token, other origins may use the API (they need the token).
        configuration.apiToken = "t0ken"
        try await buildApplication(configuration: configuration).test(.router) { client in
            var headers = Support.headers(nil, token: "t0ken")
            headers[.origin] = "https://dashboard.example"
            let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: headers)
            #expect(response.status == .ok)
        }
    }

    // MARK: Routing

    @Test func anUndeclaredMethodIs405WithAllowAndAnUnknownPath404() async throws {
        var configuration = Support.configuration(jobs: try Support.folder("methods-jobs"))
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            for (uri, method, allow) in [("/v1/jobs", HTTPRequest.Method.put, "GET, HEAD, POST"), ("/v1/jobs/x", .patch, "DELETE, GET, HEAD"),
                                         ("/v1/models/x/predict", .get, "POST"), ("/healthz", .post, "GET, HEAD"),
                                         ("/v1/jobs/x/report.html", .delete, "GET, HEAD")] {
                let response = try await client.execute(uri: uri, method: method)
                try Support.expectProblem(response, .methodNotAllowed, contains: allow)
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
            }
            try Support.expectProblem(try await client.execute(uri: "/v1/nothing", method: .put), .notFound, contains: "/openapi.json")
            try Support.expectProblem(try await client.execute(uri: "/v1/jobs/x/y/z", method: .get), .notFound)
            #expect(try await client.execute(uri: "/healthz", method: .head).status == .ok)
            let metrics = try await Support.metrics(client)
            #expect(metrics.value("autovision_http_requests_total", ["method": "PUT", "route": "unmatched", "status": "405"]) == 1)
        }
    }

    @Test func readinessNamesNoJobs() async throws {
        var configuration = Support.configuration(jobs: try Support.folder("readyz-jobs"), token: "t0ken")
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            let response = try await client.execute(uri: "/readyz", method: .get)
            #expect(response.status == .ok)
            let body = try Support.json(response)
            #expect(body["running_jobs"] as? Int == 0, "a count, not a list of IDs: \(body)")
        }
    }

    // MARK: Numbers from requests

    @Test func everyJobFieldIsRangeCheckedBeforeConversionAndALargeBudgetIsCapped() async throws {
        let jobs = try Support.folder("job-fields-jobs")
        let store = try SQLiteJobStore(jobsDirectory: jobs)
        var dataset = DatasetRecord(id: "ds-ready", root: jobs.path, manifest: jobs.appendingPathComponent("m.csv").path, multiLabel: false)
        dataset.state = .ready
        try store.insertDataset(dataset)
        var configuration = Support.configuration(jobs: jobs, dataRoots: [jobs])
        configuration.runJobs = false
        configuration.maxJobBudgetSeconds = 30
        try await buildApplication(configuration: configuration).test(.router) { client in
            let refused: [(String, String)] = [
                (#"{"dataset_id":"ds-ready","budget":"10m","seed":true}"#, "seed"),
                (#"{"dataset_id":"ds-ready","budget":"10m","seed":-1}"#, "seed"),
                (#"{"dataset_id":"ds-ready","budget":"10m","seed":1e19}"#, "seed"),
                (#"{"dataset_id":"ds-ready","budget":"10m","seed":1.5}"#, "seed"),
                (#"{"dataset_id":"ds-ready","budget":"10m","seed":null}"#, "seed"),
                (#"{"dataset_id":"ds-ready","budget":1e300}"#, "between 1 and 604800"),
                (#"{"dataset_id":"ds-ready","budget":0.5}"#, "between 1 and 604800"),
                (#"{"dataset_id":"ds-ready","budget":true}"#, "budget"),
                (#"{"dataset_id":"ds-ready","budget":"1.5h"}"#, "duration"),
                (#"{"dataset_id":"ds-ready","budget":"0m"}"#, "duration"),
                (#"{"dataset_id":"ds-ready","budget":"99999999999999999999h"}"#, "duration"),
                (#"{"dataset_id":7,"budget":"10m"}"#, "dataset_id"),
                (#"["dataset_id"]"#, "JSON object"),
            ]
            for (body, text) in refused {
                try Support.expectProblem(try await client.execute(uri: "/v1/jobs", method: .post, headers: Support.headers("application/json"),
                                                                   body: ByteBuffer(string: body)), .badRequest, contains: text)
            }
            for (budget, seconds) in [("\"1h30m\"", 30.0), ("12", 12), ("\"20s\"", 20)] {
                let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: Support.headers(nil),
                                                       body: ByteBuffer(string: #"{"dataset_id":"ds-ready","budget":\#(budget),"seed":9223372036854775807}"#))
                #expect(created.status == .accepted, "\(String(buffer: created.body))")
                #expect(try Support.json(created)["budget_seconds"] as? Double == seconds, "\(budget) with --max-budget 30s")
            }
            // Query parameters: exactly true or false.
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets?multi_label=1", method: .post, headers: Support.headers("text/csv"),
                                                               body: ByteBuffer(string: "TRAIN,a.png,cat\n")), .badRequest, contains: "multi_label")
        }
    }

    static let case15 = Support.intake("15-predict-request-bodies")

    /// A model trained 10 s on intake case 15, trained once for the tests that predict with it, and its jobs folder.
    static let case15Model = Result { () throws -> (jobs: URL, job: JobRecord) in
        let jobs = try Support.folder("case15-model-jobs")
        return (jobs, try Support.train(manifest: case15.appendingPathComponent("manifest.csv"), budget: 10, jobs: jobs))
    }

    @Test func oneRequestsInstancesAreCappedAndSplitIntoBatchesOfTheBatchSize() async throws {
        let (jobs, job) = try Self.case15Model.get()
        let case15 = Self.case15
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let image = try Data(contentsOf: case15.appendingPathComponent("requests/cat.png")).base64EncodedString()
        @Sendable func body(_ count: Int) -> ByteBuffer {
            ByteBuffer(string: #"{"instances":["# + Array(repeating: #"{"content":"\#(image)"}"#, count: count).joined(separator: ",") + "]}")
        }
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        configuration.maxBatchSize = 4
        configuration.maxInstancesPerRequest = 12
        try await buildApplication(configuration: configuration).test(.router) { client in
            let uri = "/v1/models/\(job.id)/predict"
            try Support.expectProblem(try await client.execute(uri: uri, method: .post, headers: Support.headers("application/json"), body: body(13)),
                                      .contentTooLarge, contains: "limit of 12")
            let response = try await client.execute(uri: uri, method: .post, headers: Support.headers("application/json"), body: body(10))
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            #expect((try Support.json(response)["predictions"] as? [Any])?.count == 10)
            // 10 images in forward passes of at most 4: 4, 4, 2.
            let metrics = try await Support.metrics(client)
            #expect(metrics.value("autovision_prediction_batch_size_count") == 3, "\(metrics.text)")
            #expect(metrics.value("autovision_prediction_batch_size_bucket", ["le": "4.0"]) == 3, "\(metrics.text)")
        }
    }

    /// The model's two instances (`--model-instances`, each forward pass on one core) answer 32
    /// concurrent requests for two images as a lone request for each image is answered, over sockets
    /// (`.live`) and called in-process (`.router`).
    @Test(arguments: [false, true])
    func concurrentRequestsOnTwoModelInstancesGetTheLoneRequestsAnswers(overSockets: Bool) async throws {
        let (jobs, job) = try Self.case15Model.get()
        let case15 = Self.case15
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let images = try ["cat.png", "cat.jpg"].map { try Support.bytes(case15.appendingPathComponent("requests/\($0)")) }
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        configuration.modelInstances = 2
        configuration.maxBatchSize = 8
        try await buildApplication(configuration: configuration).test(overSockets ? .live : .router) { client in
            let uri = "/v1/models/\(job.id)/predict"
            @Sendable func scores(_ response: TestResponse) throws -> [String: Double] {
                let predictions = try #require(try Support.json(response)["predictions"] as? [[String: Any]], "\(String(buffer: response.body))")
                return Dictionary(uniqueKeysWithValues: predictions.map { ($0["label"] as! String, $0["score"] as! Double) })
            }
            var lone: [[String: Double]] = []
            for image in images {
                lone.append(try scores(try await client.execute(uri: uri, method: .post, headers: Support.headers("image/png"), body: image)))
            }
            let answers = try await withThrowingTaskGroup(of: (Int, [String: Double]).self) { group in
                for request in 0..<32 {
                    group.addTask {
                        let response = try await client.execute(uri: uri, method: .post, headers: Support.headers("image/png"), body: images[request % 2])
                        return (request, try scores(response))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == 32)
            for (request, answer) in answers {
                let expected = lone[request % 2]
                #expect(answer.keys == expected.keys && answer.allSatisfy { abs($0.value - expected[$0.key]!) < 1e-5 }, "request \(request)")
            }
            let metrics = try await Support.metrics(client)
            #expect(metrics.value("autovision_prediction_batch_size_sum") == 34, "\(metrics.text)")
        }
    }

    // MARK: Uploads

    @Test func uploadsBeyondTheConcurrencyLimitAre429WithRetryAfter() async throws {
        let slots = UploadSlots(limit: 1)
        let (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await slots.withSlot {
                enteredContinuation.yield()
                for await _ in release { break }
            }
        }
        for await _ in entered { break }
        do {
            try await slots.withSlot {}
            Issue.record("a second upload got a slot")
        } catch let error as APIError {
            #expect(error.status == .tooManyRequests)
            #expect(error.headers[.retryAfter] != nil)
            #expect(error.detail.contains("1 dataset upload"))
        }
        releaseContinuation.yield()
        try await holder.value
        try await slots.withSlot {}  // freed
    }

    @Test func aZipThatWouldFillTheDiskIs507AndLeavesNothingBehind() async throws {
        let jobs = try Support.folder("disk-jobs")
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        configuration.minimumFreeDiskBytes = Int64.max / 2
        try await buildApplication(configuration: configuration).test(.router) { client in
            let zip = ByteBuffer(bytes: [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))
            let response = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"), body: zip)
            try Support.expectProblem(response, HTTPResponse.Status(code: 507), contains: "disk space")
            #expect(!String(buffer: response.body).contains(jobs.path))
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: jobs.appendingPathComponent("datasets").path)) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    // MARK: What errors show

    @Test func aManifestCannotProbeFilesOutsideTheRoots() throws {
        let root = try Support.folder("probe-root")
        let resolver = PathResolver(manifestDirectory: root)
        let existing = resolver.resolve("/etc/passwd")
        let missing = resolver.resolve("/etc/no-such-file-\(UUID().uuidString)")
        let missingFolder = resolver.resolve("/no-such-folder-\(UUID().uuidString)/x.png")
        #expect(existing == missing && missing == missingFolder, "\(existing) / \(missing) / \(missingFolder)")
        if case .success = existing { Issue.record("a path outside the roots resolved") }
        // How a row is read (with or without a set column) does not depend on the file existing either.
        #expect(resolver.namesImage("/etc/passwd") == resolver.namesImage("/etc/no-such-file"))
        #expect(resolver.namesImage("../../etc/passwd") == resolver.namesImage("../../etc/no-such-file"))
        // A link inside the root that leads outside is refused without naming its target.
        let link = root.appendingPathComponent("escape")
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/etc")
        guard case let .failure(error) = resolver.resolve("escape/passwd") else {
            Issue.record("a link out of the root resolved")
            return
        }
        #expect(!error.description.contains("/etc"), "\(error)")
    }

    @Test func errorsAndResourcesNeverShowTheJobsDirectory() async throws {
        let jobs = try Support.folder("redaction-jobs")
        let store = try SQLiteJobStore(jobsDirectory: jobs)
        var failed = JobRecord(id: "20990101-000000-failed", manifest: jobs.appendingPathComponent("datasets/ds-x/manifest.csv").path,
                               budgetSeconds: 60, seed: 0)
        failed.state = .failed
        failed.failureReason = "cannot read manifest \(jobs.path)/datasets/ds-x/manifest.csv: gone"
        try store.insertJob(failed)
        let failedID = failed.id
        // A model whose files are gone: loading it fails with an I/O error naming them.
        try store.insertJob(JobRecord(id: "20990101-000000-nofile", manifest: "/m.csv", budgetSeconds: 60, seed: 0))
        var succeeded = try #require(try store.job("20990101-000000-nofile"))
        succeeded.state = .succeeded
        try store.completeJob(succeeded, model: ModelRecord(id: succeeded.id, labels: ["a", "b"], width: 8, height: 8, channels: 1,
                                                            architecture: "x", parameters: 1, testAccuracy: 0.5))
        let modelID = succeeded.id
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            let job = try await client.execute(uri: "/v1/jobs/\(failedID)", method: .get)
            let text = String(buffer: job.body)
            #expect(!text.contains(jobs.path) && text.contains("JOBS_DIR/datasets/ds-x/manifest.csv"), "\(text)")
            let predict = try await client.execute(uri: "/v1/models/\(modelID)/predict", method: .post, headers: Support.headers("image/png"),
                                                   body: ByteBuffer(string: "x"))
            #expect(predict.status.code >= 400)
            #expect(!String(buffer: predict.body).contains(jobs.path), "\(String(buffer: predict.body))")
        }
    }
}
