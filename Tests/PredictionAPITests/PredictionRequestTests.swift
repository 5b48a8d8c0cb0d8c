import Foundation
@testable import PredictionAPI
import Testing

/// The prediction request parser: media types, both JSON shapes, base64 forms, and the range of every number.
@Suite("PredictionRequest")
struct PredictionRequestTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]
    static var base64: String { Data(png).base64EncodedString() }

    static func json(_ text: String) throws(PredictionRequestError) -> PredictionRequest {
        try PredictionRequest.parse(body: Array(text.utf8), contentType: "application/json; charset=utf-8")
    }

    static func vertex(parameters: String) throws(PredictionRequestError) -> PredictionRequest {
        try json(#"{"instances":[{"content":"\#(base64)"}],"parameters":\#(parameters)}"#)
    }

    static func automl(params: String) throws(PredictionRequestError) -> PredictionRequest {
        try json(#"{"payload":{"image":{"imageBytes":"\#(base64)"}},"params":\#(params)}"#)
    }

    /// The 400's detail, or nil when the body parsed or was refused otherwise.
    static func badRequestDetail(_ parse: () throws -> PredictionRequest) -> String? {
        do {
            _ = try parse()
            return nil
        } catch let PredictionRequestError.badRequest(detail) {
            return detail
        } catch {
            return nil
        }
    }

    // MARK: Media types

    @Test func imageAndUntypedBodiesAreRawBytes() throws {
        for type in [nil, "", "image/png", "image/jpeg", "IMAGE/JPEG; q=1", "application/octet-stream", "image/gif"] {
            #expect(try PredictionRequest.parse(body: Self.png, contentType: type) == .raw(Self.png), "\(type ?? "nil")")
        }
    }

    @Test func multipartTextAndOtherTypesAre415() {
        #expect(throws: PredictionRequestError.self) { try PredictionRequest.parse(body: Self.png, contentType: "application/xml") }
        for type in ["multipart/form-data; boundary=x", "text/plain", "application/xml"] {
            do {
                _ = try PredictionRequest.parse(body: Array(Self.base64.utf8), contentType: type)
                Issue.record("\(type) parsed")
            } catch {
                guard case let .unsupportedMediaType(detail) = error else { Issue.record("\(type): \(error)"); continue }
                #expect(detail.lowercased().contains("json"), "\(detail)")
            }
        }
        do {
            _ = try PredictionRequest.parse(body: Array(Self.base64.utf8), contentType: "text/plain")
        } catch {
            #expect(error.detail.hasPrefix("the body looks like base64 text"))
        }
    }

    // MARK: JSON shapes

    @Test func malformedJSONIs400() {
        for body in ["", "{", "[1]", "\"text\"", #"{"neither":1}"#, #"{"instances":[]}"#, #"{"instances":[{"url":"x"}]}"#,
                     #"{"payload":{"image":{}}}"#, #"{"instances":[{"content":"!!!"}]}"#, #"{"instances":[{"content":"  "}]}"#] {
            #expect(Self.badRequestDetail { try Self.json(body) } != nil, "\(body)")
        }
    }

    @Test func vertexDefaultsAndValues() throws {
        #expect(try Self.json(#"{"instances":[{"content":"\#(Self.base64)"}]}"#)
            == .vertex([Self.png], confidenceThreshold: nil, maxPredictions: 10))
        #expect(try Self.vertex(parameters: #"{"confidenceThreshold":0,"maxPredictions":3}"#)
            == .vertex([Self.png], confidenceThreshold: 0, maxPredictions: 3))
        #expect(try Self.vertex(parameters: #"{"confidenceThreshold":"1","maxPredictions":"10000"}"#)
            == .vertex([Self.png], confidenceThreshold: 1, maxPredictions: 10000))
        #expect(try Self.vertex(parameters: #"{"confidenceThreshold":null,"maxPredictions":0}"#)
            == .vertex([Self.png], confidenceThreshold: nil, maxPredictions: 0))
        // Integral values written as decimals or exponents are integers.
        #expect(try Self.vertex(parameters: #"{"maxPredictions":2.0}"#) == .vertex([Self.png], confidenceThreshold: nil, maxPredictions: 2))
        #expect(try Self.vertex(parameters: #"{"maxPredictions":"1e2"}"#) == .vertex([Self.png], confidenceThreshold: nil, maxPredictions: 100))
    }

    @Test func automlDefaultsAndValues() throws {
        #expect(try Self.json(#"{"payload":{"image":{"imageBytes":"\#(Self.base64)"}}}"#)
            == .automl(Self.png, scoreThreshold: nil, maxPredictions: nil))
        #expect(try Self.automl(params: #"{"score_threshold":"0.25","max_predictions":"5"}"#)
            == .automl(Self.png, scoreThreshold: 0.25, maxPredictions: 5))
        #expect(try Self.automl(params: #"{"score_threshold":0.0,"max_predictions":1}"#)
            == .automl(Self.png, scoreThreshold: 0, maxPredictions: 1))
    }

    // MARK: Ranges

    /// The reported crash: `Int(1e19)` trapped in the server. Now a 400 naming the field and its range.
    @Test func vertexMaxPredictions1e19Is400() throws {
        let detail = try #require(Self.badRequestDetail { try Self.vertex(parameters: #"{"maxPredictions":1e19}"#) })
        #expect(detail == "parameters.maxPredictions must be an integer from 0 to 10000, got 1e+19")
    }

    /// The same crash through the AutoML form, where numbers are strings.
    @Test func automlMaxPredictions1e19Is400() throws {
        let detail = try #require(Self.badRequestDetail { try Self.automl(params: #"{"max_predictions":"1e19"}"#) })
        #expect(detail == "params.max_predictions must be an integer from 0 to 10000, got \"1e19\"")
    }

    @Test func maxPredictionsOutsideItsRangeOrNotAnIntegerIs400() {
        for value in ["-1", "10001", "2.5", "1e300", "-1e19", "9223372036854775807", "18446744073709551616", "0.0001",
                      #""-3""#, #""2.5""#, #""9223372036854775808""#, #""1e400""#, #""nan""#, #""inf""#, #""five""#, "true",
                      "[1]", "{}"] {
            let vertex = Self.badRequestDetail { try Self.vertex(parameters: #"{"maxPredictions":\#(value)}"#) }
            #expect(vertex?.hasPrefix("parameters.maxPredictions must be") == true, "\(value): \(vertex ?? "parsed")")
            let automl = Self.badRequestDetail { try Self.automl(params: #"{"max_predictions":\#(value)}"#) }
            #expect(automl?.hasPrefix("params.max_predictions must be") == true, "\(value): \(automl ?? "parsed")")
        }
    }

    @Test func thresholdsOutsideZeroToOneAre400() {
        for value in ["-0.1", "1.5", "1e19", #""2""#, #""-1e-9""#, #""nan""#, #""x""#, "[0.5]"] {
            let vertex = Self.badRequestDetail { try Self.vertex(parameters: #"{"confidenceThreshold":\#(value)}"#) }
            #expect(vertex?.hasPrefix("parameters.confidenceThreshold must be") == true, "\(value): \(vertex ?? "parsed")")
            let automl = Self.badRequestDetail { try Self.automl(params: #"{"score_threshold":\#(value)}"#) }
            #expect(automl?.hasPrefix("params.score_threshold must be") == true, "\(value): \(automl ?? "parsed")")
        }
        let detail = Self.badRequestDetail { try Self.vertex(parameters: #"{"confidenceThreshold":1.5}"#) }
        #expect(detail == "parameters.confidenceThreshold must be a number from 0.0 to 1.0, got 1.5")
    }

    // MARK: Base64

    @Test func base64StandardURLSafeUnpaddedAndDataURI() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x00, 0x01]  // "+/+/AAE=" in the standard alphabet
        let standard = Data(bytes).base64EncodedString()
        #expect(standard.contains("+") && standard.contains("/") && standard.hasSuffix("="))
        let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        for text in [standard, urlSafe, "data:image/png;base64,\(standard)", " \(standard.prefix(4))\n\(standard.dropFirst(4)) "] {
            #expect(try PredictionRequest.decodeBase64(text, field: "f") == bytes, "\(text)")
        }
    }
}

/// The request bodies under Tests/Fixtures/fuzz/FuzzPredictionRequest (the reported crashes, and any
/// input the fuzzer finds later): each parses with its numbers in range, or is refused with a 400.
@Suite struct PredictionRequestFuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PredictionAPITests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/fuzz/FuzzPredictionRequest")

    /// Whether a parsed JSON request's numbers are in their ranges (a raw request is not JSON: false).
    static func inRange(_ request: PredictionRequest) -> Bool {
        let threshold: Double?, maxPredictions: Int?
        switch request {
        case .raw: return false
        case let .automl(_, t, m): (threshold, maxPredictions) = (t, m)
        case let .vertex(_, t, m): (threshold, maxPredictions) = (t, m)
        }
        let thresholdOK = threshold.map { PredictionRequest.thresholdRange.contains($0) } ?? true
        let countOK = maxPredictions.map { PredictionRequest.maxPredictionsRange.contains($0) } ?? true
        return thresholdOK && countOK
    }

    @Test func everyRegressionBodyParsesInRangeOrIs400() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names.contains("vertex-maxPredictions-1e19.json") && names.contains("automl-max_predictions-1e19.json"))
        for name in names {
            let body = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            let parsed: PredictionRequest
            switch Result(catching: { () throws(PredictionRequestError) in try PredictionRequest.parse(body: body, contentType: "application/json") }) {
            case let .success(request): parsed = request
            case .failure(.badRequest): continue
            case let .failure(error): Issue.record("\(name): \(error)"); continue
            }
            #expect(Self.inRange(parsed), "\(name)")
        }
    }
}

/// schemathesis, 2026-12-02: `"parameters": 5` was ignored and answered 200.
@Suite struct PredictionOptionsTests {
    static let body = #"{"instances":[{"content":"iVBORw0KGgo="}],"parameters":PARAMS}"#

    @Test(arguments: ["5", "\"x\"", "[1]", "true"])
    func optionsThatAreNotAnObjectAreRefused(_ value: String) {
        let vertex = Self.body.replacingOccurrences(of: "PARAMS", with: value)
        #expect(throws: PredictionRequestError.self) { try PredictionRequest.parse(body: Array(vertex.utf8), contentType: "application/json") }
        let automl = #"{"payload":{"image":{"imageBytes":"iVBORw0KGgo="}},"params":\#(value)}"#
        #expect(throws: PredictionRequestError.self) { try PredictionRequest.parse(body: Array(automl.utf8), contentType: "application/json") }
    }

    @Test func nullOptionsTakeTheDefaults() throws {
        let vertex = Self.body.replacingOccurrences(of: "PARAMS", with: "null")
        guard case let .vertex(_, threshold, maxPredictions) = try PredictionRequest.parse(body: Array(vertex.utf8), contentType: "application/json") else {
            Issue.record("not a Vertex request")
            return
        }
        #expect(threshold == nil && maxPredictions == PredictionRequest.defaultMaxPredictions)
    }
}
