/// Appends the nodes of `InferenceOperation`s to an ONNX graph. Values are `[N, C, H, W]` (rank 4)
/// until `flatten` or `globalAveragePool`, `[N, D]` (rank 2) after; the rank decides the broadcast
/// shape of a per-channel affine step. Opset 17 operators: Conv, Gemm, Mul, Add, Relu, Sigmoid, Erf,
/// MaxPool, AveragePool, GlobalAveragePool, Flatten.
struct ONNXNetworkEmitter {
    var graph: ONNXGraphBuilder

    /// Emits `operations` on `input` of `rank`; returns the output's name and rank.
    mutating func emit(_ operations: [InferenceOperation], input: String, rank: Int) -> (name: String, rank: Int) {
        var value = (name: input, rank: rank)
        for operation in operations { value = emit(operation, value) }
        return value
    }

    private mutating func emit(_ operation: InferenceOperation, _ x: (name: String, rank: Int)) -> (name: String, rank: Int) {
        switch operation {
        case let .convolution(convolution): return (emit(convolution, x.name), 4)
        case let .dense(dense): return (emit(dense, x.name), 2)
        case let .channelAffine(scale, shift):
            let shape = x.rank == 4 ? [scale.count, 1, 1] : [scale.count]
            let scaled = graph.node("Mul", [x.name, graph.floats("bn_scale", scale, shape: shape)])
            return (graph.node("Add", [scaled, graph.floats("bn_shift", shift, shape: shape)]), x.rank)
        case .relu: return (graph.node("Relu", [x.name]), x.rank)
        case .silu: return (graph.node("Mul", [x.name, graph.node("Sigmoid", [x.name])]), x.rank)
        case .gelu: return (emitGELU(x.name), x.rank)
        case let .maxPool(kernelSize, stride): return (emitPool("MaxPool", x.name, kernelSize, stride), 4)
        case let .averagePool(kernelSize, stride): return (emitPool("AveragePool", x.name, kernelSize, stride), 4)
        case .globalAveragePool:
            let pooled = graph.node("GlobalAveragePool", [x.name])  // [N, C, 1, 1]
            return (graph.node("Flatten", [pooled], [ONNXAttribute.int("axis", 1)]), 2)
        case .flatten: return (graph.node("Flatten", [x.name], [ONNXAttribute.int("axis", 1)]), 2)
        case let .residual(body, shortcut):
            let main = emit(body, input: x.name, rank: x.rank)
            let skip = emit(shortcut, input: x.name, rank: x.rank)
            return (graph.node("Add", [main.name, skip.name]), main.rank)
        case let .ensemble(members):
            let outputs = members.map { emit($0, input: x.name, rank: x.rank) }
            let sum = outputs.count == 1 ? outputs[0].name : graph.node("Sum", outputs.map(\.name))
            let mean = graph.node("Mul", [sum, graph.scalar("ensemble_scale", 1 / Float(members.count))])
            return (mean, outputs[0].rank)
        }
    }

    /// Conv with explicit symmetric pads `[top, left, bottom, right]`, weight OIHW, bias `[O]`.
    private mutating func emit(_ c: FoldedConvolution, _ x: String) -> String {
        let weight = graph.floats("conv_weight", c.weight, shape: [c.outputChannels, c.inputChannels / c.groups, c.kernelSize, c.kernelSize])
        let bias = graph.floats("conv_bias", c.bias, shape: [c.outputChannels])
        return graph.node("Conv", [x, weight, bias], [
            ONNXAttribute.ints("kernel_shape", [c.kernelSize, c.kernelSize]),
            ONNXAttribute.ints("strides", [c.stride, c.stride]),
            ONNXAttribute.ints("pads", [c.padding, c.padding, c.padding, c.padding]),
            ONNXAttribute.ints("dilations", [1, 1]),
            ONNXAttribute.int("group", c.groups),
        ])
    }

    /// Gemm `x · Bᵀ + C` with B the `[out, in]` weight (transB = 1).
    private mutating func emit(_ d: FoldedDense, _ x: String) -> String {
        let weight = graph.floats("dense_weight", d.weight, shape: [d.outputs, d.inputs])
        let bias = graph.floats("dense_bias", d.bias, shape: [d.outputs])
        return graph.node("Gemm", [x, weight, bias], [ONNXAttribute.int("transB", 1)])
    }

    private mutating func emitPool(_ op: String, _ x: String, _ kernelSize: Int, _ stride: Int) -> String {
        graph.node(op, [x], [
            ONNXAttribute.ints("kernel_shape", [kernelSize, kernelSize]),
            ONNXAttribute.ints("strides", [stride, stride]),
        ])
    }

    /// `0.5 · x · (1 + erf(x / √2))` (opset 17 has no Gelu operator; it came in opset 20).
    private mutating func emitGELU(_ x: String) -> String {
        let scaled = graph.node("Mul", [x, graph.scalar("gelu_inverse_sqrt2", 0.70710678118654752)])
        let cdf = graph.node("Add", [graph.node("Erf", [scaled]), graph.scalar("gelu_one", 1)])
        return graph.node("Mul", [graph.node("Mul", [x, cdf]), graph.scalar("gelu_half", 0.5)])
    }
}
