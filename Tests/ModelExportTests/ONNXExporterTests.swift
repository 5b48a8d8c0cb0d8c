import Foundation
import NN
import Testing
@testable import ModelExport

/// The ONNX graph's structure; its numbers are checked against onnxruntime by Scripts/export-check.sh.
@Suite struct ONNXExporterTests {
    func parsed(_ model: ExportableModel) throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: try ONNXExporter.export(model))
    }

    @Test func versionsInputOutputAndMetadata() throws {
        let proto = try parsed(try ExportFixtures.model())
        #expect(proto.irVersion == 8)
        #expect(proto.opsetImport.map(\.version) == [17] && proto.opsetImport[0].domain == "")
        let input = proto.graph.input[0]
        #expect(input.name == "image")
        #expect(input.type.tensorType.elemType == Int32(Onnx_TensorProto.DataType.uint8.rawValue))
        #expect(input.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam } == ["batch", "1", "8", "8"])
        let output = proto.graph.output[0]
        #expect(output.name == "probabilities")
        #expect(output.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam } == ["batch", "3"])
        let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        let labels = try JSONDecoder().decode([String].self, from: Data(metadata["labels"]!.utf8))
        #expect(labels == ["cat", "dog/puppy", "émeu \"bird\""])
        #expect(metadata["working_resolution"] == #"{"channels":1,"height":8,"width":8}"#)
        #expect(metadata["fit"] == "letterbox")
        #expect(metadata["test_time_augmentation"] == "none")
    }

    /// Normalisation first, no BatchNormalization or Dropout node, the residual an Add, softmax last.
    @Test func nodesInOrder() throws {
        let ops = try parsed(try ExportFixtures.model()).graph.node.map(\.opType)
        #expect(ops == ["Cast", "Mul", "Sub", "Mul", "Conv", "Relu", "Conv", "Relu", "Conv", "Add", "Mul", "Add", "MaxPool",
                        "Flatten", "Gemm", "Sigmoid", "Mul", "Gemm", "Softmax", "Identity"])
    }

    @Test func everyNodeInputIsDefinedBeforeIt() throws {
        let graph = try parsed(try ExportFixtures.model(testTimeAugmentation: .shifts)).graph
        var defined = Set(graph.initializer.map(\.name) + graph.input.map(\.name))
        for node in graph.node {
            for input in node.input where !input.isEmpty { #expect(defined.contains(input), "\(node.name) reads \(input) before it is made") }
            defined.formUnion(node.output)
        }
        #expect(defined.contains("probabilities"))
    }

    @Test func shiftsAreFourSlicesAndPadsConcatenatedAndAveraged() throws {
        let graph = try parsed(try ExportFixtures.model(testTimeAugmentation: .shifts)).graph
        let ops = graph.node.map(\.opType)
        #expect(ops.filter { $0 == "Slice" }.count == 4 && ops.filter { $0 == "Pad" }.count == 4)
        #expect(ops.filter { $0 == "Concat" }.count == 1)
        #expect(ops.suffix(4) == ["Softmax", "Reshape", "ReduceMean", "Identity"])
        let shape = graph.initializer.first { $0.name.hasPrefix("views_shape") }
        #expect(shape?.int64Data == [5, -1, 3])
    }

    @Test func mirrorIsASliceWithStepMinusOne() throws {
        let graph = try parsed(try ExportFixtures.model(testTimeAugmentation: .horizontalFlip)).graph
        let slice = try #require(graph.node.first { $0.opType == "Slice" })
        let steps = graph.initializer.first { $0.name == slice.input[4] }
        #expect(steps?.int64Data == [-1])
        #expect(graph.initializer.first { $0.name.hasPrefix("views_shape") }?.int64Data == [2, -1, 3])
    }

    @Test func withoutNormalisationOnlyTheScaleTo01() throws {
        let ops = try parsed(try ExportFixtures.model(normalization: nil)).graph.node.map(\.opType)
        #expect(ops.prefix(3) == ["Cast", "Mul", "Conv"])
    }

    @Test func foldedWeightsAreTheInitializers() throws {
        let model = try ExportFixtures.model()
        let graph = try parsed(model).graph
        let conv = graph.node.first { $0.opType == "Conv" }!
        let weight = graph.initializer.first { $0.name == conv.input[1] }!
        #expect(weight.dims == [4, 1, 3, 3])
        guard case let .convolution(folded) = try InferenceLowering.lower(model.network)[0] else { return }
        let values = weight.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(values == folded.weight)
    }
}
