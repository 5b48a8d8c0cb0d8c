import Foundation
import Tensors

/// One layer of an `ArchitectureSpec`, encoded as a JSON object with a `"type"` key, e.g.
/// `{"type": "conv2d", "filters": 32, "kernelSize": 3}`, `{"type": "relu"}`,
/// `{"type": "residual", "body": [ … ], "shortcut": [ … ]}`.
public indirect enum LayerSpec: Equatable, Sendable {
    /// Same-padded convolution; `groups == input channels == filters` is depthwise.
    case conv2d(filters: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1, bias: Bool = true)
    /// Fully connected layer; a `[C, H, W]` input is flattened first.
    case dense(units: Int, bias: Bool = true)
    case batchNorm(momentum: Float = 0.1, epsilon: Float = 1e-5)
    case relu
    case silu
    case gelu
    case maxPool(size: Int, stride: Int? = nil)
    case avgPool(size: Int, stride: Int? = nil)
    case globalAvgPool
    case dropout(rate: Float)
    case flatten
    /// `body(x) + shortcut(x)`; without `shortcut` the identity is used when shapes match, and a
    /// 1×1 convolution (stride matching the body's) + BatchNorm otherwise.
    case residual(body: [LayerSpec], shortcut: [LayerSpec]? = nil)
    /// The mean of the members' outputs on the same input (`Ensemble`); every member ends in the
    /// same shape.
    case ensemble(members: [[LayerSpec]])
}

/// A versioned, serialisable description of a network: what the architecture search generates and
/// what a checkpoint stores. `build(seed:)` makes the layers; `parameterCount` and
/// `forwardFLOPsPerImage` are computed from the description alone.
public struct ArchitectureSpec: Codable, Equatable, Sendable {
    /// The format version this build writes and reads.
    public static let currentVersion = 1

    public var version: Int
    public var name: String
    /// Input image shape `[channels, height, width]`.
    public var inputShape: [Int]
    public var classes: Int
    /// Weight initialisation; He by default.
    public var initialization: WeightInitialization
    public var layers: [LayerSpec]

    public init(name: String, inputShape: [Int], classes: Int, initialization: WeightInitialization = .he, layers: [LayerSpec]) {
        version = Self.currentVersion
        self.name = name
        self.inputShape = inputShape
        self.classes = classes
        self.initialization = initialization
        self.layers = layers
    }

    enum CodingKeys: String, CodingKey { case version, name, inputShape, classes, initialization, layers }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        guard version >= 1 && version <= Self.currentVersion else {
            throw NNError.invalidArchitecture("version \(version) not supported (this build reads 1…\(Self.currentVersion))")
        }
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? "unnamed"
        inputShape = try container.decode([Int].self, forKey: .inputShape)
        classes = try container.decode(Int.self, forKey: .classes)
        initialization = try container.decodeIfPresent(WeightInitialization.self, forKey: .initialization) ?? .he
        layers = try container.decode([LayerSpec].self, forKey: .layers)
    }

    /// JSON text (sorted keys, stable across runs).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(json: Data) throws -> ArchitectureSpec {
        try JSONDecoder().decode(ArchitectureSpec.self, from: json)
    }

    // MARK: Analysis

    /// Per-image statistics of one layer list applied to `shape`.
    private struct Analysis {
        var shape: [Int]
        var parameters = 0
        var flops = 0
    }

    /// Walks the layers, checking shapes; FLOPs count 2 per multiply-add of convolutions and dense
    /// layers (the convention of the reference figures; BatchNorm, activations and pooling excluded).
    private static func analyse(_ layers: [LayerSpec], from shape: [Int]) throws -> Analysis {
        var result = Analysis(shape: shape)
        for layer in layers {
            let s = result.shape
            try checkBounds(layer, input: s)
            switch layer {
            case let .conv2d(filters, kernelSize, stride, groups, bias):
                guard s.count == 3 else { throw NNError.invalidArchitecture("conv2d needs a [C, H, W] input, got \(s)") }
                guard filters > 0, kernelSize > 0, stride > 0, groups > 0, s[0] % groups == 0, filters % groups == 0 else {
                    throw NNError.invalidArchitecture("conv2d \(filters) filters, kernel \(kernelSize), stride \(stride), groups \(groups) on \(s)")
                }
                let padding = (kernelSize - 1) / 2
                let height = (s[1] + 2 * padding - kernelSize) / stride + 1, width = (s[2] + 2 * padding - kernelSize) / stride + 1
                guard height > 0, width > 0 else { throw NNError.invalidArchitecture("conv2d kernel \(kernelSize) too large for \(s)") }
                guard let weights = product(filters, s[0] / groups, kernelSize, kernelSize), weights <= maxActivationElements,
                      let work = product(2, weights, height, width), result.flops <= Int.max / 2 - work else {
                    throw NNError.invalidArchitecture("conv2d \(filters) filters, kernel \(kernelSize) on \(s) is too large")
                }
                result.parameters += weights + (bias ? filters : 0)
                result.flops += work
                result.shape = [filters, height, width]
            case let .dense(units, bias):
                guard units > 0 else { throw NNError.invalidArchitecture("dense with \(units) units") }
                let inputs = s.reduce(1, *)
                result.parameters += units * inputs + (bias ? units : 0)
                result.flops += 2 * units * inputs
                result.shape = [units]
            case .batchNorm:
                result.parameters += 2 * s[0]
            case .relu, .silu, .gelu:
                break
            case let .maxPool(size, stride), let .avgPool(size, stride):
                guard s.count == 3 else { throw NNError.invalidArchitecture("pooling needs a [C, H, W] input, got \(s)") }
                let step = stride ?? size
                guard size > 0, step > 0, s[1] >= size, s[2] >= size else {
                    throw NNError.invalidArchitecture("pooling window \(size) stride \(step) on \(s)")
                }
                result.shape = [s[0], (s[1] - size) / step + 1, (s[2] - size) / step + 1]
            case .globalAvgPool:
                guard s.count == 3 else { throw NNError.invalidArchitecture("globalAvgPool needs a [C, H, W] input, got \(s)") }
                result.shape = [s[0]]
            case let .dropout(rate):
                guard rate >= 0 && rate < 1 else { throw NNError.invalidArchitecture("dropout rate \(rate)") }
            case .flatten:
                result.shape = [s.reduce(1, *)]
            case let .residual(body, shortcut):
                let main = try analyse(body, from: s)
                let skip = try analyse(shortcut ?? projection(from: s, to: main.shape), from: s)
                guard main.shape == skip.shape else {
                    throw NNError.invalidArchitecture("residual body gives \(main.shape) but shortcut gives \(skip.shape)")
                }
                result.parameters += main.parameters + skip.parameters
                result.flops += main.flops + skip.flops
                result.shape = main.shape
            case let .ensemble(members):
                guard (1...maxEnsembleMembers).contains(members.count) else {
                    throw NNError.invalidArchitecture("an ensemble has 1 to \(maxEnsembleMembers) members, got \(members.count)")
                }
                let analysed = try members.map { try analyse($0, from: s) }
                guard analysed.allSatisfy({ $0.shape == analysed[0].shape }) else {
                    throw NNError.invalidArchitecture("ensemble members give the shapes \(analysed.map(\.shape)); they must agree")
                }
                // Sums of bounded members, checked: a description read back must not overflow `Int`.
                for member in analysed {
                    guard result.parameters <= Int.max / 2 - member.parameters, result.flops <= Int.max / 2 - member.flops else {
                        throw NNError.invalidArchitecture("ensemble of \(members.count) members is too large")
                    }
                    result.parameters += member.parameters
                    result.flops += member.flops
                }
                result.shape = analysed[0].shape
            }
        }
        return result
    }

    /// The largest value of any size in a description (channels, units, kernel, stride, image side),
    /// and of any activation's element count per image: a checkpoint or search log read back is
    /// refused with a reason instead of overflowing `Int` or exhausting memory.
    static let maxDimension = 1 << 16
    static let maxActivationElements = 1 << 28
    /// The most members of an ensemble layer.
    static let maxEnsembleMembers = 64

    private static func checkBounds(_ layer: LayerSpec, input s: [Int]) throws {
        let sizes: [Int]
        switch layer {
        case let .conv2d(filters, kernelSize, stride, groups, _): sizes = [filters, kernelSize, stride, groups]
        case let .dense(units, _): sizes = [units]
        case let .maxPool(size, stride), let .avgPool(size, stride): sizes = [size, stride ?? size]
        default: sizes = []
        }
        guard sizes.allSatisfy({ $0 <= maxDimension }) else {
            throw NNError.invalidArchitecture("a size of \(layer) exceeds \(maxDimension)")
        }
        guard !s.isEmpty, s.allSatisfy({ $0 > 0 }) else { throw NNError.invalidArchitecture("layer input shape \(s) is empty") }
        guard let elements = product(s), elements <= maxActivationElements else {
            throw NNError.invalidArchitecture("layer input \(s) exceeds \(maxActivationElements) values per image")
        }
        if case let .dense(units, _) = layer, (product(units, elements) ?? .max) > maxActivationElements {
            throw NNError.invalidArchitecture("dense layer of \(units) units on \(elements) inputs exceeds \(maxActivationElements) weights")
        }
    }

    /// The product of `values`, or `nil` when it overflows `Int`.
    private static func product(_ values: Int...) -> Int? { product(values) }
    private static func product(_ values: [Int]) -> Int? {
        var result = 1
        for value in values {
            let (next, overflow) = result.multipliedReportingOverflow(by: value)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The automatic shortcut of a residual block: identity, or 1×1 conv + BatchNorm.
    private static func projection(from input: [Int], to output: [Int]) throws -> [LayerSpec] {
        if input == output { return [] }
        guard input.count == 3, output.count == 3, output[1] > 0, input[1] % output[1] == 0 || input[1] == output[1] else {
            throw NNError.invalidArchitecture("residual cannot project \(input) to \(output)")
        }
        let stride = max(1, (input[1] + output[1] - 1) / output[1])
        return [.conv2d(filters: output[0], kernelSize: 1, stride: stride, bias: false), .batchNorm()]
    }

    private func analysis() throws -> Analysis {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 && $0 <= Self.maxDimension }) else {
            throw NNError.invalidArchitecture("inputShape must be [channels, height, width], got \(inputShape)")
        }
        let result = try Self.analyse(layers, from: inputShape)
        guard result.shape == [classes] else {
            throw NNError.invalidArchitecture("network ends with shape \(result.shape), expected [\(classes)] class scores")
        }
        return result
    }

    /// Throws `NNError.invalidArchitecture` unless the layers fit together and end in `classes` scores.
    public func validate() throws { _ = try analysis() }
    /// Number of trainable parameters.
    public func parameterCount() throws -> Int { try analysis().parameters }
    /// Forward FLOPs per image (2 per multiply-add of convolutions and dense layers).
    public func forwardFLOPsPerImage() throws -> Int { try analysis().flops }

    /// One network averaging the class scores of `members` (`LayerSpec.ensemble`), which must share
    /// their input shape, classes and initialisation. Its weights are the members' in order, so a
    /// checkpoint of `Ensemble(members:)` built from the members' trained networks loads into it.
    /// - Throws: `NNError.invalidArchitecture` when there is no member or the members differ.
    public static func ensemble(_ members: [ArchitectureSpec], name: String) throws -> ArchitectureSpec {
        guard let first = members.first else { throw NNError.invalidArchitecture("an ensemble needs a member") }
        guard members.allSatisfy({ $0.inputShape == first.inputShape && $0.classes == first.classes && $0.initialization == first.initialization })
        else { throw NNError.invalidArchitecture("ensemble members must share input shape, classes and initialisation") }
        let spec = ArchitectureSpec(name: name, inputShape: first.inputShape, classes: first.classes, initialization: first.initialization,
                                    layers: [.ensemble(members: members.map(\.layers))])
        try spec.validate()
        return spec
    }

    // MARK: Building

    /// Builds the network, initialised from `seed` (dropout masks are seeded from it too), computing
    /// its matrix products in `precision`. The first layer does not compute an input gradient.
    public func build(seed: UInt64 = 0, precision: Precision = .fp32) throws -> Sequential {
        _ = try analysis()
        var generator = SeededGenerator(seed: seed)
        var counter: UInt64 = 0
        let network = try Self.build(layers, from: inputShape, initialization: initialization, generator: &generator, counter: &counter).network
        network.needsInputGradient = false
        network.precision = precision
        return network
    }

    private static func build(
        _ specs: [LayerSpec], from shape: [Int], initialization: WeightInitialization,
        generator: inout SeededGenerator, counter: inout UInt64
    ) throws -> (network: Sequential, shape: [Int]) {
        var layers: [any Layer] = []
        var shape = shape
        for spec in specs {
            let next = try analyse([spec], from: shape).shape
            switch spec {
            case let .conv2d(filters, kernelSize, stride, groups, bias):
                layers.append(Conv2D(
                    inputChannels: shape[0], outputChannels: filters, kernelSize: kernelSize, stride: stride,
                    groups: groups, useBias: bias, initialization: initialization, generator: &generator))
            case let .dense(units, bias):
                if shape.count != 1 { layers.append(Flatten()) }
                layers.append(Dense(
                    inputSize: shape.reduce(1, *), outputSize: units, useBias: bias, initialization: initialization,
                    generator: &generator))
            case let .batchNorm(momentum, epsilon):
                layers.append(BatchNorm(channels: shape[0], momentum: momentum, epsilon: epsilon))
            case .relu: layers.append(ReLU())
            case .silu: layers.append(SiLU())
            case .gelu: layers.append(GELU())
            case let .maxPool(size, stride): layers.append(MaxPool2D(kernelSize: size, stride: stride))
            case let .avgPool(size, stride): layers.append(AvgPool2D(kernelSize: size, stride: stride))
            case .globalAvgPool: layers.append(GlobalAvgPool2D())
            case let .dropout(rate):
                counter += 1
                layers.append(Dropout(rate: rate, seed: generator.next() &+ counter))
            case .flatten: layers.append(Flatten())
            case let .residual(body, shortcut):
                let main = try build(body, from: shape, initialization: initialization, generator: &generator, counter: &counter)
                let shortcutSpecs = try shortcut ?? projection(from: shape, to: main.shape)
                let skip = shortcutSpecs.isEmpty
                    ? nil
                    : try build(shortcutSpecs, from: shape, initialization: initialization, generator: &generator, counter: &counter).network
                layers.append(Residual(body: main.network, shortcut: skip))
            case let .ensemble(members):
                let built = try members.map { try build($0, from: shape, initialization: initialization, generator: &generator, counter: &counter) }
                layers.append(Ensemble(members: built.map(\.network)))
            }
            shape = next
        }
        return (Sequential(layers), shape)
    }

    // MARK: Reference models

    /// Names accepted by `reference(named:)`.
    public static let referenceNames = ["mlp", "small", "medium"]

    /// The reference models of `shared/reference/README.md` for 1×28×28 inputs and 10 classes, with
    /// PyTorch's default initialisation (the reference recipe).
    public static func reference(named name: String) throws -> ArchitectureSpec {
        func convBNReLU(_ filters: Int) -> [LayerSpec] { [.conv2d(filters: filters, kernelSize: 3, bias: false), .batchNorm(), .relu] }
        let layers: [LayerSpec]
        switch name {
        case "mlp":
            layers = [.flatten, .dense(units: 256), .relu, .dense(units: 256), .relu, .dense(units: 10)]
        case "small":
            layers = [
                .conv2d(filters: 32, kernelSize: 3), .relu, .maxPool(size: 2),
                .conv2d(filters: 64, kernelSize: 3), .relu, .maxPool(size: 2),
                .flatten, .dense(units: 128), .relu, .dense(units: 10),
            ]
        case "medium":
            layers = convBNReLU(32) + convBNReLU(32) + [.maxPool(size: 2)] + convBNReLU(64) + convBNReLU(64)
                + [.maxPool(size: 2), .flatten, .dense(units: 256), .relu, .dropout(rate: 0.3), .dense(units: 10)]
        default:
            throw NNError.unknownModel(name)
        }
        return ArchitectureSpec(name: name, inputShape: [1, 28, 28], classes: 10, initialization: .pytorch, layers: layers)
    }
}

// MARK: - LayerSpec coding

extension LayerSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, filters, kernelSize, stride, groups, bias, units, momentum, epsilon, size, rate, body, shortcut, members
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "conv2d":
            self = .conv2d(
                filters: try c.decode(Int.self, forKey: .filters), kernelSize: try c.decode(Int.self, forKey: .kernelSize),
                stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1, groups: try c.decodeIfPresent(Int.self, forKey: .groups) ?? 1,
                bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true)
        case "dense":
            self = .dense(units: try c.decode(Int.self, forKey: .units), bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true)
        case "batchNorm":
            self = .batchNorm(
                momentum: try c.decodeIfPresent(Float.self, forKey: .momentum) ?? 0.1,
                epsilon: try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-5)
        case "relu": self = .relu
        case "silu": self = .silu
        case "gelu": self = .gelu
        case "maxPool": self = .maxPool(size: try c.decode(Int.self, forKey: .size), stride: try c.decodeIfPresent(Int.self, forKey: .stride))
        case "avgPool": self = .avgPool(size: try c.decode(Int.self, forKey: .size), stride: try c.decodeIfPresent(Int.self, forKey: .stride))
        case "globalAvgPool": self = .globalAvgPool
        case "dropout": self = .dropout(rate: try c.decode(Float.self, forKey: .rate))
        case "flatten": self = .flatten
        case "residual":
            self = .residual(body: try c.decode([LayerSpec].self, forKey: .body), shortcut: try c.decodeIfPresent([LayerSpec].self, forKey: .shortcut))
        case "ensemble":
            self = .ensemble(members: try c.decode([[LayerSpec]].self, forKey: .members))
        default:
            throw NNError.invalidArchitecture("unknown layer type '\(type)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .conv2d(filters, kernelSize, stride, groups, bias):
            try c.encode("conv2d", forKey: .type)
            try c.encode(filters, forKey: .filters)
            try c.encode(kernelSize, forKey: .kernelSize)
            try c.encode(stride, forKey: .stride)
            try c.encode(groups, forKey: .groups)
            try c.encode(bias, forKey: .bias)
        case let .dense(units, bias):
            try c.encode("dense", forKey: .type)
            try c.encode(units, forKey: .units)
            try c.encode(bias, forKey: .bias)
        case let .batchNorm(momentum, epsilon):
            try c.encode("batchNorm", forKey: .type)
            try c.encode(momentum, forKey: .momentum)
            try c.encode(epsilon, forKey: .epsilon)
        case .relu: try c.encode("relu", forKey: .type)
        case .silu: try c.encode("silu", forKey: .type)
        case .gelu: try c.encode("gelu", forKey: .type)
        case let .maxPool(size, stride):
            try c.encode("maxPool", forKey: .type)
            try c.encode(size, forKey: .size)
            try c.encodeIfPresent(stride, forKey: .stride)
        case let .avgPool(size, stride):
            try c.encode("avgPool", forKey: .type)
            try c.encode(size, forKey: .size)
            try c.encodeIfPresent(stride, forKey: .stride)
        case .globalAvgPool: try c.encode("globalAvgPool", forKey: .type)
        case let .dropout(rate):
            try c.encode("dropout", forKey: .type)
            try c.encode(rate, forKey: .rate)
        case .flatten: try c.encode("flatten", forKey: .type)
        case let .residual(body, shortcut):
            try c.encode("residual", forKey: .type)
            try c.encode(body, forKey: .body)
            try c.encodeIfPresent(shortcut, forKey: .shortcut)
        case let .ensemble(members):
            try c.encode("ensemble", forKey: .type)
            try c.encode(members, forKey: .members)
        }
    }
}
