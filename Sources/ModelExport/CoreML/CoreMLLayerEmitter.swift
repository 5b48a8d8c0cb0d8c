/// Appends Core ML NeuralNetwork layers (`mlmodel/format/NeuralNetwork.proto`) for
/// `InferenceOperation`s. Every blob is `[C, H, W]` (a vector is `[C, 1, 1]`); convolution weights
/// are `[outputChannels, kernelChannels, kH, kW]` and inner-product weights `[out, in]`, the layouts
/// of `FoldedConvolution` and `FoldedDense`.
struct CoreMLLayerEmitter {
    private(set) var layers: [CoreML_Specification_NeuralNetworkLayer] = []
    private var counter = 0
    /// Whether a layer needs specification version 5 (iOS 14: GELU).
    private(set) var needsVersion5 = false

    /// Appends a layer reading `inputs`; returns its output blob's name (`output` when given).
    @discardableResult
    mutating func layer(_ kind: String, _ inputs: [String], output: String? = nil,
                        _ configure: (inout CoreML_Specification_NeuralNetworkLayer) -> Void) -> String {
        counter += 1
        var layer = CoreML_Specification_NeuralNetworkLayer()
        layer.name = "\(kind)_\(counter)"
        layer.input = inputs
        layer.output = [output ?? "\(kind)_\(counter)_output"]
        configure(&layer)
        layers.append(layer)
        return layer.output[0]
    }

    mutating func emit(_ operations: [InferenceOperation], input: String) -> String {
        operations.reduce(input) { x, operation in emit(operation, x) }
    }

    private mutating func emit(_ operation: InferenceOperation, _ x: String) -> String {
        switch operation {
        case let .convolution(convolution): return emit(convolution, x)
        case let .dense(dense): return emit(dense, x)
        case let .channelAffine(scale, shift): return affine(x, scale: scale, shift: shift)
        case .relu: return layer("relu", [x]) { $0.activation.reLu = .init() }
        case .silu:
            let sigmoid = layer("sigmoid", [x]) { $0.activation.sigmoid = .init() }
            return layer("silu", [x, sigmoid]) { $0.multiply = .init() }
        case .gelu:
            needsVersion5 = true
            return layer("gelu", [x]) { $0.gelu.mode = .exact }
        case let .maxPool(kernelSize, stride): return pool(x, .max, kernelSize: kernelSize, stride: stride)
        case let .averagePool(kernelSize, stride): return pool(x, .average, kernelSize: kernelSize, stride: stride)
        case .globalAveragePool:
            return layer("global_pool", [x]) {
                $0.pooling.type = .average
                $0.pooling.globalPooling = true
                $0.pooling.valid = .init()
            }
        case .flatten: return layer("flatten", [x]) { $0.flatten.mode = .channelFirst }
        case let .residual(body, shortcut):
            let main = emit(body, input: x), skip = emit(shortcut, input: x)
            return layer("residual_add", [main, skip]) { $0.add = .init() }
        case let .ensemble(members):
            let outputs = members.map { emit($0, input: x) }
            let sum = outputs.count == 1 ? outputs[0] : layer("ensemble_sum", outputs) { $0.add = .init() }
            return layer("ensemble_mean", [sum]) { $0.activation.linear.alpha = 1 / Float(members.count) }
        }
    }

    /// `y = x · scale[c] + shift[c]`.
    mutating func affine(_ x: String, scale: [Float], shift: [Float]) -> String {
        layer("scale", [x]) {
            $0.scale.shapeScale = [UInt64(scale.count)]
            $0.scale.scale.floatValue = scale
            $0.scale.hasBias_p = true
            $0.scale.shapeBias = [UInt64(shift.count)]
            $0.scale.bias.floatValue = shift
        }
    }

    private mutating func emit(_ c: FoldedConvolution, _ x: String) -> String {
        layer("conv", [x]) {
            $0.convolution.outputChannels = UInt64(c.outputChannels)
            $0.convolution.kernelChannels = UInt64(c.inputChannels / c.groups)
            $0.convolution.nGroups = UInt64(c.groups)
            $0.convolution.kernelSize = [UInt64(c.kernelSize), UInt64(c.kernelSize)]
            $0.convolution.stride = [UInt64(c.stride), UInt64(c.stride)]
            $0.convolution.dilationFactor = [1, 1]
            $0.convolution.valid = Self.padding(c.padding)
            $0.convolution.hasBias_p = true
            $0.convolution.weights.floatValue = c.weight
            $0.convolution.bias.floatValue = c.bias
        }
    }

    /// An inner product reads a vector `[C, 1, 1]`: the network flattens before each dense layer.
    private mutating func emit(_ d: FoldedDense, _ x: String) -> String {
        layer("dense", [x]) {
            $0.innerProduct.inputChannels = UInt64(d.inputs)
            $0.innerProduct.outputChannels = UInt64(d.outputs)
            $0.innerProduct.hasBias_p = true
            $0.innerProduct.weights.floatValue = d.weight
            $0.innerProduct.bias.floatValue = d.bias
        }
    }

    private mutating func pool(_ x: String, _ type: CoreML_Specification_PoolingLayerParams.PoolingType, kernelSize: Int, stride: Int) -> String {
        layer("pool", [x]) {
            $0.pooling.type = type
            $0.pooling.kernelSize = [UInt64(kernelSize), UInt64(kernelSize)]
            $0.pooling.stride = [UInt64(stride), UInt64(stride)]
            $0.pooling.valid = Self.padding(0)
        }
    }

    /// Explicit zero padding of `amount` on each side of H and W.
    static func padding(_ amount: Int) -> CoreML_Specification_ValidPadding {
        var edge = CoreML_Specification_BorderAmounts.EdgeSizes()
        edge.startEdgeSize = UInt64(amount)
        edge.endEdgeSize = UInt64(amount)
        var padding = CoreML_Specification_ValidPadding()
        padding.paddingAmounts.borderAmounts = [edge, edge]
        return padding
    }
}
