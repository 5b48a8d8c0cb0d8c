import Foundation

// KServe's Open Inference Protocol v2 (REST) as AutoVision serves it: the request of
// `POST /v2/models/{id}[/versions/1]/infer`, with Triton's binary tensor data extension.
// Spec: https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
// Binary data: https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
// Classification: https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_classification.md

/// One value of OIP's `$parameters` object (`{"binary_data_size": 123, "binary_data": true, …}`): the
/// protocol allows a bool, a number or a string.
public enum InferenceParameter: Codable, Sendable, Equatable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a parameter is a bool, a number or a string")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .bool(value): try container.encode(value)
        case let .int(value): try container.encode(value)
        case let .double(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        }
    }

    /// The value as an integer: an integer, or a number with no fraction.
    public var intValue: Int64? {
        switch self {
        case let .int(value): value
        case let .double(value): value.rounded() == value && abs(value) < 9e18 ? Int64(value) : nil
        default: nil
        }
    }

    public var boolValue: Bool? {
        if case let .bool(value) = self { value } else { nil }
    }
}

/// OIP's `$parameters`: key/value pairs.
public typealias InferenceParameters = [String: InferenceParameter]

/// The elements of a tensor given as JSON (`data`), flattened in row-major order: OIP allows a flat
/// array or one nested as the shape. Only strings are kept (BYTES); other elements are counted so the
/// error can say what came.
public struct TensorData: Decodable, Sendable, Equatable {
    public var strings: [String]
    /// Elements that were not strings (numbers, booleans, null).
    public var others: Int

    public init(strings: [String], others: Int = 0) {
        self.strings = strings
        self.others = others
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        strings = []
        others = 0
        while !container.isAtEnd {
            if let text = try? container.decode(String.self) {
                strings.append(text)
            } else if let nested = try? container.decode(TensorData.self) {
                strings += nested.strings
                others += nested.others
            } else {
                _ = try container.decode(Skipped.self)
                others += 1
            }
        }
    }

    /// Any JSON value, read past without looking at it.
    private struct Skipped: Decodable {
        init(from decoder: any Decoder) {}
    }
}

/// OIP's `$request_input`: a named tensor with its shape, datatype and data (JSON `data`, or
/// `parameters.binary_data_size` bytes of the binary section).
public struct RequestInput: Decodable, Sendable, Equatable {
    public var name: String
    public var shape: [Int64]
    public var datatype: String
    public var parameters: InferenceParameters?
    public var data: TensorData?
}

/// OIP's `$request_output`: an output asked for, with `parameters.binary_data` (bool) and
/// `parameters.classification` (top-k count).
public struct RequestOutput: Decodable, Sendable, Equatable {
    public var name: String
    public var parameters: InferenceParameters?
}

/// OIP's `$inference_request`, and the binary section that followed its JSON.
public struct InferenceRequest: Sendable, Equatable {
    /// The JSON object of the body.
    public struct Header: Decodable, Sendable, Equatable {
        public var id: String?
        public var parameters: InferenceParameters?
        public var inputs: [RequestInput]
        public var outputs: [RequestOutput]?
    }

    public var header: Header
    /// The bytes after the JSON (binary tensor data extension); empty without it.
    public var binary: ArraySlice<UInt8>

    /// Splits `body` at `headerLength` (the `Inference-Header-Content-Length` header; the whole body is
    /// JSON without it) and decodes the JSON.
    /// - Throws: `.badRequest` for a header length that is not an integer in `0...body.count`, for JSON
    ///   that is not an `$inference_request` (naming the field), or for an empty body.
    public static func parse(body: [UInt8], headerLength: String?) throws(PredictionRequestError) -> InferenceRequest {
        var jsonLength = body.count
        if let headerLength {
            guard let length = Int(headerLength.trimmingCharacters(in: .whitespaces)), (0...body.count).contains(length) else {
                throw .badRequest("Inference-Header-Content-Length '\(headerLength.prefix(40))' is not the length of the body's JSON "
                    + "(an integer from 0 to the \(body.count) bytes of the body)")
            }
            jsonLength = length
        }
        guard jsonLength > 0 else {
            throw .badRequest("the request has no JSON inference request: send {\"inputs\":[{\"name\":\"image\",\"shape\":[N],"
                + "\"datatype\":\"BYTES\",\"data\":[\"<base64>\",…]}]}")
        }
        do {
            let header = try JSONDecoder().decode(Header.self, from: Data(body[0..<jsonLength]))
            return InferenceRequest(header: header, binary: body[jsonLength...])
        } catch let error as DecodingError {
            throw .badRequest("the body is not an OIP inference request: \(describe(error))")
        } catch {
            throw .badRequest("the body is not an OIP inference request: \(error)")
        }
    }

    /// A decoding error as `field: what was wrong`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the JSON" : String(text.drop { $0 == "." })
        }
        switch error {
        case let .keyNotFound(key, context): return "\(path(context.codingPath + [key])) is missing"
        case let .typeMismatch(type, context): return "\(path(context.codingPath)) must be \(type == String.self ? "a string" : "of type \(type)")"
        case let .valueNotFound(_, context): return "\(path(context.codingPath)) is null"
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "it is not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension InferenceRequest {
    /// The one input an AutoVision model takes: encoded images (PNG or JPEG files' bytes), `BYTES`, shape `[N]`.
    public static let inputName = "image"
    /// The output every model has: class probabilities (multi-label: each label's), `FP32`, shape `[N, C]`
    /// (C: the model's labels, in their order).
    public static let outputName = "probabilities"
    /// A multi-label model's second output: whether each label's score reaches its threshold, `BOOL`, `[N, C]`.
    public static let labelsOutputName = "labels"

    /// How many images the request holds: the product of its input's shape (`[N]`, or any shape of N elements).
    /// - Throws: `.badRequest` unless there is exactly one input, named `image`, of datatype `BYTES`,
    ///   with a shape of non-negative dimensions holding at least one element.
    public func imageCount() throws(PredictionRequestError) -> Int {
        let inputs = header.inputs
        guard inputs.count == 1, let input = inputs.first else {
            throw .badRequest("the model takes exactly one input, '\(Self.inputName)' (BYTES, shape [N]); the request has \(inputs.count)")
        }
        guard input.name == Self.inputName else {
            throw .badRequest("unexpected input '\(input.name.prefix(100))': the model's input is '\(Self.inputName)' (BYTES, shape [N])")
        }
        guard input.datatype == "BYTES" else {
            throw .badRequest("input '\(Self.inputName)' has datatype \(input.datatype.prefix(20)): it must be BYTES (each element an encoded PNG or JPEG image)")
        }
        guard !input.shape.isEmpty, input.shape.allSatisfy({ $0 >= 0 }) else {
            throw .badRequest("input '\(Self.inputName)' has shape \(input.shape): give [N], N ≥ 1 images")
        }
        var count = 1
        for dimension in input.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow, product <= Int(Int32.max) else { throw .badRequest("input '\(Self.inputName)' has shape \(input.shape): far too many elements") }
            count = product
        }
        guard count > 0 else { throw .badRequest("input '\(Self.inputName)' has shape \(input.shape), no element: give [N], N ≥ 1 images") }
        return count
    }

    /// The encoded images of the input, `imageCount()` of them: from the binary section when the input has
    /// `parameters.binary_data_size` (each element a 4-byte little-endian length, then its bytes), else
    /// from `data`, whose strings are base64 (a JSON string cannot carry a PNG's bytes; standard or
    /// URL-safe alphabet, padded or not).
    /// - Throws: `.badRequest` for a count that differs from the shape, a size that overruns the body, bytes
    ///   left over, non-string data, invalid base64, or shared memory (not supported).
    public func images() throws(PredictionRequestError) -> [[UInt8]] {
        let count = try imageCount()
        let input = header.inputs[0]
        let parameters = input.parameters ?? [:]
        if parameters.keys.contains(where: { $0.hasPrefix("shared_memory") }) {
            throw .badRequest("input '\(Self.inputName)': the shared memory extension is not supported; send the images in the body")
        }
        if let size = parameters["binary_data_size"] {
            guard input.data == nil else { throw .badRequest("input '\(Self.inputName)' has both data and binary_data_size: give one") }
            guard let size = size.intValue, size >= 0, size == binary.count else {
                throw .badRequest("input '\(Self.inputName)': binary_data_size must be the \(binary.count) bytes that follow the JSON "
                    + "(Inference-Header-Content-Length gives the JSON's length)")
            }
            return try Self.bytesElements(binary, count: count)
        }
        guard binary.isEmpty else {
            throw .badRequest("\(binary.count) bytes follow the JSON but no input has binary_data_size: give it, or send JSON only")
        }
        guard let data = input.data else {
            throw .badRequest("input '\(Self.inputName)' has no data: give data (base64 strings) or binary_data_size with the binary extension")
        }
        guard data.others == 0 else {
            throw .badRequest("input '\(Self.inputName)': \(data.others) element(s) of data are not strings; each is the base64 of an image file")
        }
        guard data.strings.count == count else {
            throw .badRequest("input '\(Self.inputName)' has \(data.strings.count) element(s) of data for shape \(input.shape) (\(count))")
        }
        var images: [[UInt8]] = []
        for (index, text) in data.strings.enumerated() {
            images.append(try PredictionRequest.decodeBase64(text, field: "inputs[0].data[\(index)]"))
        }
        return images
    }

    /// BYTES elements of the binary extension: `count` of (4-byte little-endian length, bytes), filling `bytes` exactly.
    static func bytesElements(_ bytes: ArraySlice<UInt8>, count: Int) throws(PredictionRequestError) -> [[UInt8]] {
        var elements: [[UInt8]] = []
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            guard elements.count < count, bytes.endIndex - offset >= 4 else {
                throw .badRequest("input '\(Self.inputName)': the binary data holds more than the \(count) element(s) of its shape, or a truncated length")
            }
            let length = (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
            offset += 4
            guard bytes.endIndex - offset >= length else {
                throw .badRequest("input '\(Self.inputName)': element \(elements.count) of the binary data claims \(length) bytes; \(bytes.endIndex - offset) remain")
            }
            elements.append(Array(bytes[offset..<offset + length]))
            offset += length
        }
        guard elements.count == count else {
            throw .badRequest("input '\(Self.inputName)': the binary data holds \(elements.count) element(s); its shape says \(count)")
        }
        return elements
    }

    /// One output to answer, as the request asks for it.
    public struct OutputSelection: Sendable, Equatable {
        /// `outputName` or `labelsOutputName`.
        public var name = InferenceRequest.outputName
        /// Answer in the binary section (`binary_data`, defaulting to the request's `binary_data_output`).
        public var binary: Bool
        /// The classification extension's top-k (`classification`): answer `BYTES` strings `score:index:label` instead of the probabilities.
        public var classification: Int?

        public init(name: String = InferenceRequest.outputName, binary: Bool, classification: Int? = nil) {
            self.name = name
            self.binary = binary
            self.classification = classification
        }
    }

    /// The outputs to answer, in the request's order: `probabilities` with the request's
    /// `binary_data_output` when none is named (a multi-label model's server adds `labels`).
    /// - Throws: `.badRequest` for another output's name, or a `binary_data` / `classification` of the wrong kind
    ///   (`classification` on `labels`).
    public func outputs() throws(PredictionRequestError) -> [OutputSelection] {
        var binaryDefault = false
        if let value = header.parameters?["binary_data_output"] {
            guard let flag = value.boolValue else { throw .badRequest("parameters.binary_data_output must be true or false") }
            binaryDefault = flag
        }
        guard let requested = header.outputs, !requested.isEmpty else { return [OutputSelection(binary: binaryDefault)] }
        var selections: [OutputSelection] = []
        for (index, output) in requested.enumerated() {
            guard [Self.outputName, Self.labelsOutputName].contains(output.name) else {
                throw .badRequest("unknown output '\(output.name.prefix(100))': the outputs are '\(Self.outputName)' (FP32, [N, C]) "
                    + "and, for a multi-label model, '\(Self.labelsOutputName)' (BOOL, [N, C])")
            }
            var selection = OutputSelection(name: output.name, binary: binaryDefault)
            if let value = output.parameters?["binary_data"] {
                guard let flag = value.boolValue else { throw .badRequest("outputs[\(index)].parameters.binary_data must be true or false") }
                selection.binary = flag
            }
            if let value = output.parameters?["classification"] {
                guard let count = value.intValue, (1...Int64(Int32.max)).contains(count) else {
                    throw .badRequest("outputs[\(index)].parameters.classification must be a positive integer (how many top classes)")
                }
                guard output.name == Self.outputName else {
                    throw .badRequest("outputs[\(index)]: classification applies to '\(Self.outputName)', not '\(output.name)'")
                }
                selection.classification = Int(count)
            }
            selections.append(selection)
        }
        return selections
    }
}
