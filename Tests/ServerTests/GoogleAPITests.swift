import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
import ManifestParsing
@testable import Server
import Testing

/// The Vertex AI and AutoML routes (`/v1/projects/*/locations/*/…`) where their clients' flows do not
/// reach: Google's error body, gs:// mapping, a dataset's import as an operation, the JSONL format,
/// versioned model names. (`Scripts/client-check.sh` runs the real clients through the whole flow.)
@Suite(.serialized) struct GoogleAPITests {
    static let case15 = Support.intake("15-predict-request-bodies")
    static let prefix = "/v1/projects/my-project/locations/us-central1"

    /// `{"error": {"code", "message", "status"}}`, the message containing `text`.
    func expectGoogleError(_ response: TestResponse, _ status: HTTPResponse.Status, _ name: String, contains text: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let error = try #require(try Support.json(response)["error"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(error["code"] as? Int == Int(status.code) && error["status"] as? String == name, sourceLocation: sourceLocation)
        #expect((error["message"] as? String)?.contains(text) == true, "\(error)", sourceLocation: sourceLocation)
    }

    @Test func errorsHaveGoogleShapeAndVersionedModelNamesAreTheModel() async throws {
        var configuration = Support.configuration(jobs: try Support.folder("google-errors"), token: "t0ken")
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.router) { client in
            let auth = Support.headers(nil, token: "t0ken")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/models", method: .get), .unauthorized, "UNAUTHENTICATED",
                                  contains: "bearer token")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/datasets/none", method: .get, headers: auth), .notFound, "NOT_FOUND",
                                  contains: "no dataset 'none'")
            // Vertex names a model's version ID@1 (percent-encoded in the path): the version is dropped.
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/models/abc%401", method: .get, headers: auth), .notFound, "NOT_FOUND",
                                  contains: "no model 'abc'")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/operations/unknown.x", method: .get, headers: auth), .notFound,
                                  "NOT_FOUND", contains: "no operation")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/trainingPipelines", method: .post, headers: auth,
                                                           body: ByteBuffer(string: "[1, 2")), .badRequest, "INVALID_ARGUMENT", contains: "TrainingPipeline")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/datasets", method: .put, headers: auth), .methodNotAllowed,
                                  "UNIMPLEMENTED", contains: "GET, HEAD, POST")
        }
    }

    @Test func aDatasetIsCreatedEmptyAndImportedFromAMappedBucketAsAnOperation() async throws {
        let jobs = try Support.folder("google-import")
        let bucket = try Support.folder("google-bucket")
        try FileManager.default.copyItem(at: Self.case15.appendingPathComponent("images"), to: bucket.appendingPathComponent("images"))
        // Vertex's JSONL: a label per image, ML_USE from the manifest; one line that is no instance.
        let rows = try String(contentsOf: Self.case15.appendingPathComponent("manifest.csv"), encoding: .utf8).split(separator: "\n")
        let lines = rows.map { row -> String in
            let fields = row.split(separator: ",")
            let use = ["TRAIN": "training", "VALIDATION": "validation", "TEST": "test"][String(fields[0])] ?? "training"
            return #"{"imageGcsUri": "gs://bucket/\#(fields[1])", "classificationAnnotation": {"displayName": "\#(fields[2])"}, "#
                + #""dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "\#(use)"}}"#
        } + [#"{"nothing": 1}"#]
        try Data(lines.joined(separator: "\n").utf8).write(to: bucket.appendingPathComponent("data.jsonl"))
        var configuration = Support.configuration(jobs: jobs)
        configuration.bucketMap = ["bucket": bucket]
        try await buildApplication(configuration: configuration).test(.router) { client in
            let created = try Support.json(try await client.execute(uri: Self.prefix + "/datasets", method: .post,
                                                                    body: ByteBuffer(string: #"{"displayName": "pets"}"#)))
            #expect(created["done"] as? Bool == true)
            let dataset = try #require((created["response"] as? [String: Any])?["name"] as? String)
            let id = try #require(dataset.split(separator: "/").last.map(String.init))
            let pipeline = #"{"trainingTaskDefinition": "\#(VertexTrainingPipelinesController.imageClassificationDefinition)", "#
                + #""inputDataConfig": {"datasetId": "\#(id)"}, "trainingTaskInputs": {"budgetMilliNodeHours": "3"}}"#
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/trainingPipelines", method: .post, body: ByteBuffer(string: pipeline)),
                                  .conflict, "FAILED_PRECONDITION", contains: "no data")
            let unmapped = #"{"importConfigs": [{"gcsSource": {"uris": ["gs://elsewhere/data.jsonl"]}}]}"#
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/datasets/\(id):import", method: .post, body: ByteBuffer(string: unmapped)),
                                  .notFound, "NOT_FOUND", contains: "--map gs://elsewhere=DIR")
            let mapped = #"{"importConfigs": [{"gcsSource": {"uris": ["gs://bucket/data.jsonl"]}}]}"#
            var operation = try Support.json(try await client.execute(uri: Self.prefix + "/datasets/\(id):import", method: .post,
                                                                      body: ByteBuffer(string: mapped)))
            let name = try #require(operation["name"] as? String)
            #expect(name == "projects/my-project/locations/us-central1/operations/import.\(id)")
            for _ in 0..<300 where operation["done"] as? Bool != true {
                try await Task.sleep(for: .milliseconds(100))
                operation = try Support.json(try await client.execute(uri: "/v1/" + name, method: .get))
            }
            #expect(operation["error"] == nil && (operation["response"] as? [String: Any])?["@type"] as? String
                == "type.googleapis.com/google.cloud.aiplatform.v1.ImportDataResponse", "\(operation)")
            let record = try #require(try SQLiteJobStore(jobsDirectory: jobs).dataset(id))
            #expect(record.state == .ready && record.images == rows.count && record.name == "pets")
            #expect(record.summary?.rejected.map(\.line) == [rows.count + 1], "the line that is no instance, by its line number")
            try expectGoogleError(try await client.execute(uri: Self.prefix + "/datasets/\(id):import", method: .post, body: ByteBuffer(string: mapped)),
                                  .conflict, "FAILED_PRECONDITION", contains: "has its data already")
            let shown = try Support.json(try await client.execute(uri: Self.prefix + "/datasets/\(id)", method: .get))
            #expect(shown["displayName"] as? String == "pets" && shown["dataItemCount"] as? String == String(rows.count))
        }
    }

    @Test func jsonLinesBecomeManifestRowsOnTheirOwnLines() throws {
        let jsonl = """
            {"imageGcsUri": "gs://b/a.png", "classificationAnnotation": {"displayName": "cat, tabby"}, "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}}

            {"imageGcsUri": "gs://b/b.png", "classificationAnnotations": [{"displayName": "x"}, {"displayName": "y"}]}
            not json
            """
        let csv = String(decoding: VertexJSONL.csvManifest(Array(jsonl.utf8)), as: UTF8.self)
        #expect(csv.split(separator: "\n", omittingEmptySubsequences: false) == [
            #"test,gs://b/a.png,"cat, tabby""#, "", "UNASSIGNED,gs://b/b.png,x,y", "not a JSON object with imageGcsUri: not json",
        ])
        // A field holding a line break, a raw CR and bytes that are not UTF-8: each its own rejected
        // line, and no line break added, so the lines after them keep their numbers.
        let hostile = Array(#"{"imageGcsUri": "gs://b/c.png", "classificationAnnotation": {"displayName": "a\rb"}}"#.utf8) + [0x0A]
            + Array("bad\r{\n".utf8) + [0xFF, 0xFE, 0x0A] + Array(#"{"imageGcsUri": "gs://b/d.png"}"#.utf8)
        let lines = String(decoding: VertexJSONL.csvManifest(hostile), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix(#""a field of this line holds a line break: {""imageGcsUri"""#))
        #expect(lines[1] == "not a JSON object with imageGcsUri: bad?{")
        #expect(lines[2] == "this line is not UTF-8 text")
        #expect(lines[3] == "UNASSIGNED,gs://b/d.png")
    }

    @Test func customMethodsAreMatchedByTheirSuffix() {
        #expect(MethodNotAllowedMiddleware<BasicRequestContext>.segmentMatches("{id}:import", "ds-1:import"))
        #expect(!MethodNotAllowedMiddleware<BasicRequestContext>.segmentMatches("{id}:import", ":import"))
        #expect(!MethodNotAllowedMiddleware<BasicRequestContext>.segmentMatches("{id}:import", "ds-1"))
        #expect(MethodNotAllowedMiddleware<BasicRequestContext>.segmentMatches("{id}", "ds-1:import"))
        #expect(Google.modelID("projects/p/locations/l/models/m-1@1") == "m-1" && Google.modelID("m-1%402") == "m-1" && Google.modelID("m-1") == "m-1")
    }
}
