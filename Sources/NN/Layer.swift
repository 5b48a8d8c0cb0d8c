import Tensors

/// A trainable tensor with its gradient. Reference type: layers own it, optimizers update it in place.
public final class Parameter {
    /// A name for messages and checkpoints (e.g. `"weight"`, `"bias"`).
    public let name: String
    /// Every change to it (an optimizer step, a loaded checkpoint, a write through a pointer taken from
    /// it) advances `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Advances on every change to `value`: what a layer's cache derived from the weights (its packed
    /// bf16 copy) compares to know it is still current.
    public private(set) var version = 0
    /// Gradient of the loss with respect to `value`, written (not accumulated) by the owning
    /// layer's `backward`.
    public var gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradient = Tensor(shape: value.shape)
    }
}

/// Non-trainable state saved with the weights (BatchNorm's running statistics).
public final class Buffer {
    public let name: String
    public var value: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
    }
}

/// A differentiable layer over a batch: `forward` maps `[N, …]` to `[N, …]`, `backward` maps the
/// gradient of the loss with respect to the output to the gradient with respect to the input and
/// writes the gradients of `parameters`.
///
/// Contract (no autograd):
/// - `forward(_, training: true)` caches what `backward` needs; `backward` must follow before the
///   next training forward, and releases those caches.
/// - `forward(_, training: false)` is inference: running statistics, no dropout, nothing cached.
/// - Returned tensors are the layer's own buffers, overwritten by its next call: copy one to keep it.
/// - `parameters` and `buffers` always list the same objects in the same order (checkpoints and
///   optimizer state rely on it).
public protocol Layer: AnyObject {
    func forward(_ input: Tensor, training: Bool) -> Tensor
    func backward(_ outputGradient: Tensor) -> Tensor
    var parameters: [Parameter] { get }
    var buffers: [Buffer] { get }
    /// When false the layer may skip computing its input gradient (the first layer of a network);
    /// `backward` then returns an empty tensor.
    var needsInputGradient: Bool { get set }
    /// The arithmetic of the layer's matrix products; a container sets it on every layer it holds.
    /// Layers without matrix products ignore it (and read as fp32).
    var precision: Precision { get set }
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }
    public var needsInputGradient: Bool {
        get { true }
        set {}
    }
    public var precision: Precision {
        get { .fp32 }
        set {}
    }
    /// Inference forward pass.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input, training: false) }
    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// Layers applied one after another.
public final class Sequential: Layer {
    public let layers: [any Layer]

    /// One step of a training pass: a layer, or a BatchNorm with the ReLU after it.
    private enum TrainingStep {
        case layer(any Layer)
        case batchNormReLU(BatchNorm)
    }

    /// What training runs for `layers`, with the same outputs and gradients:
    /// - a BatchNorm directly followed by a ReLU runs as one pass (`BatchNorm.forward(_:training:relu:)`);
    /// - otherwise a ReLU directly followed by a MaxPool2D runs after it: max commutes with ReLU
    ///   (monotone, gradient 0 at 0), and the ReLU then touches only the pooled elements.
    /// Inference keeps the written order, fusing Conv2D [→ BatchNorm] [→ ReLU] into one pass.
    private let trainingSteps: [TrainingStep]

    public init(_ layers: [any Layer]) {
        self.layers = layers
        var steps = [TrainingStep]()
        var index = 0
        while index < layers.count {
            let layer = layers[index], next = index + 1 < layers.count ? layers[index + 1] : nil
            if let batchNorm = layer as? BatchNorm, next is ReLU {
                steps.append(.batchNormReLU(batchNorm))
                index += 2
            } else if layer is ReLU, let next = next as? MaxPool2D {
                steps += [.layer(next), .layer(layer)]
                index += 2
            } else {
                steps.append(.layer(layer))
                index += 1
            }
        }
        trainingSteps = steps
    }

    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        var x = input
        if training {
            for step in trainingSteps {
                switch step {
                case let .layer(layer): x = Self.run(layer, x, training: true)
                case let .batchNormReLU(batchNorm):
                    x = Profile.measure(.batchNorm) { batchNorm.forward(x, training: true, relu: true) }
                }
            }
            return x
        }
        var index = 0
        while index < layers.count {
            // Inference: Conv2D [→ BatchNorm] [→ ReLU] runs as one fused pass.
            if let convolution = layers[index] as? Conv2D {
                var next = index + 1
                let batchNorm = next < layers.count ? layers[next] as? BatchNorm : nil
                if batchNorm != nil { next += 1 }
                let relu = next < layers.count && layers[next] is ReLU
                if relu { next += 1 }
                if next > index + 1 {
                    x = convolution.forwardFused(x, batchNorm: batchNorm, relu: relu)
                    index = next
                    continue
                }
            }
            x = Self.run(layers[index], x, training: false)
            index += 1
        }
        return x
    }

    /// One layer's forward pass, timed under its kind when profiling is on.
    private static func run(_ layer: any Layer, _ x: Tensor, training: Bool) -> Tensor {
        guard let category = profileCategory(layer) else { return layer.forward(x, training: training) }
        return Profile.measure(category) { layer.forward(x, training: training) }
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        var gradient = outputGradient
        for step in trainingSteps.reversed() {
            // A layer that was told not to compute its input gradient returns an empty tensor:
            // nothing below it needs one either.
            if gradient.isEmpty { return gradient }
            let upstream = gradient
            switch step {
            case let .layer(layer):
                guard let category = Self.profileCategory(layer) else {
                    gradient = layer.backward(upstream)
                    continue
                }
                gradient = Profile.measure(category) { layer.backward(upstream) }
            case let .batchNormReLU(batchNorm):
                gradient = Profile.measure(.batchNorm) { batchNorm.backward(upstream) }
            }
        }
        return gradient
    }

    /// The kind of work a layer is, for `bench train --profile`; nil for a container (`Sequential`,
    /// `Residual`, `Ensemble`), whose layers are measured where they run.
    static func profileCategory(_ layer: any Layer) -> Profile.Category? {
        switch layer {
        case is Sequential, is Residual, is Ensemble: nil
        case is Conv2D: .convolution
        case is Dense: .dense
        case is BatchNorm: .batchNorm
        case is MaxPool2D, is AvgPool2D, is GlobalAvgPool2D: .pooling
        default: .elementwise
        }
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Buffer] { layers.flatMap(\.buffers) }

    /// bf16 when any layer computes in bf16.
    public var precision: Precision {
        get { layers.contains { $0.precision == .bf16 } ? .bf16 : .fp32 }
        set { for layer in layers { layer.precision = newValue } }
    }

    /// Setting `false` stops backpropagation at the first layer with parameters: that layer skips its
    /// input gradient, and the parameter-free layers before it (e.g. `Flatten`) are not visited.
    public var needsInputGradient: Bool {
        get { layers.first?.needsInputGradient ?? true }
        set {
            for layer in layers {
                layer.needsInputGradient = newValue
                if !layer.parameters.isEmpty { break }
            }
        }
    }
}

/// `[N, d1, d2, …] → [N, d1·d2·…]`, without copying.
public final class Flatten: Layer {
    private var inputShape: Shape = [0]

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        inputShape = input.shape
        return input.reshaped(to: [input.shape[0], input.shape.itemCount])
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        outputGradient.reshaped(to: inputShape)
    }
}

/// A residual block: `y = body(x) + shortcut(x)`, where the shortcut is the identity unless given
/// (a projection such as a strided 1×1 convolution when the shapes differ). He et al. 2016,
/// "Deep Residual Learning for Image Recognition", https://arxiv.org/abs/1512.03385.
public final class Residual: Layer {
    public let body: Sequential
    public let shortcut: Sequential?
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    public init(body: Sequential, shortcut: Sequential? = nil) {
        self.body = body
        self.shortcut = shortcut
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let main = body.forward(input, training: training)
        let skip = shortcut?.forward(input, training: training) ?? input
        precondition(main.shape == skip.shape, "residual: body \(main.shape) vs shortcut \(skip.shape)")
        output.resize(to: main.shape)
        let n = main.count
        main.withUnsafePointer { a in
            skip.withUnsafePointer { b in
                output.withUnsafeMutablePointer { y in
                    for i in 0..<n { y[i] = a[i] + b[i] }
                }
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let throughBody = body.backward(outputGradient)
        let throughShortcut = shortcut?.backward(outputGradient) ?? outputGradient
        inputGradient.resize(to: throughBody.shape)
        let n = throughBody.count
        throughBody.withUnsafePointer { a in
            throughShortcut.withUnsafePointer { b in
                inputGradient.withUnsafeMutablePointer { dx in
                    for i in 0..<n { dx[i] = a[i] + b[i] }
                }
            }
        }
        return inputGradient
    }

    public var parameters: [Parameter] { body.parameters + (shortcut?.parameters ?? []) }
    public var buffers: [Buffer] { body.buffers + (shortcut?.buffers ?? []) }

    public var precision: Precision {
        get { body.precision }
        set {
            body.precision = newValue
            shortcut?.precision = newValue
        }
    }
}

/// The mean of several networks' outputs on the same input: an ensemble of independently trained
/// models, whose averaged class scores are more accurate than any one member's (Dietterich 2000,
/// "Ensemble Methods in Machine Learning", https://doi.org/10.1007/3-540-45014-9_1; Lakshminarayanan
/// et al. 2017, https://arxiv.org/abs/1612.01474). `[N, …] → [N, …]`, every member giving one shape.
public final class Ensemble: Layer {
    public let members: [Sequential]
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var memberGradient = Tensor.empty

    /// - Parameter members: at least one network; parameters and buffers are theirs, in order.
    public init(members: [Sequential]) {
        precondition(!members.isEmpty, "an ensemble needs a member")
        self.members = members
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let scale = 1 / Float(members.count)
        for (index, member) in members.enumerated() {
            let y = member.forward(input, training: training)
            if index == 0 { output.resize(to: y.shape) }
            precondition(y.shape == output.shape, "ensemble: member \(index) gives \(y.shape), member 0 \(output.shape)")
            let n = y.count
            y.withUnsafePointer { a in
                output.withUnsafeMutablePointer { out in
                    if index == 0 {
                        for i in 0..<n { out[i] = scale * a[i] }
                    } else {
                        for i in 0..<n { out[i] += scale * a[i] }
                    }
                }
            }
        }
        return output
    }

    /// Each member receives `outputGradient / members`; the input gradient is the sum of theirs.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        let scale = 1 / Float(members.count)
        memberGradient.resize(to: outputGradient.shape)
        let n = outputGradient.count
        outputGradient.withUnsafePointer { g in
            memberGradient.withUnsafeMutablePointer { out in
                for i in 0..<n { out[i] = scale * g[i] }
            }
        }
        for (index, member) in members.enumerated() {
            let dx = member.backward(memberGradient)
            if dx.isEmpty { inputGradient = dx; continue }
            if index == 0 { inputGradient.resize(to: dx.shape) }
            let count = dx.count
            dx.withUnsafePointer { a in
                inputGradient.withUnsafeMutablePointer { out in
                    if index == 0 {
                        for i in 0..<count { out[i] = a[i] }
                    } else {
                        for i in 0..<count { out[i] += a[i] }
                    }
                }
            }
        }
        return inputGradient
    }

    public var parameters: [Parameter] { members.flatMap(\.parameters) }
    public var buffers: [Buffer] { members.flatMap(\.buffers) }

    public var needsInputGradient: Bool {
        get { members[0].needsInputGradient }
        set { for member in members { member.needsInputGradient = newValue } }
    }

    public var precision: Precision {
        get { members[0].precision }
        set { for member in members { member.precision = newValue } }
    }
}

/// Weight initialisation schemes.
public enum Initialization {
    /// He/Kaiming normal (He et al. 2015, https://arxiv.org/abs/1502.01852) for ReLU networks:
    /// `N(0, 2 / fanIn)`. The default for convolution and dense weights.
    public static func heNormal(shape: Shape, fanIn: Int, using generator: inout SeededGenerator) -> Tensor {
        Tensor.normal(shape: shape, standardDeviation: (2 / Float(max(1, fanIn))).squareRoot(), using: &generator)
    }

    /// PyTorch's default for `Conv2d`/`Linear` weights and biases: `U(−1/√fanIn, 1/√fanIn)`
    /// (kaiming_uniform with a = √5 gives the same bound for weights).
    public static func pytorchUniform(shape: Shape, fanIn: Int, using generator: inout SeededGenerator) -> Tensor {
        let bound = 1 / Float(max(1, fanIn)).squareRoot()
        return Tensor.uniform(shape: shape, in: -bound...bound, using: &generator)
    }
}

/// How a layer's weights start.
public enum WeightInitialization: String, Codable, Sendable {
    /// He/Kaiming normal weights, zero biases.
    case he
    /// PyTorch's default uniform weights and biases (for matching the reference recipe).
    case pytorch
}
