import Foundation
import NN
import SwiftProtobuf

/// Writes a model as ONNX (https://onnx.ai/onnx/repo-docs/IR.html): IR version 8, opset 17 of the
/// default domain, so onnxruntime 1.12 and later run it.
///
/// The graph, for a batch of N images:
/// - input `image`: uint8 `[N, C, H, W]` (N symbolic, `batch`), the pixels at the working
///   resolution (an image of another size is fitted first as the metadata `fit` says);
/// - Cast to float, `× 1/255`, then per channel `(x − mean) × 1/std` (the model's normalisation);
/// - test-time augmentation: the views (mirror: Slice with step −1; one-pixel shifts: Slice + Pad
///   with zeros) concatenated on the batch axis, the network run once on `[V·N, C, H, W]`, the
///   softmax of each view reshaped to `[V, N, K]` and averaged (ReduceMean over axis 0);
/// - output `probabilities`: float `[N, K]`, softmax probabilities in the order of the `labels`
///   metadata (a JSON array). Metadata also: `working_resolution` (JSON `channels`, `height`,
///   `width`), `fit`, `test_time_augmentation`, `model_name`.
/// Why this shape, and what it measured against `autovision predict`: docs/decisions/0025-export-graph.md.
public enum ONNXExporter {
    public static let irVersion: Int64 = 8
    public static let opsetVersion: Int64 = 17
    public static let inputName = "image"
    public static let outputName = "probabilities"

    /// The serialised `ModelProto`.
    /// - Throws: `ExportError` for a network the exporter cannot translate; a protobuf encoding error.
    public static func export(_ model: ExportableModel) throws -> Data {
        try modelProto(model).deterministicData()
    }

    static func modelProto(_ model: ExportableModel) throws -> Onnx_ModelProto {
        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opsetVersion
        proto.opsetImport = [opset]
        proto.producerName = "autovision"
        proto.docString = "AutoVision model \(model.name): uint8 pixels [N, C, H, W] in, softmax probabilities [N, classes] out"
        proto.graph = try graph(model)
        proto.metadataProps = metadata(model).map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return proto
    }

    static func metadata(_ model: ExportableModel) -> [(String, String)] {
        [("labels", model.labelsJSON), ("working_resolution", model.resolutionJSON), ("fit", model.fit),
         ("test_time_augmentation", model.testTimeAugmentation.rawValue), ("model_name", model.name),
         ("trained_precision", model.network.precision.rawValue)]
    }

    private static func graph(_ model: ExportableModel) throws -> Onnx_GraphProto {
        let r = model.resolution
        var builder = ONNXGraphBuilder()
        let normalized = ONNXPreprocessing.emit(into: &builder, input: inputName, normalization: model.normalization, channels: r.channels)
        let views = ONNXTestTimeAugmentation.emitViews(into: &builder, input: normalized, policy: model.testTimeAugmentation,
                                                       height: r.height, width: r.width)
        var emitter = ONNXNetworkEmitter(graph: builder)
        let scores = emitter.emit(try InferenceLowering.lower(model.network), input: views, rank: 4)
        builder = emitter.graph
        let probabilities = builder.node("Softmax", [scores.name], [ONNXAttribute.int("axis", 1)])
        let averaged = ONNXTestTimeAugmentation.emitMean(into: &builder, probabilities: probabilities,
                                                         policy: model.testTimeAugmentation, classes: model.labels.count)
        var identity = Onnx_NodeProto()
        identity.opType = "Identity"
        identity.name = "output"
        identity.input = [averaged]
        identity.output = [outputName]

        var graph = Onnx_GraphProto()
        graph.name = "autovision"
        graph.node = builder.nodes + [identity]
        graph.initializer = builder.initializers
        graph.input = [valueInfo(inputName, .uint8, ["batch", r.channels, r.height, r.width])]
        graph.output = [valueInfo(outputName, .float, ["batch", model.labels.count])]
        return graph
    }

    /// A tensor value's name, element type and shape; a `String` dimension is symbolic.
    private static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ shape: [Any]) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        tensor.shape.dim = shape.map { size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            if let size = size as? Int { dimension.dimValue = Int64(size) } else { dimension.dimParam = "\(size)" }
            return dimension
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }
}
