import Foundation
import Tensors

/// Shared elementwise machinery: `y = f(x)` forward, `dx = dy · f′` backward, split across workers.
/// Each activation keeps its own output and input-gradient buffers.
public class ElementwiseActivation {
    var input = Tensor.empty
    var output = Tensor.empty
    var inputGradient = Tensor.empty

    init() {}

    @inline(__always)
    func apply(_ input: Tensor, training: Bool, _ function: (Float) -> Float) -> Tensor {
        output.resize(to: input.shape)
        let n = input.count
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                Threading.parallelFor(n, costPerItem: 4, minimumWork: 1 << 17) { range, _ in
                    for i in range { y[i] = function(x[i]) }
                }
            }
        }
        self.input = training ? input : .empty
        return output
    }

    /// `dx = dy · derivative(x, y)`.
    @inline(__always)
    func propagate(_ outputGradient: Tensor, _ derivative: (_ x: Float, _ y: Float) -> Float) -> Tensor {
        precondition(outputGradient.count == output.count, "activation backward: gradient \(outputGradient.shape) vs \(output.shape)")
        inputGradient.resize(to: outputGradient.shape)
        let n = outputGradient.count
        let source = input.isEmpty ? output : input
        source.withUnsafePointer { x in
            output.withUnsafePointer { y in
                outputGradient.withUnsafePointer { dy in
                    inputGradient.withUnsafeMutablePointer { dx in
                        Threading.parallelFor(n, costPerItem: 4, minimumWork: 1 << 17) { range, _ in
                            for i in range { dx[i] = dy[i] * derivative(x[i], y[i]) }
                        }
                    }
                }
            }
        }
        input = .empty
        return inputGradient
    }
}

/// `max(0, x)`. Any shape. The gradient at exactly 0 is taken as 0 (as PyTorch).
/// Plain loops rather than the shared closure machinery, so they vectorise.
public final class ReLU: ElementwiseActivation, Layer {
    public override init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        output.resize(to: input.shape)
        let n = input.count
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                Threading.parallelFor(n, costPerItem: 1, minimumWork: 1 << 18) { range, _ in
                    var i = range.lowerBound
                    let zero = SIMD8<Float>()
                    while i + 8 <= range.upperBound {
                        let value = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(y + i).storeBytes(of: value.replacing(with: zero, where: value .<= zero), as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < range.upperBound {
                        y[i] = x[i] > 0 ? x[i] : 0
                        i += 1
                    }
                }
            }
        }
        // Only the output is needed for the gradient: the input is not kept.
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(outputGradient.count == output.count, "ReLU backward: gradient \(outputGradient.shape) vs \(output.shape)")
        inputGradient.resize(to: outputGradient.shape)
        let n = outputGradient.count
        output.withUnsafePointer { y in
            outputGradient.withUnsafePointer { dy in
                inputGradient.withUnsafeMutablePointer { dx in
                    Threading.parallelFor(n, costPerItem: 1, minimumWork: 1 << 18) { range, _ in
                        // Branch-free (SIMD select): the sign pattern is random, a branch mispredicts half the time.
                        var i = range.lowerBound
                        let zero = SIMD8<Float>()
                        while i + 8 <= range.upperBound {
                            let output = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                            let gradient = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(dx + i).storeBytes(
                                of: gradient.replacing(with: zero, where: output .<= zero), as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < range.upperBound {
                            dx[i] = y[i] > 0 ? dy[i] : 0
                            i += 1
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}

/// SiLU (swish): `x · σ(x)` (Elfwing et al. 2018, https://arxiv.org/abs/1702.03118). Any shape.
public final class SiLU: ElementwiseActivation, Layer {
    public override init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        apply(input, training: training) { x in x / (1 + Foundation.exp(-x)) }
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        propagate(outputGradient) { x, _ in
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 + x * (1 - s))
        }
    }
}

/// GELU, exact form `x · Φ(x)` with the normal CDF via `erf` (Hendrycks & Gimpel 2016,
/// https://arxiv.org/abs/1606.08415; PyTorch's default `approximate='none'`). Any shape.
public final class GELU: ElementwiseActivation, Layer {
    public override init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        apply(input, training: training) { x in 0.5 * x * (1 + Foundation.erf(x * 0.70710678118654752)) }
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        propagate(outputGradient) { x, _ in
            let cdf = 0.5 * (1 + Foundation.erf(x * 0.70710678118654752))
            let pdf = Foundation.exp(-0.5 * x * x) * 0.39894228040143268
            return cdf + x * pdf
        }
    }
}
