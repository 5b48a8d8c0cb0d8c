import Tensors

/// Zero padding of a convolution.
public enum Padding: Equatable, Sendable {
    /// `(kernelSize − 1) / 2` on each side: output `⌈H / stride⌉` for odd kernels.
    case same
    /// No padding.
    case valid
    /// This many zeros on each side.
    case explicit(Int)

    func amount(kernelSize: Int) -> Int {
        switch self {
        case .same: (kernelSize - 1) / 2
        case .valid: 0
        case let .explicit(amount): amount
        }
    }
}

/// A 2-D convolution with a square kernel, optionally grouped (depthwise when
/// `groups == inputChannels == outputChannels`).
///
/// Shapes: input `[N, inputChannels, H, W]` → output `[N, outputChannels, H′, W′]` with
/// `H′ = (H + 2·padding − kernelSize) / stride + 1`; weight `[outputChannels, inputChannels / groups,
/// kernelSize, kernelSize]` (OIHW, as PyTorch); bias `[outputChannels]`.
///
/// Per image and group: `im2col` unfolds the input into `col[Cg·k·k, H′·W′]` and one GEMM
/// `W_g[Og, Cg·k·k] · col` writes the output's CHW slice directly (1×1 stride-1 kernels use the
/// input as `col`). Backward: `dW_g += dY_g · colᵀ`, `dcol = W_gᵀ · dY_g`, then `col2im`. Images
/// are split across the `Threading` workers, each with its own `col` and its own partial `dW`,
/// summed in worker order afterwards (deterministic).
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let groups: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var needsInputGradient = true

    private var input = Tensor.empty
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private let columns = Workspace()
    private let partialGradients = Workspace()
    /// Whether the last training forward left every image's columns in `columns`.
    private var columnsCached = false
    /// Most floats of im2col columns this layer keeps from forward to backward (default 64 Mi
    /// floats = 256 MB); above it, backward recomputes them per image. 0 disables the cache.
    public var columnCacheLimit = 64 << 20

    /// - Parameters:
    ///   - inputChannels: channels of the input; divisible by `groups`.
    ///   - outputChannels: channels of the output (filters); divisible by `groups`.
    ///   - kernelSize: side of the square kernel (1, 3, 5, …).
    ///   - stride: step between windows.
    ///   - padding: zero padding; `.same` by default.
    ///   - groups: channel groups; `inputChannels` for depthwise.
    ///   - useBias: whether to add a learned per-channel bias (off before BatchNorm).
    ///   - initialization: `.he` (default) or `.pytorch`.
    ///   - generator: source of the initial weights.
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding = .same,
        groups: Int = 1, useBias: Bool = true, initialization: WeightInitialization = .he,
        generator: inout SeededGenerator
    ) {
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0, "channels not divisible by groups")
        precondition(kernelSize >= 1 && stride >= 1)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding.amount(kernelSize: kernelSize)
        self.groups = groups
        let fanIn = inputChannels / groups * kernelSize * kernelSize
        let weightShape: Shape = [outputChannels, inputChannels / groups, kernelSize, kernelSize]
        switch initialization {
        case .he:
            weight = Parameter(name: "weight", value: Initialization.heNormal(shape: weightShape, fanIn: fanIn, using: &generator))
            bias = useBias ? Parameter(name: "bias", value: Tensor(shape: [outputChannels])) : nil
        case .pytorch:
            weight = Parameter(name: "weight", value: Initialization.pytorchUniform(shape: weightShape, fanIn: fanIn, using: &generator))
            bias = useBias
                ? Parameter(name: "bias", value: Initialization.pytorchUniform(shape: [outputChannels], fanIn: fanIn, using: &generator))
                : nil
        }
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// Geometry of one group of one image of `shape`.
    private func geometry(for shape: Shape) -> ConvolutionGeometry {
        precondition(shape.rank == 4 && shape[1] == inputChannels, "Conv2D expects [N, \(inputChannels), H, W], got \(shape)")
        return ConvolutionGeometry(
            channels: inputChannels / groups, height: shape[2], width: shape[3],
            kernelSize: kernelSize, stride: stride, padding: padding)
    }

    /// Whether the input itself can serve as the column matrix (1×1, stride 1, no padding).
    private var usesInputAsColumns: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let g = geometry(for: input.shape)
        let batch = input.shape[0]
        let outputPixels = g.columnColumns
        output.resize(to: [batch, outputChannels, g.outputHeight, g.outputWidth])
        let groupInput = g.channels * g.height * g.width
        let groupOutputChannels = outputChannels / groups
        let reduction = g.columnRows  // Cg·k·k
        let columnCount = reduction * outputPixels
        let direct = usesInputAsColumns
        // In training, keep every image's columns for the backward pass when they fit the budget
        // (saves recomputing im2col); otherwise each worker reuses one image's worth.
        let cacheColumns = training && !direct && batch * groups * columnCount <= columnCacheLimit
        columnsCached = cacheColumns
        // (The backward pass's per-worker `dcol` buffers follow the cache: reserved now, so that
        // backward never reallocates — and loses — the cached columns.)
        let columnBase = columns.reserve(direct ? 1 : ((cacheColumns ? batch * groups : 0) + Threading.workerCount) * columnCount)
        let groups = groups, outputChannels = outputChannels
        let inputStride = inputChannels * g.height * g.width, outputStride = outputChannels * outputPixels
        input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                output.withUnsafeMutablePointer { y in
                    let biasValues = bias?.value.storage
                    Threading.parallelFor(batch, costPerItem: 2 * outputChannels * reduction * outputPixels) { images, worker in
                        for image in images {
                            let imageOutput = y + image * outputStride
                            for group in 0..<groups {
                                let col = columnBase + (cacheColumns ? image * groups + group : worker) * columnCount
                                let groupInputPointer = x + image * inputStride + group * groupInput
                                if !direct { im2col(groupInputPointer, geometry: g, columns: col) }
                                GEMM.multiply(
                                    m: groupOutputChannels, n: outputPixels, k: reduction,
                                    a: w + group * groupOutputChannels * reduction, lda: reduction,
                                    b: direct ? groupInputPointer : UnsafePointer(col), ldb: outputPixels,
                                    beta: 0,
                                    c: imageOutput + group * groupOutputChannels * outputPixels, ldc: outputPixels)
                            }
                            if let biasValues {
                                for channel in 0..<outputChannels {
                                    let plane = imageOutput + channel * outputPixels
                                    let value = biasValues[channel]
                                    for i in 0..<outputPixels { plane[i] += value }
                                }
                            }
                        }
                    }
                }
            }
        }
        self.input = training ? input : .empty
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(!input.isEmpty, "Conv2D.backward without a training forward")
        let g = geometry(for: input.shape)
        let batch = input.shape[0]
        precondition(outputGradient.shape == output.shape, "Conv2D.backward: gradient \(outputGradient.shape) vs output \(output.shape)")
        let outputPixels = g.columnColumns
        let groupInput = g.channels * g.height * g.width
        let groupOutputChannels = outputChannels / groups
        let reduction = g.columnRows
        let columnCount = reduction * outputPixels
        let direct = usesInputAsColumns
        let workers = Threading.workerCount
        let cached = columnsCached
        // With cached columns, `dcol` needs its own per-worker buffer after them.
        let scratchBase = cached ? batch * groups * columnCount : 0
        let columnBase = columns.reserve(direct ? 1 : scratchBase + workers * columnCount)
        let weightCount = weight.value.count
        let partialCount = weightCount + outputChannels
        let partialBase = partialGradients.reserve(workers * partialCount)
        partialBase.update(repeating: 0, count: workers * partialCount)
        let needsInputGradient = needsInputGradient
        if needsInputGradient { inputGradient.resize(to: input.shape) }
        let groups = groups, outputChannels = outputChannels
        let inputStride = inputChannels * g.height * g.width, outputStride = outputChannels * outputPixels

        input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                outputGradient.withUnsafePointer { dy in
                    inputGradient.withUnsafeMutablePointer { dx in
                        Threading.parallelFor(batch, costPerItem: 4 * outputChannels * reduction * outputPixels) { images, worker in
                            let scratch = columnBase + scratchBase + worker * columnCount
                            let dW = partialBase + worker * partialCount
                            let dB = dW + weightCount
                            for image in images {
                                let imageGradient = dy + image * outputStride
                                for channel in 0..<outputChannels {
                                    dB[channel] += sumOf(imageGradient + channel * outputPixels, count: outputPixels)
                                }
                                let imageInputGradient = dx + image * inputStride
                                if needsInputGradient && !direct {
                                    imageInputGradient.update(repeating: 0, count: inputStride)
                                }
                                for group in 0..<groups {
                                    let groupInputPointer = x + image * inputStride + group * groupInput
                                    let groupGradient = imageGradient + group * groupOutputChannels * outputPixels
                                    let col = cached ? columnBase + (image * groups + group) * columnCount : scratch
                                    if !direct && !cached { im2col(groupInputPointer, geometry: g, columns: col) }
                                    // dW_g[Og, Cg·k·k] += dY_g[Og, H′W′] · colᵀ[H′W′, Cg·k·k]
                                    GEMM.multiply(
                                        transposeB: true,
                                        m: groupOutputChannels, n: reduction, k: outputPixels,
                                        a: groupGradient, lda: outputPixels,
                                        b: direct ? groupInputPointer : UnsafePointer(col), ldb: outputPixels,
                                        beta: 1,
                                        c: dW + group * groupOutputChannels * reduction, ldc: reduction)
                                    guard needsInputGradient else { continue }
                                    // dcol[Cg·k·k, H′W′] = W_gᵀ · dY_g, folded back onto the image.
                                    let target = direct ? imageInputGradient + group * groupInput : scratch
                                    GEMM.multiply(
                                        transposeA: true,
                                        m: reduction, n: outputPixels, k: groupOutputChannels,
                                        a: w + group * groupOutputChannels * reduction, lda: reduction,
                                        b: groupGradient, ldb: outputPixels,
                                        beta: 0,
                                        c: target, ldc: outputPixels)
                                    if !direct { col2im(scratch, geometry: g, image: imageInputGradient + group * groupInput) }
                                }
                            }
                        }
                    }
                }
            }
        }
        weight.gradient.resize(to: weight.value.shape)
        weight.gradient.withUnsafeMutablePointer { target in
            target.update(from: partialBase, count: weightCount)
            for worker in 1..<max(workers, 1) { addInPlace(target, partialBase + worker * partialCount, count: weightCount) }
        }
        if let bias {
            bias.gradient.resize(to: bias.value.shape)
            bias.gradient.withUnsafeMutablePointer { target in
                target.update(from: partialBase + weightCount, count: outputChannels)
                for worker in 1..<max(workers, 1) {
                    addInPlace(target, partialBase + worker * partialCount + weightCount, count: outputChannels)
                }
            }
        }
        input = .empty
        columnsCached = false
        return needsInputGradient ? inputGradient : .empty
    }
}
