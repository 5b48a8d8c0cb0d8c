/// One step of a network at inference, as the exporters translate it: BatchNorm already folded into
/// the convolution or dense layer before it (running statistics), dropout left out, other layers as
/// they are. Shapes are per batch: `[N, C, H, W]` until `flatten` or `globalAveragePool`, `[N, D]` after.
indirect enum InferenceOperation: Equatable {
    /// A 2-D convolution with zero padding on every side (`FoldedConvolution`).
    case convolution(FoldedConvolution)
    /// `y = x · Wᵀ + b` on `[N, inputs]` (`FoldedDense`).
    case dense(FoldedDense)
    /// `y = x · scale[c] + shift[c]` per channel (axis 1): a BatchNorm with nothing to fold into.
    case channelAffine(scale: [Float], shift: [Float])
    case relu
    /// `x · σ(x)`.
    case silu
    /// `x · Φ(x)`, the exact form with `erf`.
    case gelu
    /// Square windows, no padding: `H′ = (H − kernelSize) / stride + 1`.
    case maxPool(kernelSize: Int, stride: Int)
    case averagePool(kernelSize: Int, stride: Int)
    /// `[N, C, H, W] → [N, C]`, the mean of each plane.
    case globalAveragePool
    /// `[N, d1, d2, …] → [N, d1·d2·…]`.
    case flatten
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    case residual(body: [InferenceOperation], shortcut: [InferenceOperation])
    /// The mean of the members' outputs on the same input.
    case ensemble(members: [[InferenceOperation]])
}

/// A convolution with BatchNorm folded in. Weight `[outputChannels, inputChannels / groups,
/// kernelSize, kernelSize]` (OIHW, row-major), bias `[outputChannels]` (zeros when the layer had none
/// and no BatchNorm followed).
struct FoldedConvolution: Equatable {
    var weight: [Float]
    var bias: [Float]
    var outputChannels: Int
    var inputChannels: Int
    var kernelSize: Int
    var stride: Int
    var padding: Int
    var groups: Int

    /// Weights per output channel: `inputChannels / groups · kernelSize²`.
    var weightsPerOutput: Int { inputChannels / groups * kernelSize * kernelSize }
}

/// A fully connected layer with BatchNorm folded in. Weight `[outputs, inputs]` (row-major), bias `[outputs]`.
struct FoldedDense: Equatable {
    var weight: [Float]
    var bias: [Float]
    var outputs: Int
    var inputs: Int
}
