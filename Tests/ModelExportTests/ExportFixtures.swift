import Datasets
import Foundation
import NN
import Tensors
@testable import ModelExport

/// Small trained-looking networks: random weights, and BatchNorm statistics far from the identity so
/// that folding them matters.
enum ExportFixtures {
    /// Gives every BatchNorm of `network` (nested ones too) running statistics, scale and offset drawn from `seed`.
    static func randomizeBatchNorms(_ network: any Layer, seed: UInt64 = 7) {
        var generator = SeededGenerator(seed: seed)
        for batchNorm in batchNorms(network) {
            let c = batchNorm.channels
            batchNorm.runningMean.value = Tensor.uniform(shape: [c], in: -0.5...0.5, using: &generator)
            batchNorm.runningVariance.value = Tensor.uniform(shape: [c], in: 0.2...3, using: &generator)
            batchNorm.scale.value = Tensor.uniform(shape: [c], in: 0.5...1.5, using: &generator)
            batchNorm.offset.value = Tensor.uniform(shape: [c], in: -0.3...0.3, using: &generator)
        }
    }

    static func batchNorms(_ layer: any Layer) -> [BatchNorm] {
        switch layer {
        case let batchNorm as BatchNorm: [batchNorm]
        case let sequential as Sequential: sequential.layers.flatMap(batchNorms)
        case let residual as Residual: batchNorms(residual.body) + (residual.shortcut.map(batchNorms) ?? [])
        case let ensemble as Ensemble: ensemble.members.flatMap(batchNorms)
        default: []
        }
    }

    /// A residual network on `[channels, 8, 8]` with 3 classes: conv+BN+ReLU, a residual block with a
    /// projection shortcut, a lone BatchNorm, dropout, pooling and dense layers.
    static func residualSpec(channels: Int = 1) -> ArchitectureSpec {
        ArchitectureSpec(name: "export-fixture", inputShape: [channels, 8, 8], classes: 3, layers: [
            .conv2d(filters: 4, kernelSize: 3, bias: false), .batchNorm(), .relu,
            .residual(body: [.conv2d(filters: 6, kernelSize: 3, stride: 2, bias: false), .batchNorm(), .relu]),
            .batchNorm(), .maxPool(size: 2), .dropout(rate: 0.3), .flatten, .dense(units: 5), .silu, .dense(units: 3),
        ])
    }

    static func model(spec: ArchitectureSpec = residualSpec(), testTimeAugmentation: TestTimeAugmentation = .none,
                      normalization: ChannelNormalization? = ChannelNormalization(mean: [0.25], standardDeviation: [0.5])) throws -> ExportableModel {
        let network = try spec.build(seed: 3)
        randomizeBatchNorms(network)
        let c = spec.inputShape[0]
        return ExportableModel(
            name: "job-1", network: network, labels: ["cat", "dog/puppy", "émeu \"bird\""],
            resolution: WorkingResolution(width: spec.inputShape[2], height: spec.inputShape[1], channels: c, resized: true),
            normalization: normalization, testTimeAugmentation: testTimeAugmentation)
    }

    static func images(_ shape: Shape, seed: UInt64 = 11) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor.uniform(shape: shape, in: -1...1, using: &generator)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
        return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
    }
}
