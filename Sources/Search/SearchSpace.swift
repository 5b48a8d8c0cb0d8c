import Foundation
import NN
import Tensors
import Training

/// The architecture half of a search candidate: a small CNN family that adapts to the input.
///
/// Stages of `blocksPerStage` blocks; the first stage has `width` channels and each later stage
/// doubles them (at most 256) after halving the resolution (max-pool or a stride-2 convolution).
/// A block is conv → [BatchNorm] → ReLU (`plain`) or a two-convolution residual block (He et al.
/// 2016, https://arxiv.org/abs/1512.03385). The head is global average pooling or a hidden dense
/// layer, with dropout (Srivastava et al. 2014) before the classifier.
public struct ArchitectureGenes: Codable, Hashable, Sendable {
    public enum Block: String, Codable, Sendable, CaseIterable { case plain, residual }
    public enum Downsample: String, Codable, Sendable, CaseIterable { case maxPool = "max_pool", stridedConv = "strided_conv" }
    public enum Head: String, Codable, Sendable, CaseIterable { case globalAvgPool = "global_avg_pool", dense }

    public var stages: Int
    public var blocksPerStage: Int
    public var width: Int
    public var kernelSize: Int
    public var block: Block
    public var batchNorm: Bool
    public var downsample: Downsample
    public var head: Head
    /// Units of the hidden dense layer of a `dense` head.
    public var denseUnits: Int
    public var dropout: Float

    public init(stages: Int, blocksPerStage: Int, width: Int, kernelSize: Int = 3, block: Block = .plain, batchNorm: Bool = true,
                downsample: Downsample = .maxPool, head: Head = .dense, denseUnits: Int = 256, dropout: Float = 0.3) {
        self.stages = stages
        self.blocksPerStage = blocksPerStage
        self.width = width
        self.kernelSize = kernelSize
        self.block = block
        self.batchNorm = batchNorm
        self.downsample = downsample
        self.head = head
        self.denseUnits = denseUnits
        self.dropout = dropout
    }

    /// Channels of the last stage: what the head sees (the width doubles per stage, at most 256).
    public var featureChannels: Int {
        (1..<max(1, stages)).reduce(width) { channels, _ in min(256, channels * 2) }
    }

    /// A short human-readable description, e.g. `3x2 residual w32 k3 bn strided gap d0.1`.
    public var summary: String {
        "\(stages)x\(blocksPerStage) \(block.rawValue) w\(width) k\(kernelSize)\(batchNorm ? " bn" : "")"
            + " \(downsample == .maxPool ? "pool" : "strided") \(head == .dense ? "dense\(denseUnits)" : "gap") d\(dropout)"
    }

    /// The network for `inputShape` `[C, H, W]` and `classes` outputs.
    public func architecture(inputShape: [Int], classes: Int, name: String) -> ArchitectureSpec {
        let side = min(inputShape[1], inputShape[2])
        // Large inputs get a stride-2 stem so the first stage works at ≤ 32 pixels.
        var layers: [LayerSpec] = []
        var resolution = side
        var channels = width
        if side > 32 {
            layers += [.conv2d(filters: width, kernelSize: 3, stride: 2, bias: !batchNorm)] + (batchNorm ? [.batchNorm()] : []) + [.relu]
            resolution = (side + 1) / 2
        }
        for stage in 0..<stages {
            var stride = 1
            if stage > 0 {
                channels = min(256, channels * 2)
                if downsample == .maxPool { layers.append(.maxPool(size: 2)) } else { stride = 2 }
                resolution /= 2
            }
            for b in 0..<blocksPerStage {
                let s = b == 0 ? stride : 1
                let norm: [LayerSpec] = batchNorm ? [.batchNorm()] : []
                switch block {
                case .plain:
                    layers += [.conv2d(filters: channels, kernelSize: kernelSize, stride: s, bias: !batchNorm)] + norm + [.relu]
                case .residual:
                    let body: [LayerSpec] = [.conv2d(filters: channels, kernelSize: kernelSize, stride: s, bias: !batchNorm)] + norm
                        + [.relu, .conv2d(filters: channels, kernelSize: kernelSize, bias: !batchNorm)] + norm
                    layers += [.residual(body: body, shortcut: nil), .relu]
                }
            }
        }
        switch head {
        case .globalAvgPool:
            layers += [.globalAvgPool] + (dropout > 0 ? [.dropout(rate: dropout)] : []) + [.dense(units: classes)]
        case .dense:
            if resolution > 8 { layers.append(.maxPool(size: 2)) }  // keep the dense layer small
            layers += [.flatten, .dense(units: denseUnits), .relu] + (dropout > 0 ? [.dropout(rate: dropout)] : []) + [.dense(units: classes)]
        }
        return ArchitectureSpec(name: name, inputShape: inputShape, classes: classes, layers: layers)
    }
}

/// Where a candidate came from. Coded as one string in search logs: `starting:NAME`, `random`,
/// `mutation`, `smallest` (`seed:NAME`, from logs written before the name, reads as `starting:NAME`).
public enum CandidateOrigin: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A known-good starting architecture of the space (`SearchSpace.startingArchitectures()`), by name.
    case startingArchitecture(String)
    /// A uniform sample of the space.
    case random
    /// A mutation of a population member (regularized evolution).
    case mutation
    /// The space's cheapest network (`SearchSpace.smallest`), the search's fallback.
    case smallest

    /// The starting architecture's name, or `nil` for another origin.
    public var startingArchitectureName: String? {
        if case let .startingArchitecture(name) = self { name } else { nil }
    }

    public var description: String {
        switch self {
        case let .startingArchitecture(name): "starting:\(name)"
        case .random: "random"
        case .mutation: "mutation"
        case .smallest: "smallest"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "random": self = .random
        case "mutation": self = .mutation
        case "smallest": self = .smallest
        default:
            guard let colon = text.firstIndex(of: ":"), ["starting", "seed"].contains(text[..<colon]), text.index(after: colon) < text.endIndex else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "unknown candidate origin '\(text)' (expected starting:NAME, random, mutation or smallest)"))
            }
            self = .startingArchitecture(String(text[text.index(after: colon)...]))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One point of the search space: an architecture and how to train it.
public struct Candidate: Codable, Hashable, Sendable {
    public var architecture: ArchitectureGenes
    public var optimizer: TrainingConfig.OptimizerKind
    public var learningRate: Float
    public var weightDecay: Float
    public var batchSize: Int
    public var cropPadding: Int
    public var horizontalFlip: Bool
    public var erasingProbability: Float
    public var labelSmoothing: Float
    public var classWeighting: Bool
    /// How often each class is drawn into an epoch (absent in the logs of older versions: natural).
    public var classSampling = ClassSampling.natural
    /// Where it came from, for the search log.
    public var origin: CandidateOrigin

    public var summary: String {
        architecture.summary + " | \(optimizer.rawValue) lr \(learningRate) wd \(weightDecay) b\(batchSize)"
            + " aug[crop \(cropPadding)\(horizontalFlip ? " flip" : "")\(erasingProbability > 0 ? " erase \(erasingProbability)" : "")]"
            + (labelSmoothing > 0 ? " ls \(labelSmoothing)" : "") + (classWeighting ? " class-weighted" : "")
            + (classSampling == .natural ? "" : " sampled \(classSampling.rawValue)")
    }

    /// This candidate with `rebalancing`.
    func with(rebalancing: Rebalancing) -> Candidate {
        var changed = self
        changed.rebalancing = rebalancing
        return changed
    }

    /// How the candidate corrects for class imbalance: its class weighting and class sampling.
    public var rebalancing: Rebalancing {
        get { Rebalancing(classWeighting: classWeighting, classSampling: classSampling) }
        set {
            classWeighting = newValue.classWeighting
            classSampling = newValue.classSampling
        }
    }

    /// The training configuration for `epochs` epochs.
    public func trainingConfig(epochs: Int, seed: UInt64) -> TrainingConfig {
        var config = TrainingConfig()
        config.optimizer = optimizer
        config.learningRate = learningRate
        config.weightDecay = weightDecay
        config.batchSize = batchSize
        config.epochs = epochs
        config.schedule = .oneCycle
        config.augmentation = AugmentationOptions(cropPadding: cropPadding, horizontalFlip: horizontalFlip, erasingProbability: erasingProbability)
        config.labelSmoothing = labelSmoothing
        config.classWeighting = classWeighting
        config.classSampling = classSampling
        config.seed = seed
        return config
    }
}

extension Candidate {
    enum CodingKeys: String, CodingKey {
        case architecture, optimizer, learningRate, weightDecay, batchSize, cropPadding, horizontalFlip, erasingProbability
        case labelSmoothing, classWeighting, classSampling, origin
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(ArchitectureGenes.self, forKey: .architecture)
        optimizer = try c.decode(TrainingConfig.OptimizerKind.self, forKey: .optimizer)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        cropPadding = try c.decode(Int.self, forKey: .cropPadding)
        horizontalFlip = try c.decode(Bool.self, forKey: .horizontalFlip)
        erasingProbability = try c.decode(Float.self, forKey: .erasingProbability)
        labelSmoothing = try c.decode(Float.self, forKey: .labelSmoothing)
        classWeighting = try c.decode(Bool.self, forKey: .classWeighting)
        classSampling = try c.decodeIfPresent(ClassSampling.self, forKey: .classSampling) ?? .natural
        origin = try c.decode(CandidateOrigin.self, forKey: .origin)
    }
}

/// One value of the search's class-imbalance gene: class weighting, or a class sampling, or
/// neither. Never both: each alone corrects for the imbalance, together they correct twice.
public struct Rebalancing: Hashable, Sendable {
    public var classWeighting: Bool
    public var classSampling: ClassSampling

    public static let none = Rebalancing(classWeighting: false, classSampling: .natural)
    public static let weighting = Rebalancing(classWeighting: true, classSampling: .natural)

    public static func sampling(_ sampling: ClassSampling) -> Rebalancing {
        Rebalancing(classWeighting: false, classSampling: sampling)
    }
}

/// A candidate given from outside the search (`train --candidate FILE`), with the size of the
/// trial it comes from when that is known.
public struct GivenCandidate: Equatable, Sendable {
    public var candidate: Candidate
    /// Training images × epochs of the trial that scored it (a search-log line's `train_images` ×
    /// `epochs`); `nil` for a bare candidate. With it, the final training is planned as the
    /// search's would have been had that trial been its pick (`FinalTrainingPlan`).
    public var trialImageEpochs: Int?

    public init(candidate: Candidate, trialImageEpochs: Int? = nil) {
        self.candidate = candidate
        self.trialImageEpochs = trialImageEpochs
    }

    /// From JSON: one line of a job's `search.jsonl` (the trial's `candidate`, `train_images` and
    /// `epochs`), or an object with `Candidate`'s keys alone.
    /// - Throws: `DecodingError` when the data is neither.
    public static func decode(json data: Data) throws -> GivenCandidate {
        struct Trial: Decodable {
            var candidate: Candidate
            var trainImages: Int?
            var epochs: Int?
            enum CodingKeys: String, CodingKey { case candidate, trainImages = "train_images", epochs }
        }
        do {
            let trial = try JSONDecoder().decode(Trial.self, from: data)
            let size = trial.trainImages.flatMap { images in trial.epochs.map { images * $0 } }
            return GivenCandidate(candidate: trial.candidate, trialImageEpochs: size.flatMap { $0 > 0 ? $0 : nil })
        } catch {
            return GivenCandidate(candidate: try JSONDecoder().decode(Candidate.self, from: data))
        }
    }
}

/// The least augmentation every candidate trains with.
///
/// A short trial cannot measure augmentation: within a few epochs it only slows fitting, so an
/// unaugmented candidate outscores the same network augmented. Over a final training tens of
/// epochs long, the unaugmented network overfits instead. When the final training will be that
/// long, every candidate (seeds included) is trained with at least this floor in its trials too,
/// so trials compare candidates as the final training will train them.
/// See docs/decisions/0010-augmentation-floor-for-long-finals.md.
public struct AugmentationFloor: Codable, Hashable, Sendable {
    /// Least random translation, in pixels (`AugmentationOptions.cropPadding`).
    public var cropPadding: Int
    /// Least probability of random erasing (Zhong et al. 2017, https://arxiv.org/abs/1708.04896).
    public var erasingProbability: Float

    public init(cropPadding: Int, erasingProbability: Float) {
        self.cropPadding = cropPadding
        self.erasingProbability = erasingProbability
    }

    public static let none = AugmentationFloor(cropPadding: 0, erasingProbability: 0)
    /// For a final training many times longer than the trials: ±2 px and erasing with p 0.25.
    /// Both preserve the label of any object class (flips do not, for digits or text, and stay a gene).
    public static let longTraining = AugmentationFloor(cropPadding: 2, erasingProbability: 0.25)

    /// `candidate` with at least this augmentation.
    public func applied(to candidate: Candidate) -> Candidate {
        var raised = candidate
        raised.cropPadding = max(candidate.cropPadding, cropPadding)
        raised.erasingProbability = max(candidate.erasingProbability, erasingProbability)
        return raised
    }
}

/// The search space for one dataset: which values each gene may take, given the image size,
/// channel count, class count and class balance.
public struct SearchSpace: Sendable {
    public var inputShape: [Int]
    public var classes: Int
    /// True when the largest TRAIN class has over 3× the images of the smallest. It opens the
    /// class-imbalance gene (`rebalancings`) to the search: random samples and mutations try its
    /// values, and the trials measure which is better. The seeds keep none.
    public var imbalanced: Bool
    /// False for a multi-label dataset, where class sampling is not defined (`ClassSampling`).
    public var singleLabel = true
    /// TRAIN images: small datasets get small batches, so an epoch still takes many steps.
    public var trainImages: Int
    /// Every candidate of the space (seeds, random samples, mutations) has at least this augmentation.
    public var augmentationFloor = AugmentationFloor.none

    public init(inputShape: [Int], classes: Int, imbalanced: Bool, trainImages: Int = 50_000) {
        self.inputShape = inputShape
        self.classes = classes
        self.imbalanced = imbalanced
        self.trainImages = trainImages
    }

    /// The values of the class-imbalance gene: none, class weighting, and (single-label) square-root
    /// class sampling when TRAIN is imbalanced; none otherwise. Balanced class sampling is not
    /// offered: on the suite's imbalanced sets it lowered TEST accuracy without raising macro recall
    /// (docs/decisions/0030-class-sampling.md).
    public var rebalancings: [Rebalancing] {
        guard imbalanced else { return [.none] }
        return singleLabel ? [.none, .weighting, .sampling(.squareRoot)] : [.none, .weighting]
    }

    /// Batch sizes to choose from: 64–256 from 20,000 TRAIN images, 32–128 from 4,000, else 16–64
    /// (at least ~60 optimizer steps per epoch).
    public var batchSizes: [Int] {
        trainImages >= 20_000 ? [64, 128, 256] : trainImages >= 4_000 ? [32, 64, 128] : [16, 32, 64]
    }

    /// Most stages the resolution allows: the last stage still sees at least 4×4 pixels.
    public var maximumStages: Int {
        var side = min(inputShape[1], inputShape[2])
        if side > 32 { side = (side + 1) / 2 }
        var stages = 1
        while stages < 4 && side / (1 << stages) >= 4 { stages += 1 }
        return stages
    }

    static let widths = [16, 24, 32, 48, 64]
    static let learningRates: [TrainingConfig.OptimizerKind: [Float]] = [
        .sgd: [0.02, 0.05, 0.1, 0.2], .adam: [5e-4, 1e-3, 2e-3, 4e-3], .adamw: [5e-4, 1e-3, 2e-3, 4e-3],
    ]
    static let weightDecays: [TrainingConfig.OptimizerKind: [Float]] = [
        .sgd: [1e-4, 5e-4, 1e-3], .adam: [0], .adamw: [0.01, 0.05, 0.1],
    ]

    /// Known-good starting points (VGG-style with BatchNorm, a small ResNet, a fast small CNN).
    ///
    /// All three train with random horizontal flips: a model that never saw mirror images cannot
    /// use test-time flips. See docs/decisions/0009-seeds-train-with-flips.md.
    ///
    /// None weights or resamples classes, whatever the imbalance: both are values of a gene the search
    /// measures (`rebalancings`), not defaults, since they trade the accuracy the search maximises
    /// for recall of rare classes. See docs/decisions/0019-class-imbalance-at-its-root.md.
    public func startingArchitectures() -> [Candidate] {
        let stages = min(2, maximumStages)
        return [
            Candidate(
                architecture: ArchitectureGenes(stages: stages, blocksPerStage: 2, width: 32, head: .dense, denseUnits: 256, dropout: 0.3),
                optimizer: .adamw, learningRate: 2e-3, weightDecay: 0.05, batchSize: batchSizes[1], cropPadding: 2, horizontalFlip: true,
                erasingProbability: 0, labelSmoothing: 0.1, classWeighting: false, origin: .startingArchitecture("vgg-bn")),
            Candidate(
                architecture: ArchitectureGenes(stages: min(3, maximumStages), blocksPerStage: 1, width: 32, block: .residual,
                                                downsample: .stridedConv, head: .globalAvgPool, dropout: 0.1),
                optimizer: .sgd, learningRate: 0.1, weightDecay: 5e-4, batchSize: batchSizes[1], cropPadding: 2, horizontalFlip: true,
                erasingProbability: 0.25, labelSmoothing: 0.1, classWeighting: false, origin: .startingArchitecture("resnet")),
            Candidate(
                architecture: ArchitectureGenes(stages: stages, blocksPerStage: 1, width: 32, head: .dense, denseUnits: 128, dropout: 0.2),
                optimizer: .adam, learningRate: 2e-3, weightDecay: 0, batchSize: batchSizes[1], cropPadding: 0, horizontalFlip: true,
                erasingProbability: 0, labelSmoothing: 0, classWeighting: false, origin: .startingArchitecture("small")),
        ].map(augmentationFloor.applied(to:))
    }

    /// The cheapest network of the space (one stage of one plain block, 16 wide, a 128-unit dense
    /// head): what the search falls back to when the budget affords nothing larger.
    public var smallest: Candidate {
        var candidate = startingArchitectures()[2]
        candidate.architecture = ArchitectureGenes(stages: 1, blocksPerStage: 1, width: 16, head: .dense, denseUnits: 128, dropout: 0)
        candidate.origin = .smallest
        return candidate
    }

    /// Whether `genes` can classify these images at all. A global-average-pool head keeps one mean
    /// per channel of the last stage, so it needs at least two stages (features wider than one
    /// kernel's field of view) and `max(64, classes)` channels to pool; networks below that cannot
    /// inform the search. A dense head is always viable. See docs/decisions/0006-viable-heads-only.md.
    public func isViable(_ genes: ArchitectureGenes) -> Bool {
        genes.head == .dense || (genes.stages >= 2 && genes.featureChannels >= max(64, classes))
    }

    /// Why `candidate` cannot train on this space's images (a value out of its gene's range, or
    /// more stages than the resolution allows), or `nil` when it can. Candidates the space makes
    /// always can; this checks one given from outside (`TrainingJobOptions.fixedCandidate`).
    public func problem(with candidate: Candidate) -> String? {
        let genes = candidate.architecture
        let checks: [(Bool, String)] = [
            ((1...maximumStages).contains(genes.stages), "stages must be 1–\(maximumStages) for \(inputShape[1])×\(inputShape[2]) images, not \(genes.stages)"),
            ((1...16).contains(genes.blocksPerStage), "blocksPerStage must be 1–16"),
            ((1...1024).contains(genes.width), "width must be 1–1024"),
            (genes.kernelSize >= 1 && genes.kernelSize % 2 == 1 && genes.kernelSize <= 7, "kernelSize must be 1, 3, 5 or 7"),
            ((1...8192).contains(genes.denseUnits), "denseUnits must be 1–8192"),
            ((0..<1).contains(genes.dropout), "dropout must be in [0, 1)"),
            (candidate.learningRate > 0 && candidate.learningRate.isFinite, "learningRate must be positive"),
            (candidate.weightDecay >= 0 && candidate.weightDecay.isFinite, "weightDecay must be at least 0"),
            ((1...4096).contains(candidate.batchSize), "batchSize must be 1–4096"),
            ((0...min(inputShape[1], inputShape[2]) / 2).contains(candidate.cropPadding), "cropPadding must be 0–\(min(inputShape[1], inputShape[2]) / 2)"),
            ((0...1).contains(candidate.erasingProbability), "erasingProbability must be in [0, 1]"),
            ((0..<1).contains(candidate.labelSmoothing), "labelSmoothing must be in [0, 1)"),
            (singleLabel || candidate.classSampling == .natural, "classSampling must be natural for a multi-label dataset"),
        ]
        let problems = checks.filter { !$0.0 }.map(\.1)
        if !problems.isEmpty { return problems.joined(separator: "; ") }
        // Only once every gene is in its range: `featureChannels` loops over the stages.
        return isViable(genes) ? nil : "a global-average-pool head needs at least 2 stages and \(max(64, classes)) channels in the last"
    }

    /// A uniformly random viable candidate (`isViable`).
    public func random(using generator: inout SeededGenerator) -> Candidate {
        while true {
            let candidate = uniformSample(using: &generator)
            if isViable(candidate.architecture) { return candidate }
        }
    }

    private func uniformSample(using generator: inout SeededGenerator) -> Candidate {
        let optimizer = TrainingConfig.OptimizerKind.allCases.randomElement(using: &generator)!
        return augmentationFloor.applied(to: Candidate(
            architecture: ArchitectureGenes(
                stages: Int.random(in: 1...maximumStages, using: &generator),
                blocksPerStage: Int.random(in: 1...3, using: &generator),
                width: Self.widths.randomElement(using: &generator)!,
                kernelSize: [3, 3, 5].randomElement(using: &generator)!,
                block: ArchitectureGenes.Block.allCases.randomElement(using: &generator)!,
                batchNorm: [true, true, false].randomElement(using: &generator)!,
                downsample: ArchitectureGenes.Downsample.allCases.randomElement(using: &generator)!,
                head: ArchitectureGenes.Head.allCases.randomElement(using: &generator)!,
                denseUnits: [128, 256, 512].randomElement(using: &generator)!,
                dropout: [0, 0.1, 0.2, 0.3, 0.5].randomElement(using: &generator)!),
            optimizer: optimizer,
            learningRate: Self.learningRates[optimizer]!.randomElement(using: &generator)!,
            weightDecay: Self.weightDecays[optimizer]!.randomElement(using: &generator)!,
            batchSize: batchSizes.randomElement(using: &generator)!,
            cropPadding: [0, 2, 4].randomElement(using: &generator)!,
            horizontalFlip: Bool.random(using: &generator),
            erasingProbability: [0, 0, 0.25, 0.5].randomElement(using: &generator)!,
            labelSmoothing: [0, 0.1].randomElement(using: &generator)!,
            classWeighting: false,
            origin: .random)).with(rebalancing: imbalanced ? rebalancings.randomElement(using: &generator)! : .none)
    }

    /// `parent` with one gene changed (the mutation of regularized evolution), into a viable
    /// candidate (`isViable`).
    public func mutate(_ parent: Candidate, using generator: inout SeededGenerator) -> Candidate {
        var child = parent
        child.origin = .mutation
        let other = uniformSample(using: &generator)
        switch Int.random(in: 0..<14, using: &generator) {
        case 0: child.architecture.stages = max(1, min(maximumStages, parent.architecture.stages + [-1, 1].randomElement(using: &generator)!))
        case 1: child.architecture.blocksPerStage = max(1, min(3, parent.architecture.blocksPerStage + [-1, 1].randomElement(using: &generator)!))
        case 2:
            let index = Self.widths.firstIndex(of: parent.architecture.width) ?? 2
            child.architecture.width = Self.widths[max(0, min(Self.widths.count - 1, index + [-1, 1].randomElement(using: &generator)!))]
        case 3: child.architecture.kernelSize = parent.architecture.kernelSize == 3 ? 5 : 3
        case 4: child.architecture.block = parent.architecture.block == .plain ? .residual : .plain
        case 5: child.architecture.batchNorm.toggle()
        case 6: child.architecture.downsample = parent.architecture.downsample == .maxPool ? .stridedConv : .maxPool
        case 7: child.architecture.head = other.architecture.head; child.architecture.denseUnits = other.architecture.denseUnits
        case 8: child.architecture.dropout = other.architecture.dropout
        case 9:
            child.optimizer = other.optimizer
            child.learningRate = other.learningRate
            child.weightDecay = other.weightDecay
        case 10: child.learningRate = Self.learningRates[parent.optimizer]!.randomElement(using: &generator)!
        case 11: child.batchSize = other.batchSize
        case 12:
            child.cropPadding = other.cropPadding
            child.horizontalFlip = other.horizontalFlip
            child.erasingProbability = other.erasingProbability
        default:
            child.labelSmoothing = other.labelSmoothing
            if imbalanced { child.rebalancing = rebalancings.filter { $0 != parent.rebalancing }.randomElement(using: &generator)! }
        }
        child = augmentationFloor.applied(to: child)
        var unchanged = child
        unchanged.origin = parent.origin
        return unchanged == parent || !isViable(child.architecture) ? mutate(parent, using: &generator) : child
    }
}
