import Foundation
import Hummingbird
import JobService
import PredictionAPI

// The answers of the Open Inference Protocol v2 routes (`/v2…`), field names as the spec writes them:
// https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
// Render them with `JSONBody.values`; errors are `InferenceError` (see `APIError.inferenceProtocolResponse`).

/// `GET /v2`: `$metadata_server_response`.
struct ServerMetadata: Encodable {
    var name = "autovision"
    var version: String
    /// Triton's extensions this server implements (the names Triton reports).
    var extensions = ["classification", "binary_tensor_data"]
}

/// `GET /v2/health/live`: `$live_server_response`.
struct ServerLive: Encodable {
    var live = true
}

/// `GET /v2/health/ready`: `$ready_server_response`.
struct ServerReady: Encodable {
    var ready = true
}

/// `GET /v2/models/{id}/ready`: `$ready_model_response`.
struct ModelReady: Encodable {
    var name: String
    var ready = true
}

/// `$metadata_tensor`: a tensor's name, datatype and shape (-1: any size).
struct MetadataTensor: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
}

/// `GET /v2/models/{id}`: `$metadata_model_response`. One input, `image` (`BYTES`, `[-1]`: encoded
/// images), one output, `probabilities` (`FP32`, `[-1, C]`, C the model's labels in `ModelRecord.labels` order),
/// and for a multi-label model `labels` (`BOOL`, `[-1, C]`: each label's score reaches its threshold).
struct ModelMetadata: Encodable {
    var name: String
    var versions = [InferenceController.version]
    var platform = "autovision"
    var inputs: [MetadataTensor]
    var outputs: [MetadataTensor]

    init(id: String, labels: [String], multiLabel: Bool = false) {
        name = id
        inputs = [MetadataTensor(name: InferenceRequest.inputName, datatype: "BYTES", shape: [-1])]
        outputs = [MetadataTensor(name: InferenceRequest.outputName, datatype: "FP32", shape: [-1, labels.count])]
        if multiLabel { outputs.append(MetadataTensor(name: InferenceRequest.labelsOutputName, datatype: "BOOL", shape: [-1, labels.count])) }
    }
}

/// An output tensor's elements in JSON (`data`): probabilities, the classification extension's strings,
/// or a multi-label model's label decisions.
enum OutputData: Encodable {
    case fp32([Float])
    case bytes([String])
    case bool([Bool])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .fp32(values): try container.encode(values)
        case let .bytes(values): try container.encode(values)
        case let .bool(values): try container.encode(values)
        }
    }
}

/// `$response_output`: `data` in JSON, or `parameters.binary_data_size` bytes of the binary section.
struct ResponseOutput: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
    var parameters: InferenceParameters?
    var data: OutputData?
}

/// `POST /v2/models/{id}/infer`: `$inference_response`. `id` is the request's, absent when it gave none.
struct InferenceResponse: Encodable {
    var modelName: String
    var modelVersion: String
    var id: String?
    var outputs: [ResponseOutput]

    enum CodingKeys: String, CodingKey { case modelName = "model_name", modelVersion = "model_version", id, outputs }
}

/// Every error of the `/v2` routes: `{"error": "..."}`, the shape OIP clients parse (`tritonclient` reads `error`).
struct InferenceError: Encodable {
    var error: String
}

/// The outputs of one infer request from the model's predictions: `probabilities` (`FP32`, `[N, C]`, the
/// labels' order) or, with the classification extension, the top k as `BYTES` strings `score:index:label`
/// (`[N, k]`, k at most C, highest score first, `score` the same FP32 value the probabilities give).
struct InferenceAnswer {
    let labels: [String]
    /// `[N][C]`: each image's probability of every label, in the model's label order.
    let probabilities: [[Float]]
    /// `[N][C]`: each image's label indices, highest score first (the order `/v1/models/{id}/predict` lists).
    let ranked: [[Int]]
    /// `[N][C]`, multi-label models: whether each label's score reaches its threshold.
    let decisions: [[Bool]]?

    /// `predictions`: per image, every label's score sorted by score, as `ModelHandle.predict` answers;
    /// `kept`: per image, a multi-label model's labels over their thresholds (`ModelHandle.kept`).
    init(labels: [String], predictions: [[Prediction]], kept: [[Prediction]]? = nil) {
        self.labels = labels
        decisions = kept.map { images in images.map { image in labels.map { label in image.contains { $0.label == label } } } }
        let index = Dictionary(labels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        ranked = predictions.map { $0.compactMap { index[$0.label] } }
        probabilities = predictions.map { scores in
            var row = [Float](repeating: 0, count: labels.count)
            for prediction in scores { if let i = index[prediction.label] { row[i] = Float(prediction.score) } }
            return row
        }
    }

    /// The classification extension's strings of each image's top `count`, row-major (`[N, count]`).
    func classifications(top count: Int) -> [String] {
        zip(probabilities, ranked).flatMap { row, order in order.prefix(count).map { "\(row[$0]):\($0):\(labels[$0])" } }
    }

    /// The response: JSON alone, or (when an output asks for binary data) `application/octet-stream` with
    /// the JSON, then each binary output's bytes in output order, and `Inference-Header-Content-Length`.
    func response(_ base: InferenceResponse, outputs: [InferenceRequest.OutputSelection]) throws -> Response {
        var body = base
        var binary: [UInt8] = []
        for selection in outputs {
            let rows = probabilities.count
            var output: ResponseOutput
            var bytes: [UInt8]
            if selection.name == InferenceRequest.labelsOutputName {
                let values = (decisions ?? []).flatMap { $0 }
                output = ResponseOutput(name: selection.name, datatype: "BOOL", shape: [rows, labels.count], data: .bool(values))
                bytes = values.map { $0 ? 1 : 0 }  // BOOL in binary: one byte per element
            } else if let requested = selection.classification {
                let count = min(requested, labels.count)
                let strings = classifications(top: count)
                output = ResponseOutput(name: InferenceRequest.outputName, datatype: "BYTES", shape: [rows, count], data: .bytes(strings))
                // BYTES in binary: each element a 4-byte little-endian length, then its bytes.
                bytes = strings.flatMap { Self.littleEndian(UInt32(truncatingIfNeeded: $0.utf8.count)) + Array($0.utf8) }
            } else {
                let values = probabilities.flatMap { $0 }
                output = ResponseOutput(name: InferenceRequest.outputName, datatype: "FP32", shape: [rows, labels.count], data: .fp32(values))
                bytes = values.flatMap { Self.littleEndian($0.bitPattern) }
            }
            if selection.binary {
                output.data = nil
                output.parameters = ["binary_data_size": .int(Int64(bytes.count))]
                binary += bytes
            }
            body.outputs.append(output)
        }
        let json = try JSONBody.values(body)
        guard outputs.contains(where: \.binary) else { return .json(json) }
        let headers: HTTPFields = [.contentType: "application/octet-stream", InferenceController.headerLengthField: "\(json.count)"]
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: [UInt8](json) + binary)))
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
