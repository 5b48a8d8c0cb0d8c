import Tensors

/// Inverted dropout (Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html):
/// in training each element is zeroed with probability `rate` and the rest scaled by
/// `1 / (1 − rate)`; inference is the identity. Any shape. The mask comes from `generator`, so a
/// seeded run is reproducible.
public final class Dropout: Layer {
    public let rate: Float
    public var generator: SeededGenerator
    private var mask = Tensor.empty
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    public init(rate: Float, seed: UInt64 = 0) {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) outside [0, 1)")
        self.rate = rate
        generator = SeededGenerator(seed: seed)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        guard training, rate > 0 else {
            mask = .empty
            return input
        }
        let n = input.count
        mask.resize(to: input.shape)
        output.resize(to: input.shape)
        let keep = 1 / (1 - rate)
        let rate = rate
        var generator = generator
        input.withUnsafePointer { x in
            mask.withUnsafeMutablePointer { m in
                output.withUnsafeMutablePointer { y in
                    for i in 0..<n {
                        m[i] = generator.nextFloat() < rate ? 0 : keep
                        y[i] = x[i] * m[i]
                    }
                }
            }
        }
        self.generator = generator
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard !mask.isEmpty else { return outputGradient }
        precondition(outputGradient.count == mask.count, "Dropout.backward: gradient \(outputGradient.shape)")
        inputGradient.resize(to: outputGradient.shape)
        let n = mask.count
        outputGradient.withUnsafePointer { dy in
            mask.withUnsafePointer { m in
                inputGradient.withUnsafeMutablePointer { dx in
                    for i in 0..<n { dx[i] = dy[i] * m[i] }
                }
            }
        }
        return inputGradient
    }
}
