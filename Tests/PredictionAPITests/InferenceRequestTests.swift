import Foundation
@testable import PredictionAPI
import Testing

/// The Open Inference Protocol v2 request parser: JSON and binary BYTES inputs, requested outputs, and
/// every refusal a `.badRequest`.
@Suite("InferenceRequest")
struct InferenceRequestTests {
    static let image: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]

    static func parse(_ json: String, binary: [UInt8]? = nil) throws(PredictionRequestError) -> InferenceRequest {
        try InferenceRequest.parse(body: Array(json.utf8) + (binary ?? []), headerLength: binary.map { _ in "\(json.utf8.count)" })
    }

    static func refusal(_ body: () throws(PredictionRequestError) -> Void) -> String? {
        do { try body() } catch { return error.detail }
        return nil
    }

    @Test func jsonDataIsBase64AndNestedArraysAreFlattened() throws {
        let text = Data(Self.image).base64EncodedString()
        let request = try Self.parse(#"{"id":"7","inputs":[{"name":"image","shape":[2,1],"datatype":"BYTES","data":[["\#(text)"],["\#(text)"]]}]}"#)
        #expect(request.header.id == "7")
        #expect(try request.imageCount() == 2)
        #expect(try request.images() == [Self.image, Self.image])
        #expect(try request.outputs() == [.init(binary: false, classification: nil)])
    }

    @Test func binaryDataIsLengthPrefixedElements() throws {
        let element = [UInt8]([7, 0, 0, 0]) + Self.image
        let request = try Self.parse(#"{"inputs":[{"name":"image","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":22}}],"#
            + #""parameters":{"binary_data_output":true},"outputs":[{"name":"probabilities","parameters":{"classification":3}},"#
            + #"{"name":"probabilities","parameters":{"binary_data":false}}]}"#, binary: element + element)
        #expect(try request.images() == [Self.image, Self.image])
        #expect(try request.outputs() == [.init(binary: true, classification: 3), .init(binary: false, classification: nil)])
    }

    @Test func malformedRequestsAreRefusedWithTheField() {
        let cases: [(String, [UInt8]?, String)] = [
            ("{", nil, "not valid JSON"),
            (#"{"inputs":[{"name":"image","shape":"x","datatype":"BYTES"}]}"#, nil, "inputs[0].shape"),
            (#"{"inputs":[{"shape":[1],"datatype":"BYTES"}]}"#, nil, "inputs[0].name is missing"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}]}"#, [5, 0, 0, 0, 1], "claims 5"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":1.5}}]}"#, [0], "binary_data_size"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["QQ=="]}]}"#, [0], "no input has binary_data_size"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES"}]}"#, nil, "has no data"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["QQ=="]}],"outputs":[{"name":"probabilities","parameters":{"binary_data":1}}]}"#,
             nil, "binary_data must be"),
        ]
        for (json, binary, needle) in cases {
            let detail = Self.refusal { () throws(PredictionRequestError) in
                let request = try Self.parse(json, binary: binary)
                _ = try request.outputs()
                _ = try request.images()
            }
            #expect(detail?.contains(needle) == true, "\(json): \(detail ?? "accepted")")
        }
        #expect(Self.refusal { () throws(PredictionRequestError) in _ = try InferenceRequest.parse(body: Array("{}".utf8), headerLength: "-1") } != nil)
        #expect(Self.refusal { () throws(PredictionRequestError) in _ = try InferenceRequest.parse(body: Array("{}".utf8), headerLength: "3") } != nil)
    }
}
