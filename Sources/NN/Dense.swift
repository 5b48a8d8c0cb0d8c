import Tensors

/// A fully connected layer: `y = x · Wᵀ + b`.
///
/// Shapes: input `[N, inputSize]` → output `[N, outputSize]`; weight `[outputSize, inputSize]`
/// (as PyTorch's `Linear` and MLX), bias `[outputSize]`. Rows of the batch (forward, input
/// gradient) and rows of the weight gradient are split across the `Threading` workers.
public final class Dense: Layer {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var needsInputGradient = true
    /// The arithmetic of this layer's matrix products (`Precision`), in training and inference.
    public var precision = Precision.fp32

    private var input = Tensor.empty
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    /// bf16: Wᵀ packed for the forward pass, and the `weight.version` it was packed from.
    private let packedWeights = PackedOperand(side: .right)
    private var packedVersion: Int?

    /// - Parameters:
    ///   - inputSize: features per input row.
    ///   - outputSize: features per output row.
    ///   - useBias: whether to add a learned bias.
    ///   - initialization: `.he` (default) or `.pytorch`.
    ///   - generator: source of the initial weights.
    public init(
        inputSize: Int, outputSize: Int, useBias: Bool = true, initialization: WeightInitialization = .he,
        generator: inout SeededGenerator
    ) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        switch initialization {
        case .he:
            weight = Parameter(
                name: "weight", value: Initialization.heNormal(shape: [outputSize, inputSize], fanIn: inputSize, using: &generator))
            bias = useBias ? Parameter(name: "bias", value: Tensor(shape: [outputSize])) : nil
        case .pytorch:
            weight = Parameter(
                name: "weight", value: Initialization.pytorchUniform(shape: [outputSize, inputSize], fanIn: inputSize, using: &generator))
            bias = useBias
                ? Parameter(name: "bias", value: Initialization.pytorchUniform(shape: [outputSize], fanIn: inputSize, using: &generator))
                : nil
        }
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.shape.rank == 2 && input.shape[1] == inputSize, "Dense expects [N, \(inputSize)], got \(input.shape)")
        let batch = input.shape[0]
        output.resize(to: [batch, outputSize])
        let inputSize = inputSize, outputSize = outputSize, precision = precision
        let packedWeights = precision == .bf16 ? currentPackedWeights() : nil
        input.withUnsafePointer { x in
            weight.value.withUnsafePointer { w in
                output.withUnsafeMutablePointer { y in
                    let biasValues = bias?.value.storage
                    Threading.parallelFor(batch, costPerItem: 2 * inputSize * outputSize) { rows, _ in
                        // y[rows, outputSize] = x[rows, inputSize] · Wᵀ[inputSize, outputSize]
                        GEMM.multiply(
                            transposeB: true,
                            m: rows.count, n: outputSize, k: inputSize,
                            a: x + rows.lowerBound * inputSize, lda: inputSize,
                            b: w, ldb: inputSize,
                            beta: 0,
                            c: y + rows.lowerBound * outputSize, ldc: outputSize, precision: precision, packedB: packedWeights)
                        if let biasValues {
                            for row in rows {
                                let line = y + row * outputSize
                                for j in 0..<outputSize { line[j] += biasValues[j] }
                            }
                        }
                    }
                }
            }
        }
        self.input = training ? input : .empty
        return output
    }

    /// bf16: W packed as the right operand of `x · Wᵀ`, packed again only when the weights changed. Packed
    /// by every product instead, it cost more than the product at a server's batches of a few images.
    private func currentPackedWeights() -> PackedOperand {
        if packedVersion != weight.version {
            let inputSize = inputSize, outputSize = outputSize
            weight.value.withUnsafePointer { packedWeights.pack(transpose: true, rows: inputSize, columns: outputSize, $0, stride: inputSize) }
            packedVersion = weight.version
        }
        return packedWeights
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(!input.isEmpty, "Dense.backward without a training forward")
        let batch = input.shape[0]
        precondition(outputGradient.shape == [batch, outputSize], "Dense.backward: gradient \(outputGradient.shape)")
        let inputSize = inputSize, outputSize = outputSize, precision = precision
        weight.gradient.resize(to: weight.value.shape)
        if let bias { bias.gradient.resize(to: bias.value.shape) }
        input.withUnsafePointer { x in
            outputGradient.withUnsafePointer { dy in
                weight.gradient.withUnsafeMutablePointer { dW in
                    // dW[outputs, inputSize] = dYᵀ[outputs, N] · x[N, inputSize], split by output rows.
                    Threading.parallelFor(outputSize, costPerItem: 2 * batch * inputSize) { outputs, _ in
                        GEMM.multiply(
                            transposeA: true,
                            m: outputs.count, n: inputSize, k: batch,
                            a: dy + outputs.lowerBound, lda: outputSize,
                            b: x, ldb: inputSize,
                            beta: 0,
                            c: dW + outputs.lowerBound * inputSize, ldc: inputSize, precision: precision)
                    }
                }
                if let bias {
                    bias.gradient.withUnsafeMutablePointer { dB in
                        dB.update(repeating: 0, count: outputSize)
                        for row in 0..<batch {
                            let line = dy + row * outputSize
                            for j in 0..<outputSize { dB[j] += line[j] }
                        }
                    }
                }
            }
        }
        input = .empty
        guard needsInputGradient else { return .empty }
        inputGradient.resize(to: [batch, inputSize])
        outputGradient.withUnsafePointer { dy in
            weight.value.withUnsafePointer { w in
                inputGradient.withUnsafeMutablePointer { dx in
                    // dx[rows, inputSize] = dY[rows, outputSize] · W[outputSize, inputSize]
                    Threading.parallelFor(batch, costPerItem: 2 * inputSize * outputSize) { rows, _ in
                        GEMM.multiply(
                            m: rows.count, n: inputSize, k: outputSize,
                            a: dy + rows.lowerBound * outputSize, lda: outputSize,
                            b: w, ldb: inputSize,
                            beta: 0,
                            c: dx + rows.lowerBound * inputSize, ldc: inputSize, precision: precision)
                    }
                }
            }
        }
        return inputGradient
    }
}
