import Datasets
import Evaluation
import Foundation
import Hummingbird
import HummingbirdTesting
import ImageIO
import JobService
@testable import Server
import Testing

/// Issue 25: a finished job's TEST evaluation looked at per example and at any threshold
/// (`/v1/jobs/{id}/report/threshold`, `…/curves`, `…/examples`, `…/examples/{index}/image`), on a model
/// trained for a few seconds on a Fashion-MNIST slice. The numbers themselves are checked against
/// scikit-learn in EvaluationTests; here, that the routes serve the job's own and refuse bad queries.
@Suite struct EvaluationRouteTests {
    @Test func theRoutesServeTheJobsOwnScoresPagedAndRefuseBadQueries() async throws {
        let data = try Support.folder("evaluation-data")
        let slice = try FashionMNISTExport.write(to: data.appendingPathComponent("fm"), perClass: 6, seed: 8)
        let jobs = try Support.folder("evaluation-jobs")
        // 12 s: the other ServerTests train beside it, and a slower calibration then refuses a budget of 6 s (CI, 2026-12-05).
        let job = try Support.train(manifest: slice.manifest, budget: 12, jobs: jobs)
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        let report = try EvaluationReport.decode(from: try Data(contentsOf: jobs.appendingPathComponent("\(job.id)/report.json")))
        let test = try #require(report.test)
        let base = "/v1/jobs/\(job.id)/report"

        try await buildApplication(configuration: configuration).test(.router) { client in
            func get(_ path: String) async throws -> TestResponse { try await client.execute(uri: path, method: .get) }
            func json(_ path: String) async throws -> [String: Any] {
                let response = try await get(path)
                #expect(response.status == .ok, "\(path): \(String(buffer: response.body))")
                return try Support.json(response)
            }
            // At the report's threshold (the default) and at 0.37: the report's micro figures.
            for (query, step) in [("", Int((test.scoreThreshold * 100).rounded())), ("?threshold=0.37", 37)] {
                let at = try await json("\(base)/threshold\(query)")
                let point = try #require(test.confidenceMetrics?[step])
                // (JSONSerialization may read the last bit of a double differently: compared to 1e-12.)
                let precision = try #require(at["precision"] as? Double), recall = try #require(at["recall"] as? Double)
                #expect(abs(precision - point.precision) < 1e-12 && abs(recall - point.recall) < 1e-12, "\(query): \(precision) \(point)")
                let matrix = try #require((at["confusion_matrix"] as? [String: Any])?["counts"] as? [[Int]])
                #expect(matrix.count == test.perClass.count && matrix.allSatisfy { $0.count == test.perClass.count + 1 })
                #expect(matrix.map { $0.reduce(0, +) } == test.perClass.map(\.support))
            }
            let curves = try #require(try await json("\(base)/curves")["labels"] as? [[String: Any]])
            #expect(curves.map { $0["label"] as? String } == test.perClass.map(\.label))
            #expect(curves.allSatisfy { ($0["confidence_metrics"] as? [Any])?.count == 101 })

            // Paging every example two at a time lists each once, most confident first.
            var seen: [Int] = [], token: String? = nil, pages = 0
            repeat {
                let page = try await json("\(base)/examples?page_size=2\(token.map { "&page_token=\($0)" } ?? "")")
                #expect(page["total"] as? Int == test.examples)
                let examples = try #require(page["examples"] as? [[String: Any]])
                #expect(examples.count <= 2 && examples.allSatisfy { $0.keys.contains("predicted_label") })
                seen += examples.compactMap { $0["index"] as? Int }
                #expect(page.keys.contains("next_page_token"), "the last page has next_page_token null, not left out")
                token = page["next_page_token"] as? String
                pages += 1
            } while token != nil && pages < 1000
            #expect(seen.sorted() == Array(0..<test.examples))

            // A label's false negatives at 0.5 are as many as the per-label count says; a label named with a
            // space, as a form (and URLSearchParams) writes it, is found.
            let label = "T-shirt/top", at = try await json("\(base)/threshold?threshold=0.5")
            let row = try #require((at["per_label"] as? [[String: Any]])?.first { $0["label"] as? String == label })
            let negatives = try await json("\(base)/examples?label=T-shirt%2Ftop&error=false_negative&threshold=0.5&page_size=100")
            #expect(negatives["total"] as? Int == row["false_negatives"] as? Int)
            let boots = try await json("\(base)/examples?true_label=Ankle+boot")
            #expect(boots["total"] as? Int == test.perClass.first { $0.label == "Ankle boot" }?.support)

            // An example's image: a PNG at the working resolution.
            let image = try await get("\(base)/examples/0/image")
            #expect(image.status == .ok && image.headers[.contentType] == "image/png")
            let decoded = try ImageDecoder.decode([UInt8](buffer: image.body)).image
            #expect(decoded.width == 28 && decoded.height == 28)

            for bad in ["threshold=2", "threshold=abc", "page_size=0", "page_size=101", "page_token=-1", "page_token=99999",
                        "label=nope&error=false_positive", "label=Bag", "error=false_positive", "label=Bag&error=maybe",
                        "predicted_label=Bag", "true_label=Bag&label=Bag&error=false_negative"] {
                try Support.expectProblem(try await get("\(base)/examples?\(bad)"), .badRequest)
            }
            try Support.expectProblem(try await get("\(base)/threshold?threshold=-0.1"), .badRequest)
            try Support.expectProblem(try await get("\(base)/examples/\(test.examples)/image"), .notFound)
            try Support.expectProblem(try await get("\(base)/examples/x/image"), .notFound)
            try Support.expectProblem(try await get("/v1/jobs/no-such-job/report/curves"), .notFound)
        }

        // A job without stored scores (one that finished before they were kept) gets a 409 that says why.
        try FileManager.default.removeItem(at: jobs.appendingPathComponent("\(job.id)/\(JobFolder.testScoresName)"))
        try await buildApplication(configuration: configuration).test(.router) { client in
            try Support.expectProblem(try await client.execute(uri: "\(base)/curves", method: .get), .conflict, contains: "per-example")
        }
    }
}
