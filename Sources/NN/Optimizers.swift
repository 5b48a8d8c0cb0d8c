import Foundation
import Tensors

/// Updates parameters from their gradients. State (momentum, moments) is kept per parameter in the
/// fixed order of `Layer.parameters`; always pass the same list.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// One update of every parameter from its current gradient.
    func step(_ parameters: [Parameter])
}

/// Stochastic gradient descent with optional momentum, Nesterov momentum and decoupled weight decay.
///
/// Per step (PyTorch's formulation of momentum): `p ← p − lr·wd·p` (decoupled weight decay,
/// Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101), `v ← μ·v + g` (`v = g` at the first
/// step), then `p ← p − lr·(g + μ·v)` with Nesterov or `p ← p − lr·v` without.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    private var velocities: [[Float]] = []

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        let first = velocities.isEmpty
        if first { velocities = parameters.map { [Float](repeating: 0, count: momentum > 0 ? $0.value.count : 0) } }
        precondition(velocities.count == parameters.count, "SGD.step: parameter list changed")
        let lr = learningRate, mu = momentum, decay = 1 - learningRate * weightDecay, nesterov = nesterov
        for (index, parameter) in parameters.enumerated() {
            let n = parameter.value.count
            parameter.gradient.withUnsafePointer { g in
                parameter.value.withUnsafeMutablePointer { p in
                    if decay != 1 { for i in 0..<n { p[i] *= decay } }
                    guard mu > 0 else {
                        for i in 0..<n { p[i] -= lr * g[i] }
                        return
                    }
                    velocities[index].withUnsafeMutableBufferPointer { vb in
                        let v = vb.baseAddress!
                        for i in 0..<n {
                            v[i] = first ? g[i] : mu * v[i] + g[i]
                            p[i] -= lr * (nesterov ? g[i] + mu * v[i] : v[i])
                        }
                    }
                }
            }
        }
    }
}

/// Adam (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980), with bias-corrected moments:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − lr·m̂ / (√v̂ + ε)`. With `decoupledWeightDecay`
/// it is AdamW (Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101): `p ← p·(1 − lr·wd)` first.
public class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let decoupledWeightDecay: Float
    public private(set) var stepCount = 0
    private var firstMoments: [[Float]] = []
    private var secondMoments: [[Float]] = []

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        decoupledWeightDecay = 0
    }

    init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, decoupledWeightDecay: Float) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public func step(_ parameters: [Parameter]) {
        if firstMoments.isEmpty {
            firstMoments = parameters.map { [Float](repeating: 0, count: $0.value.count) }
            secondMoments = firstMoments
        }
        precondition(firstMoments.count == parameters.count, "Adam.step: parameter list changed")
        stepCount += 1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(stepCount)))
        let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(stepCount)))
        let stepSize = learningRate / correction1
        let inverseRootCorrection2 = 1 / correction2.squareRoot()
        let decay = 1 - learningRate * decoupledWeightDecay
        for (index, parameter) in parameters.enumerated() {
            let n = parameter.value.count
            parameter.gradient.withUnsafePointer { g in
                parameter.value.withUnsafeMutablePointer { p in
                    firstMoments[index].withUnsafeMutableBufferPointer { mb in
                        secondMoments[index].withUnsafeMutableBufferPointer { vb in
                            let m = mb.baseAddress!, v = vb.baseAddress!
                            // Each weight's update is independent: the workers take disjoint ranges.
                            Threading.parallelFor(n, costPerItem: 8) { range, _ in
                                let i = range.lowerBound
                                Self.update(p + i, gradient: g + i, firstMoment: m + i, secondMoment: v + i, count: range.count,
                                            decay: decay, beta1: b1, beta2: b2, stepSize: stepSize,
                                            inverseRootCorrection2: inverseRootCorrection2, epsilon: eps)
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Adam {
    /// One update of `count` weights, 8 lanes at a time (a scalar loop ran on the trainer's critical
    /// path while the other workers waited): `p *= decay`, then the moments, then PyTorch's
    /// `p −= lr/c₁ · m / (√v / √c₂ + ε)`. The last `count % 8` weights go through the same lanes,
    /// padded with zeros (which stay finite: m = 0 over √0·r + ε).
    @inline(__always)
    static func update(_ p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, firstMoment m: UnsafeMutablePointer<Float>,
                       secondMoment v: UnsafeMutablePointer<Float>, count: Int, decay: Float, beta1: Float, beta2: Float,
                       stepSize: Float, inverseRootCorrection2: Float, epsilon: Float) {
        typealias Lanes = SIMD8<Float>
        let d = Lanes(repeating: decay), b1 = Lanes(repeating: beta1), b2 = Lanes(repeating: beta2)
        let c1 = Lanes(repeating: 1 - beta1), c2 = Lanes(repeating: 1 - beta2)
        let size = Lanes(repeating: stepSize), r = Lanes(repeating: inverseRootCorrection2), eps = Lanes(repeating: epsilon)
        func lanes(_ p: Lanes, _ g: Lanes, _ m: Lanes, _ v: Lanes) -> (p: Lanes, m: Lanes, v: Lanes) {
            let decayed = decay != 1 ? p * d : p
            let mv = b1 * m + c1 * g
            let vv = b2 * v + c2 * g * g
            return (decayed - size * mv / (vv.squareRoot() * r + eps), mv, vv)
        }
        func load(_ x: UnsafePointer<Float>, _ i: Int) -> Lanes { UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self) }
        func store(_ value: Lanes, _ x: UnsafeMutablePointer<Float>, _ i: Int) { UnsafeMutableRawPointer(x + i).storeBytes(of: value, as: Lanes.self) }
        var i = 0
        while i + 8 <= count {
            let next = lanes(load(p, i), load(g, i), load(m, i), load(v, i))
            store(next.m, m, i)
            store(next.v, v, i)
            store(next.p, p, i)
            i += 8
        }
        guard i < count else { return }
        let tail = i..<count
        func padded(_ x: UnsafePointer<Float>) -> Lanes {
            var lanes = Lanes()
            for j in tail { lanes[j - i] = x[j] }
            return lanes
        }
        let next = lanes(padded(p), padded(g), padded(m), padded(v))
        for j in tail {
            p[j] = next.p[j - i]
            m[j] = next.m[j - i]
            v[j] = next.v[j - i]
        }
    }
}

/// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101).
public final class AdamW: Adam {
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2) {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: weightDecay)
    }
}

/// Scales all gradients together so their global L2 norm is at most `maximumNorm`
/// (Pascanu et al. 2013, https://arxiv.org/abs/1211.5063). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maximumNorm: Float) -> Float {
    let norm = Float(parameters.reduce(0.0) { $0 + $1.gradient.squaredNorm() }.squareRoot())
    if norm > maximumNorm && norm > 0 {
        let factor = maximumNorm / (norm + 1e-6)
        for parameter in parameters { parameter.gradient.scale(by: factor) }
    }
    return norm
}
