import Foundation
import SwiftProtobuf

/// Accumulates the nodes and initializers of one ONNX graph, naming each value uniquely
/// (`prefix_N`). Nodes are appended in execution order, as ONNX requires (topologically sorted).
/// Operator semantics: https://onnx.ai/onnx/operators/ (opset 17).
struct ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counter = 0

    /// A fresh value name.
    mutating func name(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_\(counter)"
    }

    /// Appends a node of `op` (default domain) and returns its first output's name.
    /// - Parameters:
    ///   - inputs: value names; `""` leaves an optional input out.
    ///   - attributes: the node's attributes (`attribute(_:…)`).
    ///   - outputs: how many outputs to name.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], outputs: Int = 1) -> String {
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = name(op)
        node.input = inputs
        node.output = (0..<outputs).map { _ in name(op.lowercased()) }
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    /// A float32 initializer of `shape` (row-major `values`); returns its name.
    mutating func floats(_ prefix: String, _ values: [Float], shape: [Int]) -> String {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        var tensor = Onnx_TensorProto()
        tensor.name = name(prefix)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        // raw_data is little-endian IEEE 754, this machine's layout (x86-64, arm64).
        tensor.rawData = values.withUnsafeBytes { Data($0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// An int64 initializer of `shape`, e.g. the `starts`, `pads` and `shape` inputs of Slice, Pad, Reshape.
    mutating func int64s(_ prefix: String, _ values: [Int64], shape: [Int]? = nil) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = name(prefix)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = (shape ?? [values.count]).map(Int64.init)
        tensor.int64Data = values
        initializers.append(tensor)
        return tensor.name
    }

    /// A float32 scalar initializer (rank 0), broadcast by the elementwise ops.
    mutating func scalar(_ prefix: String, _ value: Float) -> String { floats(prefix, [value], shape: []) }
}

/// Attribute constructors for `ONNXGraphBuilder.node`.
enum ONNXAttribute {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }
}
