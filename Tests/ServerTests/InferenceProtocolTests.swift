import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing

/// The Open Inference Protocol v2 routes (`/v2…`) over real HTTP on loopback, against a model trained
/// in the test on intake case 15's eight images: metadata, health, inference in JSON and with the
/// binary tensor data extension, the classification extension, and `{"error": ...}` for bad requests.
/// (`Scripts/client-check.sh` runs the real `tritonclient.http` against `autovision serve`.)
@Suite(.serialized) struct InferenceProtocolTests {
    static let case15 = Support.intake("15-predict-request-bodies")

    @Test func oipClientsGetMetadataHealthAndInferenceInJSONAndBinary() async throws {
        let jobs = try Support.folder("oip-jobs")
        let job = try Support.train(manifest: Self.case15.appendingPathComponent("manifest.csv"), budget: 10, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let png = [UInt8](try Data(contentsOf: Self.case15.appendingPathComponent("requests/cat.png")))
        let jpeg = [UInt8](try Data(contentsOf: Self.case15.appendingPathComponent("requests/cat.jpg")))
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        configuration.maxInstancesPerRequest = 4
        try await buildApplication(configuration: configuration).test(.live) { client in
            let server = try Support.json(try await client.execute(uri: "/v2", method: .get))
            #expect(server["name"] as? String == "autovision")
            #expect(Set(server["extensions"] as? [String] ?? []) == ["classification", "binary_tensor_data"])
            #expect(try Support.json(try await client.execute(uri: "/v2/health/live", method: .get))["live"] as? Bool == true)
            #expect(try Support.json(try await client.execute(uri: "/v2/health/ready", method: .get))["ready"] as? Bool == true)

            for path in ["/v2/models/\(job.id)", "/v2/models/\(job.id)/versions/1"] {
                let metadata = try Support.json(try await client.execute(uri: path, method: .get))
                #expect(metadata["name"] as? String == job.id && metadata["versions"] as? [String] == ["1"] && metadata["platform"] as? String == "autovision")
                let inputs = try #require(metadata["inputs"] as? [[String: Any]])
                #expect(inputs.count == 1 && inputs[0]["name"] as? String == "image" && inputs[0]["datatype"] as? String == "BYTES"
                    && inputs[0]["shape"] as? [Int] == [-1])
                let outputs = try #require(metadata["outputs"] as? [[String: Any]])
                #expect(outputs.count == 1 && outputs[0]["name"] as? String == "probabilities" && outputs[0]["datatype"] as? String == "FP32"
                    && outputs[0]["shape"] as? [Int] == [-1, 2])
                let ready = try Support.json(try await client.execute(uri: path + "/ready", method: .get))
                #expect(ready["name"] as? String == job.id && ready["ready"] as? Bool == true)
            }

            // What /v1 answers for the PNG: the reference for every v2 answer.
            let v1 = try Support.json(try await client.execute(uri: "/v1/models/\(job.id)/predict", method: .post,
                                                                headers: Support.headers("image/png"), body: ByteBuffer(bytes: png)))
            let reference = try #require(v1["predictions"] as? [[String: Any]])
            let topLabel = try #require(reference.first?["label"] as? String)
            let labelIndex = ["cat": 0, "dog": 1]

            // JSON: base64 data, probabilities and the top 2 as classification strings.
            let base64 = Data(png).base64EncodedString()
            let request = #"{"id":"42","inputs":[{"name":"image","shape":[2],"datatype":"BYTES","data":["\#(base64)","\#(Data(jpeg).base64EncodedString())"]}],"#
                + #""outputs":[{"name":"probabilities"},{"name":"probabilities","parameters":{"classification":2}}]}"#
            let json = try await client.execute(uri: "/v2/models/\(job.id)/infer", method: .post, headers: Support.headers("application/json"),
                                                body: ByteBuffer(string: request))
            #expect(json.status == .ok, "\(String(buffer: json.body))")
            #expect(json.headers[.contentType] == "application/json" && json.headers[InferenceController.headerLengthField] == nil)
            let answer = try Support.json(json)
            #expect(answer["model_name"] as? String == job.id && answer["model_version"] as? String == "1" && answer["id"] as? String == "42")
            let outputs = try #require(answer["outputs"] as? [[String: Any]])
            #expect(outputs.count == 2)
            #expect(outputs[0]["datatype"] as? String == "FP32" && outputs[0]["shape"] as? [Int] == [2, 2])
            let probabilities = try #require(outputs[0]["data"] as? [Double])
            #expect(probabilities.count == 4 && abs(probabilities[0] + probabilities[1] - 1) < 1e-4)
            for prediction in reference {
                let index = try #require(labelIndex[prediction["label"] as! String])
                #expect(abs(probabilities[index] - (prediction["score"] as! Double)) < 1e-6)
            }
            #expect(outputs[1]["datatype"] as? String == "BYTES" && outputs[1]["shape"] as? [Int] == [2, 2])
            let classes = try #require(outputs[1]["data"] as? [String])
            let first = classes[0].split(separator: ":", maxSplits: 2).map(String.init)
            #expect(first.count == 3 && first[2] == topLabel && Int(first[1]) == labelIndex[topLabel], "\(classes)")
            #expect(abs((Double(first[0]) ?? -1) - probabilities[Int(first[1]) ?? 0]) < 1e-6, "the score is the FP32 probability")

            // Binary: the PNG twice as BYTES binary data, every output binary.
            let binary = try await infer(client, job.id, images: [png, png], outputs: #"[{"name":"probabilities"},{"name":"probabilities","parameters":{"classification":1}}]"#)
            #expect(binary.status == .ok, "\(String(buffer: binary.body))")
            #expect(binary.headers[.contentType] == "application/octet-stream")
            let headerLength = try #require(binary.headers[InferenceController.headerLengthField].flatMap { Int($0) })
            let bytes = [UInt8](buffer: binary.body)
            let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[..<headerLength])) as? [String: Any])
            let binaryOutputs = try #require(header["outputs"] as? [[String: Any]])
            let sizes = binaryOutputs.map { ($0["parameters"] as? [String: Any])?["binary_data_size"] as? Int ?? -1 }
            #expect(sizes.count == 2 && sizes[0] == 16 && bytes.count == headerLength + sizes[0] + sizes[1], "\(sizes)")
            #expect(binaryOutputs.allSatisfy { $0["data"] == nil })
            let floats = (0..<4).map { i in Float(bitPattern: Self.uint32(bytes, at: headerLength + 4 * i)) }
            #expect(abs(Double(floats[0]) - probabilities[0]) < 1e-5 && abs(Double(floats[1]) - probabilities[1]) < 1e-5)
            // The top class of each PNG as a BYTES element: a 4-byte little-endian length, then the string.
            var offset = headerLength + 16
            for row in 0..<2 {
                let length = Int(Self.uint32(bytes, at: offset))
                let string = String(decoding: bytes[offset + 4..<min(bytes.count, offset + 4 + length)], as: UTF8.self)
                #expect(string.hasSuffix(":\(labelIndex[topLabel]!):\(topLabel)") && Float(string.split(separator: ":")[0]) == floats[2 * row + labelIndex[topLabel]!],
                        "row \(row): \(string)")
                offset += 4 + length
            }
            #expect(offset == bytes.count)
        }
    }

    /// Garbage, huge, inconsistent or foreign requests: each an OIP error (`{"error": ...}`, application/json) with
    /// its status, never a 500; the server answers a good request afterwards.
    @Test func badInferenceRequestsGetOIPErrorsWithTheirStatus() async throws {
        let jobs = try Support.folder("oip-bad-jobs")
        let job = try Support.train(manifest: Self.case15.appendingPathComponent("manifest.csv"), budget: 5, jobs: jobs)
        #expect(job.state == .succeeded, "\(job.failureReason ?? "")")
        let png = [UInt8](try Data(contentsOf: Self.case15.appendingPathComponent("requests/cat.png")))
        let text = [UInt8](try Data(contentsOf: Self.case15.appendingPathComponent("requests/not_an_image.txt")))
        let base64 = Data(png).base64EncodedString()
        var configuration = Support.configuration(jobs: jobs, token: "secret")
        configuration.runJobs = false
        configuration.maxInstancesPerRequest = 4
        configuration.maxImageBytes = 200_000
        let auth = Support.headers("application/json", token: "secret")
        @Sendable func input(_ shape: String, _ data: String) -> String { #"{"inputs":[{"name":"image","shape":\#(shape),"datatype":"BYTES","data":\#(data)}]}"# }
        let cases: [(String, HTTPResponse.Status, String)] = [
            ("", .badRequest, "no JSON"),
            ("garbage", .badRequest, "not valid JSON"),
            ("[1,2]", .badRequest, "not an OIP"),
            (#"{"inputs":[]}"#, .badRequest, "exactly one input"),
            (#"{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}]}"#, .badRequest, "unexpected input"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"FP32","data":[1.0]}]}"#, .badRequest, "BYTES"),
            (input("[2]", #"["\#(base64)"]"#), .badRequest, "1 element(s)"),
            (input("[-1]", "[]"), .badRequest, "shape"),
            (input("[0]", "[]"), .badRequest, "no element"),
            (input("[1000000000000]", "[]"), .badRequest, "too many"),
            (input("[99999999999999999999999]", "[]"), .badRequest, "JSON"),
            (input("[5]", "[]"), .contentTooLarge, "limit of 4"),
            (input("[1]", "[1]"), .badRequest, "not strings"),
            (input("[1]", #"["!!!"]"#), .badRequest, "base64"),
            (input("[1]", #"["\#(Data(text).base64EncodedString())"]"#), .unprocessableContent, "inputs[0] element 0"),
            (input("[1]", #"[{"a":1}]"#), .badRequest, "not strings"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}],"outputs":[{"name":"logits"}]}"#, .badRequest, "unknown output"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}],"outputs":[{"name":"labels"}]}"#, .badRequest, "single-label"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}],"outputs":[{"name":"labels","parameters":{"classification":2}}]}"#,
             .badRequest, "classification applies to 'probabilities'"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}],"outputs":[{"name":"probabilities","parameters":{"classification":0}}]}"#,
             .badRequest, "classification"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"]}],"parameters":{"binary_data_output":"yes"}}"#, .badRequest, "binary_data_output"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(base64)"],"parameters":{"shared_memory_region":"r"}}]}"#, .badRequest, "shared memory"),
            (String(repeating: "[", count: 100_000), .badRequest, "JSON"),
            (String(repeating: "A", count: 400_000), .contentTooLarge, "limit"),
        ]
        try await buildApplication(configuration: configuration).test(.live) { client in
            for (index, (body, status, needle)) in cases.enumerated() {
                let response = try await client.execute(uri: "/v2/models/\(job.id)/infer", method: .post, headers: auth, body: ByteBuffer(string: body))
                try Self.expectError(response, status, contains: needle, "case \(index)")
            }
            // The binary extension: a header length beyond the body, sizes that disagree, a truncated element.
            var binary = auth
            binary[InferenceController.headerLengthField] = "999999"
            try Self.expectError(try await client.execute(uri: "/v2/models/\(job.id)/infer", method: .post, headers: binary, body: ByteBuffer(string: "{}")),
                                 .badRequest, contains: "Inference-Header-Content-Length")
            let json = #"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":8}}]}"#
            binary[InferenceController.headerLengthField] = "\(json.utf8.count)"
            for (tail, needle) in [([UInt8]([0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4]), "claims"), ([1, 0, 0], "binary_data_size"), ([1, 0, 0, 0, 9, 1, 0, 0], "more than")] {
                let response = try await client.execute(uri: "/v2/models/\(job.id)/infer", method: .post, headers: binary, body: ByteBuffer(bytes: Array(json.utf8) + tail))
                try Self.expectError(response, .badRequest, contains: needle, "binary tail \(tail)")
            }
            // Models, versions, routes, methods and tokens.
            try Self.expectError(try await client.execute(uri: "/v2/models/nope", method: .get, headers: auth), .notFound, contains: "nope")
            try Self.expectError(try await client.execute(uri: "/v2/models/nope/ready", method: .get, headers: auth), .notFound, contains: "nope")
            try Self.expectError(try await client.execute(uri: "/v2/models/nope/infer", method: .post, headers: auth, body: ByteBuffer(string: "{}")),
                                 .notFound, contains: "nope")
            try Self.expectError(try await client.execute(uri: "/v2/models/\(job.id)/versions/2", method: .get, headers: auth), .notFound, contains: "version")
            try Self.expectError(try await client.execute(uri: "/v2/models/\(job.id)/versions/2/infer", method: .post, headers: auth, body: ByteBuffer(string: "{}")),
                                 .notFound, contains: "version")
            try Self.expectError(try await client.execute(uri: "/v2/repository/index", method: .post, headers: auth), .notFound, contains: "no route")
            try Self.expectError(try await client.execute(uri: "/v2/models/\(job.id)/infer", method: .get, headers: auth), .methodNotAllowed, contains: "POST")
            try Self.expectError(try await client.execute(uri: "/v2", method: .get), .unauthorized, contains: "bearer")
            #expect(try await client.execute(uri: "/v2/health/live", method: .get).status == .ok, "probes need no token")
            #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .ok, "probes need no token")
            let good = try await client.execute(uri: "/v2/models/\(job.id)/versions/1/infer", method: .post, headers: auth, body: ByteBuffer(string: input("[1]", #"["\#(base64)"]"#)))
            #expect(good.status == .ok, "\(String(buffer: good.body))")
        }
    }

    /// An OIP error: the status, `application/json`, and `{"error": "..."}` containing `text`.
    static func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, contains text: String, _ what: String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = String(buffer: response.body)
        #expect(response.status == status, "\(what): \(body)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", "\(what)", sourceLocation: sourceLocation)
        let error = try #require(try Support.json(response)["error"] as? String, "\(what): \(body)", sourceLocation: sourceLocation)
        #expect(error.lowercased().contains(text.lowercased()), "\(what): \(error)", sourceLocation: sourceLocation)
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    /// `POST /v2/models/ID/infer` with `images` as BYTES binary data (each a 4-byte little-endian length, then the bytes).
    func infer(_ client: some TestClientProtocol, _ id: String, images: [[UInt8]], outputs: String) async throws -> TestResponse {
        let data = images.flatMap { image in (0..<4).map { UInt8(truncatingIfNeeded: image.count >> (8 * $0)) } + image }
        let json = #"{"inputs":[{"name":"image","shape":[\#(images.count)],"datatype":"BYTES","parameters":{"binary_data_size":\#(data.count)}}],"#
            + #""outputs":\#(outputs),"parameters":{"binary_data_output":true}}"#
        var headers = Support.headers("application/octet-stream")
        headers[InferenceController.headerLengthField] = "\(json.utf8.count)"
        return try await client.execute(uri: "/v2/models/\(id)/infer", method: .post, headers: headers, body: ByteBuffer(bytes: Array(json.utf8) + data))
    }
}
