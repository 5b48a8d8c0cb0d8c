import NN
import Tensors

/// Turns a trained network into `InferenceOperation`s: each BatchNorm right after a convolution or a
/// dense layer is folded into it (`BatchNormFolding`), any other BatchNorm becomes a per-channel
/// affine step, and dropout (the identity at inference) is left out.
enum InferenceLowering {
    /// - Throws: `ExportError.unsupportedLayer` for a layer type without a translation,
    ///   `ExportError.inconsistentModel` for a BatchNorm whose width is not its input's.
    static func lower(_ network: Sequential) throws -> [InferenceOperation] {
        var operations: [InferenceOperation] = []
        var index = 0
        let layers = network.layers
        while index < layers.count {
            let next = index + 1 < layers.count ? layers[index + 1] as? BatchNorm : nil
            let (operation, consumed) = try lower(layers[index], followedBy: next)
            if let operation { operations.append(operation) }
            index += consumed
        }
        return operations
    }

    /// One layer (and the BatchNorm after it when folded): the operation, or `nil` for dropout, and
    /// how many layers it took.
    private static func lower(_ layer: any Layer, followedBy batchNorm: BatchNorm?) throws -> (InferenceOperation?, Int) {
        switch layer {
        case let convolution as Conv2D:
            return (.convolution(try fold(convolution, batchNorm)), batchNorm == nil ? 1 : 2)
        case let dense as Dense:
            return (.dense(try fold(dense, batchNorm)), batchNorm == nil ? 1 : 2)
        case let batchNorm as BatchNorm:
            let (scale, shift) = batchNorm.inferenceAffine()
            return (.channelAffine(scale: scale, shift: shift), 1)
        case is Dropout: return (nil, 1)
        case let residual as Residual:
            let shortcut = try residual.shortcut.map(lower) ?? []
            return (.residual(body: try lower(residual.body), shortcut: shortcut), 1)
        case let ensemble as Ensemble:
            return (.ensemble(members: try ensemble.members.map(lower)), 1)
        default:
            return (try lowerParameterless(layer), 1)
        }
    }

    private static func lowerParameterless(_ layer: any Layer) throws -> InferenceOperation {
        switch layer {
        case is ReLU: .relu
        case is SiLU: .silu
        case is GELU: .gelu
        case let pool as MaxPool2D: .maxPool(kernelSize: pool.kernelSize, stride: pool.stride)
        case let pool as AvgPool2D: .averagePool(kernelSize: pool.kernelSize, stride: pool.stride)
        case is GlobalAvgPool2D: .globalAveragePool
        case is Flatten: .flatten
        default: throw ExportError.unsupportedLayer(String(describing: type(of: layer)))
        }
    }

    static func fold(_ convolution: Conv2D, _ batchNorm: BatchNorm?) throws -> FoldedConvolution {
        var weight = convolution.weight.value.storage
        var bias = convolution.bias?.value.storage ?? [Float](repeating: 0, count: convolution.outputChannels)
        if let batchNorm {
            guard batchNorm.channels == convolution.outputChannels else {
                throw ExportError.inconsistentModel("BatchNorm of \(batchNorm.channels) channels after a convolution of \(convolution.outputChannels)")
            }
            let (scale, shift) = batchNorm.inferenceAffine()
            (weight, bias) = BatchNormFolding.fold(weight: weight, bias: bias, scale: scale, shift: shift)
        }
        return FoldedConvolution(
            weight: weight, bias: bias, outputChannels: convolution.outputChannels, inputChannels: convolution.inputChannels,
            kernelSize: convolution.kernelSize, stride: convolution.stride, padding: convolution.padding, groups: convolution.groups)
    }

    static func fold(_ dense: Dense, _ batchNorm: BatchNorm?) throws -> FoldedDense {
        let shape = dense.weight.value.shape
        var weight = dense.weight.value.storage
        var bias = dense.bias?.value.storage ?? [Float](repeating: 0, count: shape[0])
        if let batchNorm {
            guard batchNorm.channels == shape[0] else {
                throw ExportError.inconsistentModel("BatchNorm of \(batchNorm.channels) channels after a dense layer of \(shape[0]) units")
            }
            let (scale, shift) = batchNorm.inferenceAffine()
            (weight, bias) = BatchNormFolding.fold(weight: weight, bias: bias, scale: scale, shift: shift)
        }
        return FoldedDense(weight: weight, bias: bias, outputs: shape[0], inputs: shape[1])
    }
}
