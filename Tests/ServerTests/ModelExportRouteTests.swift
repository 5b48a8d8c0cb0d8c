import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// `GET /v1/models/{id}/export` over real HTTP: the three formats as downloads, and the errors.
/// (`Scripts/export-check.sh` runs the exported models in onnxruntime and loads them with coremltools.)
@Suite(.serialized) struct ModelExportRouteTests {
    @Test func downloadsEachFormatAndRefusesUnknownOnes() async throws {
        let jobs = try Support.folder("export-jobs")
        let job = try Support.train(manifest: Support.intake("15-predict-request-bodies").appendingPathComponent("manifest.csv"), budget: 10, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        var searching = JobRecord(id: "20990101-000000-search", manifest: "/nowhere.csv", budgetSeconds: 60, seed: 0)
        searching.state = .searching
        try SQLiteJobStore(jobsDirectory: jobs).insertJob(searching)
        let withoutModel = searching.id
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        try await buildApplication(configuration: configuration).test(.live) { client in
            // ONNX: ModelProto starts with field 1, ir_version = 8 (bytes 0x08 0x08).
            for (query, type, file, prefix) in [("", "application/octet-stream", "\(job.id).onnx", [UInt8]([0x08, 0x08])),
                                                ("?format=onnx", "application/octet-stream", "\(job.id).onnx", [0x08, 0x08]),
                                                ("?format=triton", "application/zip", "\(job.id)-triton.zip", Array("PK".utf8)),
                                                ("?format=coreml", "application/octet-stream", "\(job.id).mlmodel", [0x08, 0x04])] {
                let response = try await client.execute(uri: "/v1/models/\(job.id)/export\(query)", method: .get)
                #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                #expect(response.headers[.contentType] == type)
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"\(file)\"")
                #expect(Array(response.body.readableBytesView.prefix(2)) == prefix, "\(query)")
            }
            let unknown = try await client.execute(uri: "/v1/models/\(job.id)/export?format=tflite", method: .get)
            try Support.expectProblem(unknown, .badRequest, contains: "formats: onnx, triton, coreml")
            try Support.expectProblem(try await client.execute(uri: "/v1/models/nothing/export", method: .get), .notFound, contains: "no model")
            try Support.expectProblem(try await client.execute(uri: "/v1/models/\(withoutModel)/export?format=coreml", method: .get),
                                      .conflict, contains: "no model yet")
        }
    }
}
