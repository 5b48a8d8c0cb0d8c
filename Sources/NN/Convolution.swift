import Foundation
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
/// `W_g[Og, Cg·k·k] · col` writes the output's CHW slice directly. Backward: `dW_g += dY_g · colᵀ`,
/// `dcol = W_gᵀ · dY_g`, then `col2im`. Images are split across the `Threading` workers, each with its
/// own `col` and its own partial `dW`, summed in worker order afterwards (deterministic).
///
/// Faster paths, each checked against that one in the tests:
/// - 1×1 stride-1 kernels use the input itself as `col`.
/// - In inference, fp32 groups of one input channel at stride 1 (a gray image's first layer,
///   depthwise), where `K = k²` is too short for a GEMM, run `DirectKernels.convolveOneChannel`.
/// - 3×3 stride-1 'same' layers of 32+ channels run the forward pass and dx by `Winograd`, its 16
///   products in the layer's precision.
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
    /// The arithmetic of this layer's matrix products (`Precision`), in training and inference.
    public var precision = Precision.fp32
    /// The weights packed for bf16 products: by a forward pass when the weights changed since the last
    /// (`packedForwardVersion`, the `weight.version` it holds), by every backward pass in its own layout.
    private let packedWeights = PackedOperand(side: .left)
    private var packedForwardVersion: Int?

    private var input = Tensor.empty
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private let columns = Workspace()
    private let partialGradients = Workspace()
    private let flippedWeights = Workspace()
    /// Compute the input gradient as a convolution with the flipped kernel where possible, instead of
    /// `Wᵀ·dY` + `col2im`. Off by default: on the medium model it measured 2–6 % slower per training
    /// step (the extra im2col of `dY` costs more than the fold it saves; alternating runs, 2026-11-29).
    public var flippedKernelGradient = false
    /// Run the forward pass (in training and inference) and the input gradient of 3×3 stride-1
    /// 'same' layers of one group by Winograd F(2×2, 3×3) where `Winograd.applies`; off, they unfold
    /// columns as every layer.
    /// On unless the environment sets `AUTOVISION_WINOGRAD=0` (for side-by-side benchmarks).
    public var winograd = Conv2D.winogradByDefault
    static let winogradByDefault = !["0", "off", "false"].contains(ProcessInfo.processInfo.environment["AUTOVISION_WINOGRAD"]?.lowercased() ?? "")
    /// The Winograd transform of the weights, for `winogradVersion` (a `weight.version`).
    private let winogradWeights = Winograd.Weights()
    /// The Winograd transform of the flipped kernel, for the input gradient.
    private let winogradGradientWeights = Winograd.Weights()
    private var winogradVersion: Int?
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

    /// Output rows per im2col strip: about 64 K floats of columns (256 KB), so a strip stays in L2
    /// while its GEMM runs. `nil` cache: the whole image when columns are kept for backward.
    private func stripRows(_ g: ConvolutionGeometry) -> Int {
        max(1, min(g.outputHeight, (64 * 1024) / max(1, g.columnRows * g.outputWidth)))
    }

    /// Whether the input gradient can be computed as a forward convolution of `dY` with the
    /// flipped, transposed kernel (stride 1, one group, output as large as the input): one GEMM with
    /// `K = O·k·k` per strip and no `col2im` scatter, instead of `Wᵀ·dY` with `K = O` and a fold.
    private func usesFlippedKernelGradient(_ g: ConvolutionGeometry) -> Bool {
        flippedKernelGradient && !usesInputAsColumns && groups == 1 && stride == 1 && g.outputWidth == g.width && g.outputHeight == g.height
    }

    /// The geometry of that gradient convolution: over `dY` (`outputChannels` planes of `H′ × W′`).
    private func flippedGeometry(_ g: ConvolutionGeometry) -> ConvolutionGeometry {
        ConvolutionGeometry(
            channels: outputChannels, height: g.outputHeight, width: g.outputWidth, kernelSize: kernelSize, stride: 1, padding: padding)
    }

    /// Whether this forward pass runs by Winograd (see `winograd`).
    private func usesWinograd(_ g: ConvolutionGeometry) -> Bool {
        winograd && groups == 1 && Winograd.applies(to: g, outputs: outputChannels)
    }

    /// Floats of strip scratch per worker: two strips (columns and `dcol`, or the gradient's columns).
    private func scratchPerWorker(_ g: ConvolutionGeometry) -> Int {
        var count = g.columnRows * stripRows(g) * g.outputWidth
        if usesFlippedKernelGradient(g) {
            let t = flippedGeometry(g)
            count = max(count, t.columnRows * stripRows(t) * t.outputWidth)
        }
        return 2 * count
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        forward(input, training: training, epilogue: nil)
    }

    /// Inference with a fused per-channel epilogue: `y = max?(0, conv(x)·scale + shift)`, where the
    /// shift includes the bias. `Sequential` uses it for Conv2D → BatchNorm → ReLU in inference, so the
    /// output is touched once while it is still in cache (BatchNorm folded as in Jacob et al. 2018,
    /// https://arxiv.org/abs/1712.05877).
    func forwardFused(_ input: Tensor, batchNorm: BatchNorm?, relu: Bool) -> Tensor {
        var scale = [Float](repeating: 1, count: outputChannels)
        var shift = bias?.value.storage ?? [Float](repeating: 0, count: outputChannels)
        if let batchNorm {
            let (a, b) = batchNorm.inferenceAffine()
            for c in 0..<outputChannels {
                scale[c] = a[c]
                shift[c] = shift[c] * a[c] + b[c]
            }
        }
        return forward(input, training: false, epilogue: Epilogue(scale: scale, shift: shift, relu: relu))
    }

    struct Epilogue {
        var scale: [Float]
        var shift: [Float]
        var relu: Bool
    }

    private func forward(_ input: Tensor, training: Bool, epilogue: Epilogue?) -> Tensor {
        let g = geometry(for: input.shape)
        let batch = input.shape[0]
        let outputPixels = g.columnColumns, outputWidth = g.outputWidth, outputHeight = g.outputHeight
        output.resize(to: [batch, outputChannels, g.outputHeight, g.outputWidth])
        let groupInput = g.channels * g.height * g.width
        let groupOutputChannels = outputChannels / groups
        let reduction = g.columnRows  // Cg·k·k
        let columnCount = reduction * outputPixels
        let direct = usesInputAsColumns
        // Inference only: in training, a direct forward and a direct weight gradient together measured
        // slower than im2col + GEMM (docs/decisions/0035). fp32 only: a bf16 layer keeps its GEMM, so
        // inference rounds as training did.
        let oneChannel = !training && !direct && precision == .fp32 && DirectKernels.convolvesOneChannel(g)
        let useWinograd = usesWinograd(g)
        // In training, keep every image's columns for the backward pass when they fit the budget
        // (saves recomputing im2col); otherwise each worker unfolds one strip of rows at a time.
        let cacheColumns = training && !direct && !oneChannel && !useWinograd && batch * groups * columnCount <= columnCacheLimit
        columnsCached = cacheColumns
        let rowsPerStrip = stripRows(g)
        // Layout: [cached columns of every image and group] then the strip scratch of each worker
        // (im2col and, in backward, dcol). Reserved here, so backward never reallocates — and loses —
        // the cache.
        let cacheCount = cacheColumns ? batch * groups * columnCount : 0
        let scratchCount = oneChannel ? DirectKernels.oneChannelScratchCount(g)
            : useWinograd ? Winograd.scratchCount(g, outputs: outputChannels) : scratchPerWorker(g)
        let columnBase = columns.reserve(direct ? 1 : cacheCount + Threading.workerCount * scratchCount)
        let groups = groups, outputChannels = outputChannels, precision = precision
        let inputStride = inputChannels * g.height * g.width, outputStride = outputChannels * outputPixels
        input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                // bf16: the weights are packed once per version (a served model's once), not once per image.
                let packedWeights = precision == .bf16 && groups == 1 && !oneChannel && !useWinograd ? packedWeights : nil
                if let packedWeights, packedForwardVersion != weight.version {
                    packedWeights.pack(transpose: false, rows: groupOutputChannels, columns: reduction, w, stride: reduction)
                    packedForwardVersion = weight.version
                }
                let transformedWeights = useWinograd ? winogradWeights : nil
                if let transformedWeights, winogradVersion != weight.version || transformedWeights.precision != precision {
                    transformedWeights.transform(w, outputs: outputChannels, channels: inputChannels, precision: precision)
                    winogradVersion = weight.version
                }
                output.withUnsafeMutablePointer { y in
                    let biasValues = bias?.value.storage
                    Threading.parallelFor(batch, costPerItem: 2 * outputChannels * reduction * outputPixels) { images, worker in
                        let strip = columnBase + cacheCount + worker * scratchCount
                        if let transformedWeights {
                            Winograd.convolve(
                                x + images.lowerBound * inputStride, count: images.count, imageStride: inputStride,
                                geometry: g, weights: transformedWeights,
                                output: y + images.lowerBound * outputStride, outputStride: outputStride, scratch: strip)
                        }
                        for image in images {
                            let imageOutput = y + image * outputStride
                            for group in 0..<groups where transformedWeights == nil {
                                let groupInputPointer = x + image * inputStride + group * groupInput
                                let groupWeights = w + group * groupOutputChannels * reduction
                                let groupOutput = imageOutput + group * groupOutputChannels * outputPixels
                                if oneChannel {
                                    DirectKernels.convolveOneChannel(
                                        groupInputPointer, geometry: g, weights: groupWeights, filters: groupOutputChannels,
                                        output: groupOutput, scratch: strip)
                                    continue
                                }
                                if direct || cacheColumns {
                                    let col = columnBase + (image * groups + group) * columnCount
                                    if !direct { im2col(groupInputPointer, geometry: g, columns: col) }
                                    GEMM.multiply(
                                        m: groupOutputChannels, n: outputPixels, k: reduction,
                                        a: groupWeights, lda: reduction,
                                        b: direct ? groupInputPointer : UnsafePointer(col), ldb: outputPixels,
                                        beta: 0,
                                        c: groupOutput, ldc: outputPixels, precision: precision, packedA: packedWeights)
                                    continue
                                }
                                for firstRow in Swift.stride(from: 0, to: outputHeight, by: rowsPerStrip) {
                                    let rows = firstRow..<min(firstRow + rowsPerStrip, outputHeight)
                                    let pixels = rows.count * outputWidth
                                    im2col(groupInputPointer, geometry: g, columns: strip, outputRows: rows)
                                    // y[Og, strip pixels] = W_g[Og, Cg·k·k] · col[Cg·k·k, strip pixels]
                                    GEMM.multiply(
                                        m: groupOutputChannels, n: pixels, k: reduction,
                                        a: groupWeights, lda: reduction,
                                        b: strip, ldb: pixels,
                                        beta: 0,
                                        c: groupOutput + firstRow * outputWidth, ldc: outputPixels, precision: precision, packedA: packedWeights)
                                }
                            }
                            if let epilogue {
                                for channel in 0..<outputChannels {
                                    let plane = imageOutput + channel * outputPixels
                                    let a = epilogue.scale[channel], b = epilogue.shift[channel]
                                    if epilogue.relu {
                                        for i in 0..<outputPixels { plane[i] = max(plane[i] * a + b, 0) }
                                    } else {
                                        for i in 0..<outputPixels { plane[i] = plane[i] * a + b }
                                    }
                                }
                            } else if let biasValues {
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
        let outputPixels = g.columnColumns, outputWidth = g.outputWidth, outputHeight = g.outputHeight
        let groupInput = g.channels * g.height * g.width
        let groupOutputChannels = outputChannels / groups
        let reduction = g.columnRows
        let columnCount = reduction * outputPixels
        let direct = usesInputAsColumns
        let workers = Threading.workerCount
        let cached = columnsCached
        let rowsPerStrip = stripRows(g)
        let stripCount = reduction * rowsPerStrip * outputWidth
        let cacheCount = cached ? batch * groups * columnCount : 0
        let gradientGeometry = flippedGeometry(g)
        // dx by Winograd, as the forward pass of the flipped kernel over dY, when the forward ran by
        // Winograd (same channel counts; no cached columns, so the scratch may grow here).
        let winogradGradient = needsInputGradient && !cached && usesWinograd(g)
            && Winograd.applies(to: gradientGeometry, outputs: inputChannels)
        let scratchCount = max(scratchPerWorker(g), winogradGradient ? Winograd.scratchCount(gradientGeometry, outputs: inputChannels) : 0)
        let columnBase = columns.reserve(direct ? 1 : cacheCount + workers * scratchCount)
        // dx as a convolution of dY with the flipped kernel: Wf[c, (o, ky, kx)] = W[o, c, k−1−ky, k−1−kx].
        let flipped = needsInputGradient && usesFlippedKernelGradient(g) && !winogradGradient
        let gradientRowsPerStrip = stripRows(gradientGeometry)
        let flippedReduction = outputChannels * kernelSize * kernelSize
        let flippedBase = flippedWeights.reserve(flipped || winogradGradient ? inputChannels * flippedReduction : 1)
        if flipped || winogradGradient {
            let k = kernelSize, channels = inputChannels, filters = outputChannels
            weight.value.withUnsafePointer { w in
                for o in 0..<filters {
                    for c in 0..<channels {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                flippedBase[c * flippedReduction + (o * k + ky) * k + kx] = w[((o * channels + c) * k + (k - 1 - ky)) * k + (k - 1 - kx)]
                            }
                        }
                    }
                }
            }
        }
        let flippedWeightPointer = UnsafePointer(flippedBase)
        let gradientWeights = winogradGradient ? winogradGradientWeights : nil
        gradientWeights?.transform(flippedWeightPointer, outputs: inputChannels, channels: outputChannels, precision: precision)
        let weightCount = weight.value.count
        let partialCount = weightCount + outputChannels
        let partialBase = partialGradients.reserve(workers * partialCount)
        partialBase.update(repeating: 0, count: workers * partialCount)
        let needsInputGradient = needsInputGradient
        if needsInputGradient { inputGradient.resize(to: input.shape) }
        let groups = groups, outputChannels = outputChannels, precision = precision
        let inputStride = inputChannels * g.height * g.width, outputStride = outputChannels * outputPixels

        input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                // bf16: the weights of the input gradient (Wᵀ, or the flipped kernel) are packed once for the batch.
                let packedWeights = precision == .bf16 && groups == 1 && needsInputGradient && !winogradGradient ? packedWeights : nil
                if packedWeights != nil { packedForwardVersion = nil }
                if flipped {
                    packedWeights?.pack(transpose: false, rows: g.channels, columns: flippedReduction, flippedWeightPointer, stride: flippedReduction)
                } else {
                    packedWeights?.pack(transpose: true, rows: reduction, columns: groupOutputChannels, w, stride: reduction)
                }
                outputGradient.withUnsafePointer { dy in
                    inputGradient.withUnsafeMutablePointer { dx in
                        Threading.parallelFor(batch, costPerItem: 4 * outputChannels * reduction * outputPixels) { images, worker in
                            let strip = columnBase + cacheCount + worker * scratchCount
                            let dcol = strip + stripCount
                            let dW = partialBase + worker * partialCount
                            let dB = dW + weightCount
                            if let gradientWeights {
                                Winograd.convolve(
                                    dy + images.lowerBound * outputStride, count: images.count, imageStride: outputStride,
                                    geometry: gradientGeometry, weights: gradientWeights,
                                    output: dx + images.lowerBound * inputStride, outputStride: inputStride, scratch: strip)
                            }
                            for image in images {
                                let imageGradient = dy + image * outputStride
                                for channel in 0..<outputChannels {
                                    dB[channel] += sumOf(imageGradient + channel * outputPixels, count: outputPixels)
                                }
                                let imageInputGradient = dx + image * inputStride
                                if needsInputGradient && !direct && !flipped && !winogradGradient {
                                    imageInputGradient.update(repeating: 0, count: inputStride)
                                }
                                for group in 0..<groups {
                                    let groupInputPointer = x + image * inputStride + group * groupInput
                                    let groupGradient = imageGradient + group * groupOutputChannels * outputPixels
                                    let groupWeights = w + group * groupOutputChannels * reduction
                                    let groupWeightGradient = dW + group * groupOutputChannels * reduction
                                    let groupInputGradient = imageInputGradient + group * groupInput
                                    if direct {
                                        // dW_g += dY_g · xᵀ and dx_g = W_gᵀ · dY_g (1×1: the input is the column matrix).
                                        GEMM.multiply(
                                            transposeB: true, m: groupOutputChannels, n: reduction, k: outputPixels,
                                            a: groupGradient, lda: outputPixels, b: groupInputPointer, ldb: outputPixels,
                                            beta: 1, c: groupWeightGradient, ldc: reduction, precision: precision)
                                        if needsInputGradient {
                                            GEMM.multiply(
                                                transposeA: true, m: reduction, n: outputPixels, k: groupOutputChannels,
                                                a: groupWeights, lda: reduction, b: groupGradient, ldb: outputPixels,
                                                beta: 0, c: groupInputGradient, ldc: outputPixels, precision: precision, packedA: packedWeights)
                                        }
                                        continue
                                    }
                                    if cached {
                                        // dW_g[Og, Cg·k·k] += dY_g[Og, H′W′] · colᵀ[H′W′, Cg·k·k], one GEMM over the image.
                                        GEMM.multiply(
                                            transposeB: true, m: groupOutputChannels, n: reduction, k: outputPixels,
                                            a: groupGradient, lda: outputPixels,
                                            b: columnBase + (image * groups + group) * columnCount, ldb: outputPixels,
                                            beta: 1, c: groupWeightGradient, ldc: reduction, precision: precision)
                                    }
                                    for firstRow in Swift.stride(from: 0, to: outputHeight, by: rowsPerStrip) {
                                        let rows = firstRow..<min(firstRow + rowsPerStrip, outputHeight)
                                        let pixels = rows.count * outputWidth
                                        let stripGradient = groupGradient + firstRow * outputWidth
                                        if !cached {
                                            im2col(groupInputPointer, geometry: g, columns: strip, outputRows: rows)
                                            // dW_g += dY_g[:, strip] · colᵀ(strip)
                                            GEMM.multiply(
                                                transposeB: true, m: groupOutputChannels, n: reduction, k: pixels,
                                                a: stripGradient, lda: outputPixels,
                                                b: strip, ldb: pixels,
                                                beta: 1, c: groupWeightGradient, ldc: reduction, precision: precision)
                                        }
                                        guard needsInputGradient && !flipped && !winogradGradient else { continue }
                                        // dcol[Cg·k·k, strip] = W_gᵀ · dY_g[:, strip], folded back onto the image.
                                        GEMM.multiply(
                                            transposeA: true, m: reduction, n: pixels, k: groupOutputChannels,
                                            a: groupWeights, lda: reduction,
                                            b: stripGradient, ldb: outputPixels,
                                            beta: 0, c: dcol, ldc: pixels, precision: precision, packedA: packedWeights)
                                        col2im(dcol, geometry: g, image: groupInputGradient, outputRows: rows)
                                    }
                                }
                                if flipped {
                                    // dx[C, rows] = Wf[C, O·k·k] · im2col(dY)[O·k·k, rows], written in place.
                                    for firstRow in Swift.stride(from: 0, to: g.height, by: gradientRowsPerStrip) {
                                        let rows = firstRow..<min(firstRow + gradientRowsPerStrip, g.height)
                                        let pixels = rows.count * g.width
                                        im2col(imageGradient, geometry: gradientGeometry, columns: strip, outputRows: rows)
                                        GEMM.multiply(
                                            m: g.channels, n: pixels, k: flippedReduction,
                                            a: flippedWeightPointer, lda: flippedReduction,
                                            b: strip, ldb: pixels,
                                            beta: 0, c: imageInputGradient + firstRow * g.width, ldc: g.height * g.width, precision: precision, packedA: packedWeights)
                                    }
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
