import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// Issue 24 over real HTTP: a multi-label manifest uploaded with `multi_label=true` trains, its
/// report holds the multi-label metrics, and every prediction shape answers the labels over their
/// thresholds (ours, AutoML Vision's and Vertex AI's; KServe v2 gives each label's probability).
@Suite(.serialized) struct MultiLabelServiceTests {
    @Test func uploadTrainReportAndPredictInEveryShape() async throws {
        let dataRoot = try Support.folder("multi-label-data")
        let manifest = try FashionMNISTPairs.write(to: dataRoot.appendingPathComponent("pairs"),
                                                   counts: [.train: 300, .validation: 60, .test: 60], seed: 2)
        let jobs = try Support.folder("multi-label-jobs")
        let app = try buildApplication(configuration: Support.configuration(jobs: jobs, dataRoots: [dataRoot]))
        let testRows = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("TEST,") }

        try await app.test(.live) { client in
            let upload = try await client.execute(uri: "/v1/datasets?multi_label=true&root=\(dataRoot.path)/pairs", method: .post,
                                                  headers: Support.headers("text/csv"), body: try Support.bytes(manifest))
            #expect(upload.status == .created, "\(String(buffer: upload.body))")
            let datasetID = try #require(try Support.json(upload)["id"] as? String)
            let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: Support.headers("application/json"),
                                                   body: ByteBuffer(string: #"{"dataset_id":"\#(datasetID)","budget":"40s","seed":1}"#))
            #expect(created.status == .accepted, "\(String(buffer: created.body))")
            let jobID = try #require(try Support.json(created)["id"] as? String)
            var job: [String: Any] = [:]
            let started = Date()
            while Date().timeIntervalSince(started) < 240 {
                job = try Support.json(try await client.execute(uri: "/v1/jobs/\(jobID)", method: .get))
                if ["succeeded", "failed", "cancelled"].contains(job["state"] as? String) { break }
                try await Task.sleep(for: .seconds(1))
            }
            // 40 s: at 25 s the job once failed beside the other server suites (its reason was not kept).
            #expect(job["state"] as? String == "succeeded", "\(job)")

            let report = try Support.json(try await client.execute(uri: "/v1/jobs/\(jobID)/report", method: .get))
            #expect(report["multi_label"] as? Bool == true)
            let test = try #require(report["test"] as? [String: Any])
            let mAP = try #require(test["mean_average_precision"] as? Double)
            let baseline = try #require((test["baseline"] as? [String: Any])?["mean_average_precision"] as? Double)
            #expect(mAP > baseline, "mean AP \(mAP), baseline \(baseline)")
            let perLabel = try #require(test["per_label"] as? [[String: Any]])
            let thresholds = Dictionary(uniqueKeysWithValues: perLabel.map { ($0["label"] as! String, $0["threshold"] as! Double) })
            #expect(job["test_accuracy"] as? Double == test["subset_accuracy"] as? Double)

            // Per example (issue 25): no confusion matrix, a label's errors as many as its per-label count, no cells.
            let at = try Support.json(try await client.execute(uri: "/v1/jobs/\(jobID)/report/threshold?threshold=0.4", method: .get))
            #expect(at["confusion_matrix"] == nil, "\(at)")
            let first = try #require((at["per_label"] as? [[String: Any]])?.first)
            let label = try #require((first["label"] as? String)?.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let negatives = try Support.json(try await client.execute(
                uri: "/v1/jobs/\(jobID)/report/examples?label=\(label)&error=false_negative&threshold=0.4&page_size=100", method: .get))
            #expect(negatives["total"] as? Int == first["false_negatives"] as? Int)
            try Support.expectProblem(try await client.execute(uri: "/v1/jobs/\(jobID)/report/examples?true_label=\(label)&predicted_label=\(label)",
                                                               method: .get), .badRequest, contains: "multi-label")

            // One TEST image in each shape: the same labels over the same thresholds.
            let row = testRows[0].split(separator: ",").map(String.init)
            let bytes = [UInt8](try Data(contentsOf: manifest.deletingLastPathComponent().appendingPathComponent(row[1])))
            let raw = try Support.json(try await client.execute(uri: "/v1/models/\(jobID)/predict", method: .post,
                                                                headers: Support.headers("image/png"), body: ByteBuffer(bytes: bytes)))
            let scores = try #require(raw["predictions"] as? [[String: Any]])
            #expect(scores.count == 4)
            let expected = scores.filter { ($0["score"] as! Double) >= thresholds[$0["label"] as! String]! }.map { $0["label"] as! String }
            #expect((raw["labels"] as? [[String: Any]])?.map { $0["label"] as! String } == expected)
            let everything = try Support.json(try await client.execute(uri: "/v1/models/\(jobID)/predict?threshold=0", method: .post,
                                                                       headers: Support.headers("image/png"), body: ByteBuffer(bytes: bytes)))
            #expect((everything["labels"] as? [Any])?.count == 4, "threshold=0 keeps every label")
            try Support.expectProblem(try await client.execute(uri: "/v1/models/\(jobID)/predict?threshold=2", method: .post,
                                                               headers: Support.headers("image/png"), body: ByteBuffer(bytes: bytes)),
                                      .badRequest, contains: "threshold")

            let base64 = Data(bytes).base64EncodedString()
            let automl = try Support.json(try await client.execute(
                uri: "/v1/models/\(jobID)/predict", method: .post, headers: Support.headers("application/json"),
                body: ByteBuffer(string: #"{"payload":{"image":{"imageBytes":"\#(base64)"}}}"#)))
            #expect((automl["payload"] as? [[String: Any]])?.map { $0["displayName"] as! String } == expected)
            let vertex = try Support.json(try await client.execute(
                uri: "/v1/models/\(jobID)/predict", method: .post, headers: Support.headers("application/json"),
                body: ByteBuffer(string: #"{"instances":[{"content":"\#(base64)"}]}"#)))
            #expect(((vertex["predictions"] as? [[String: Any]])?.first?["displayNames"] as? [String]) == expected)

            // KServe v2: each label's probability, and the labels over their thresholds as BOOL.
            let metadata = try Support.json(try await client.execute(uri: "/v2/models/\(jobID)", method: .get))
            #expect((metadata["outputs"] as? [[String: Any]])?.map { $0["name"] as! String } == ["probabilities", "labels"])
            let oip = #"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["\#(base64)"]}]}"#
            let inferred = try await client.execute(uri: "/v2/models/\(jobID)/infer", method: .post, headers: Support.headers("application/json"),
                                                    body: ByteBuffer(string: oip))
            #expect(inferred.status == .ok, "\(String(buffer: inferred.body))")
            let outputs = try #require(try Support.json(inferred)["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as! String } == ["probabilities", "labels"])
            let labelNames = try #require(try Support.json(try await client.execute(uri: "/v1/models/\(jobID)", method: .get))["labels"] as? [String])
            let decisions = try #require(outputs.last?["data"] as? [Bool])
            #expect(zip(labelNames, decisions).filter(\.1).map(\.0).sorted() == expected.sorted())
            #expect(outputs.last?["datatype"] as? String == "BOOL" && outputs.last?["shape"] as? [Int] == [1, 4])

            // Export refuses clearly instead of writing a softmax graph.
            try Support.expectProblem(try await client.execute(uri: "/v1/models/\(jobID)/export?format=onnx", method: .get),
                                      .unprocessableContent, contains: "multi-label")
        }
    }
}
