import Foundation
import Tensors

/// Batch normalisation over the channel axis (Ioffe & Szegedy 2015, "Batch Normalization:
/// Accelerating Deep Network Training by Reducing Internal Covariate Shift",
/// https://arxiv.org/abs/1502.03167).
///
/// Shapes: `[N, C, H, W]` (statistics over N·H·W, like PyTorch's `BatchNorm2d`) or `[N, C]`
/// (over N, like `BatchNorm1d`) → same shape. Parameters `scale` (γ) and `offset` (β), `[C]`.
/// Training: normalises with the batch mean and biased variance, and updates
/// `running ← (1 − momentum)·running + momentum·batch` (the running variance uses the unbiased
/// batch variance, as PyTorch). Inference: normalises with the running statistics.
/// Channels are split across the `Threading` workers. `forward(_:training:relu:)` also applies the
/// ReLU that follows (what `Sequential` runs in place of the pair).
public final class BatchNorm: Layer {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let scale: Parameter
    public let offset: Parameter
    public let runningMean: Buffer
    public let runningVariance: Buffer

    private var input = Tensor.empty
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var batchMean = [Float]()
    private var batchInverseDeviation = [Float]()
    /// Whether the last training forward applied the ReLU after the BatchNorm.
    private var appliedReLU = false

    /// - Parameters:
    ///   - channels: size of axis 1.
    ///   - momentum: weight of the current batch in the running statistics (PyTorch's 0.1).
    ///   - epsilon: added to the variance before the square root.
    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        scale = Parameter(name: "scale", value: Tensor(shape: [channels], repeating: 1))
        offset = Parameter(name: "offset", value: Tensor(shape: [channels]))
        runningMean = Buffer(name: "runningMean", value: Tensor(shape: [channels]))
        runningVariance = Buffer(name: "runningVariance", value: Tensor(shape: [channels], repeating: 1))
        batchMean = [Float](repeating: 0, count: channels)
        batchInverseDeviation = [Float](repeating: 0, count: channels)
    }

    public var parameters: [Parameter] { [scale, offset] }

    /// The inference transform as `y = x·scale + shift` per channel (running statistics).
    public func inferenceAffine() -> (scale: [Float], shift: [Float]) {
        var a = [Float](repeating: 0, count: channels), b = a
        for c in 0..<channels {
            a[c] = scale.value[c] / (runningVariance.value[c] + epsilon).squareRoot()
            b[c] = offset.value[c] - runningMean.value[c] * a[c]
        }
        return (a, b)
    }
    public var buffers: [Buffer] { [runningMean, runningVariance] }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        forward(input, training: training, relu: false)
    }

    /// BatchNorm, then with `relu` `max(0, ·)` in the same pass: the pair reads and writes each element
    /// once instead of twice, and in training keeps only its input, from which `backward` recomputes
    /// where the ReLU passed the gradient (bit for bit the ReLU layer's results).
    public func forward(_ input: Tensor, training: Bool, relu: Bool) -> Tensor {
        let shape = input.shape
        precondition((shape.rank == 4 || shape.rank == 2) && shape[1] == channels, "BatchNorm expects [N, \(channels), …], got \(shape)")
        let batch = shape[0]
        let plane = shape.rank == 4 ? shape[2] * shape[3] : 1
        let channels = channels, epsilon = epsilon, momentum = momentum
        let perChannel = batch * plane
        output.resize(to: shape)
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                scale.value.withUnsafePointer { gamma in
                    offset.value.withUnsafePointer { beta in
                        runningMean.value.withUnsafeMutablePointer { runMean in
                            runningVariance.value.withUnsafeMutablePointer { runVariance in
                                batchMean.withUnsafeMutableBufferPointer { meanBuffer in
                                    batchInverseDeviation.withUnsafeMutableBufferPointer { inverseBuffer in
                                        let means = meanBuffer.baseAddress!, inverses = inverseBuffer.baseAddress!
                                        Threading.parallelFor(channels, costPerItem: 3 * perChannel) { range, _ in
                                            for c in range {
                                                let mean: Float, inverse: Float
                                                if training {
                                                    // One pass: shifted sums in Float per plane, accumulated in Double.
                                                    let shift = x[c * plane]
                                                    var sum = 0.0, sumSquares = 0.0
                                                    for n in 0..<batch {
                                                        let (s, q) = shiftedSums(x + (n * channels + c) * plane, count: plane, shift: shift)
                                                        sum += Double(s)
                                                        sumSquares += Double(q)
                                                    }
                                                    let shiftedMean = sum / Double(perChannel)
                                                    let m = Float(shiftedMean + Double(shift))
                                                    let squares = Float(max(0, sumSquares - shiftedMean * sum))
                                                    let variance = squares / Float(perChannel)
                                                    mean = m
                                                    inverse = 1 / (variance + epsilon).squareRoot()
                                                    let unbiased = perChannel > 1 ? squares / Float(perChannel - 1) : variance
                                                    runMean[c] = (1 - momentum) * runMean[c] + momentum * m
                                                    runVariance[c] = (1 - momentum) * runVariance[c] + momentum * unbiased
                                                    means[c] = m
                                                    inverses[c] = inverse
                                                } else {
                                                    mean = runMean[c]
                                                    inverse = 1 / (runVariance[c] + epsilon).squareRoot()
                                                }
                                                let (a, b) = Self.transform(scale: gamma[c], offset: beta[c], mean: mean, inverse: inverse)
                                                for n in 0..<batch {
                                                    let offsetIndex = (n * channels + c) * plane
                                                    affineTransform(y + offsetIndex, x + offsetIndex, scale: a, shift: b, count: plane, relu: relu)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        self.input = training ? input : .empty
        appliedReLU = relu
        return output
    }

    /// `y = x·a + b` per channel for normalising with `mean` and `inverse` (1/σ). The backward pass
    /// recomputes the forward's `a` and `b` with it, so a fused ReLU's mask matches bit for bit.
    @inline(__always)
    private static func transform(scale: Float, offset: Float, mean: Float, inverse: Float) -> (a: Float, b: Float) {
        let a = scale * inverse
        return (a, offset - mean * a)
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(!input.isEmpty, "BatchNorm.backward without a training forward")
        let shape = input.shape
        precondition(outputGradient.shape == shape, "BatchNorm.backward: gradient \(outputGradient.shape) vs \(shape)")
        let batch = shape[0]
        let plane = shape.rank == 4 ? shape[2] * shape[3] : 1
        let channels = channels, appliedReLU = appliedReLU
        let perChannel = Float(batch * plane)
        inputGradient.resize(to: shape)
        scale.gradient.resize(to: [channels])
        offset.gradient.resize(to: [channels])
        input.withUnsafePointer { x in
            outputGradient.withUnsafePointer { dy in
                inputGradient.withUnsafeMutablePointer { dx in
                    scale.value.withUnsafePointer { gamma in
                        offset.value.withUnsafePointer { beta in
                            scale.gradient.withUnsafeMutablePointer { dGamma in
                                offset.gradient.withUnsafeMutablePointer { dBeta in
                                    batchMean.withUnsafeBufferPointer { means in
                                        batchInverseDeviation.withUnsafeBufferPointer { inverses in
                                            Threading.parallelFor(channels, costPerItem: 4 * batch * plane) { range, _ in
                                                for c in range {
                                                    let mean = means[c], inverse = inverses[c]
                                                    let forward = Self.transform(scale: gamma[c], offset: beta[c], mean: mean, inverse: inverse)
                                                    let relu = appliedReLU ? ReLUAfterAffine(scale: forward.a, shift: forward.b) : nil
                                                    // Σ dy and Σ dy·x̂ over the channel (dy zero where the ReLU passed nothing).
                                                    var sumGradient: Float = 0, sumGradientNormalized: Float = 0
                                                    for n in 0..<batch {
                                                        let offsetIndex = (n * channels + c) * plane
                                                        let (a, b) = sumAndCenteredDot(dy + offsetIndex, x + offsetIndex, count: plane, mean: mean, relu: relu)
                                                        sumGradient += a
                                                        sumGradientNormalized += b
                                                    }
                                                    sumGradientNormalized *= inverse
                                                    dBeta[c] = sumGradient
                                                    dGamma[c] = sumGradientNormalized
                                                    // dx = γ·σ⁻¹ / M · (M·dy − Σdy − x̂·Σ(dy·x̂))
                                                    // Folded into dx = a·dy + b·x + c per element.
                                                    let k = gamma[c] * inverse / perChannel
                                                    let a = k * perChannel
                                                    let b = -k * inverse * sumGradientNormalized
                                                    let constant = -k * sumGradient - b * mean
                                                    for n in 0..<batch {
                                                        let offsetIndex = (n * channels + c) * plane
                                                        affineCombination(dx + offsetIndex, dy + offsetIndex, a, x + offsetIndex, b,
                                                                          constant: constant, count: plane, relu: relu)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        input = .empty
        return inputGradient
    }
}
