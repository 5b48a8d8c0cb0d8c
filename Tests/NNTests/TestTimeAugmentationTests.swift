import Foundation
import NN
import Tensors
import TestSupport
import Testing

/// Test-time augmentation (`TestTimeAugmentation`), with `CheckpointTests`' small trained network.
extension CheckpointTests {
    @Test func mirroredReversesEveryRowOfEveryChannel() {
        let shape: Shape = [2, 3, 4, 5]
        let images = Tensor(shape: shape, values: (0..<shape.count).map(Float.init))
        let mirrored = TestTimeAugmentation.mirrored(images)
        for n in 0..<2 { for c in 0..<3 { for y in 0..<4 { for x in 0..<5 {
            #expect(mirrored[((n * 3 + c) * 4 + y) * 5 + x] == images[((n * 3 + c) * 4 + y) * 5 + (4 - x)])
        } } } }
        #expect(TestTimeAugmentation.mirrored(mirrored) == images)
    }

    /// A checkpoint that records `horizontal_flip` predicts the mean of the softmax of each image
    /// and of its mirror image, both computed here with a plain classifier.
    @Test func aFlipCheckpointAveragesTheImageAndItsMirror() throws {
        let (spec, network) = try trainedSmallNetwork()
        let normalization = ChannelNormalization(mean: [0.3], standardDeviation: [0.2])
        let labels = ["a", "b", "c", "d"]
        let plain = try Classifier(checkpoint: Checkpoint(network: network, architecture: spec, normalization: normalization, labelNames: labels))
        #expect(plain.testTimeAugmentation == .none)
        let flip = try Classifier(checkpoint: Checkpoint(
            network: network, architecture: spec, normalization: normalization, labelNames: labels,
            metadata: [TestTimeAugmentation.metadataKey: "horizontal_flip"]))
        #expect(flip.testTimeAugmentation == .horizontalFlip)

        let (images, _) = syntheticImages(count: 6, side: 8, classes: 4, seed: 3)
        var mirroredByHand = images
        mirroredByHand.withUnsafeMutablePointer { x in
            images.withUnsafePointer { source in
                for row in 0..<(images.count / 8) { for column in 0..<8 { x[row * 8 + column] = source[row * 8 + 7 - column] } }
            }
        }
        let original = plain.probabilities(for: images), mirrored = plain.probabilities(for: mirroredByHand)
        #expect(original != mirrored, "the fixture must not be mirror-symmetric")
        let averaged = flip.probabilities(for: images)
        #expect(averaged.shape == original.shape)
        for i in 0..<averaged.count { #expect(abs(averaged[i] - (original[i] + mirrored[i]) / 2) < 1e-6) }
    }

    @Test func anUnknownPolicyIsACorruptCheckpoint() throws {
        let (spec, network) = try trainedSmallNetwork()
        let checkpoint = Checkpoint(network: network, architecture: spec, labelNames: ["a", "b", "c", "d"],
                                    metadata: [TestTimeAugmentation.metadataKey: "ten_crop"])
        #expect { try Classifier(checkpoint: checkpoint) } throws: { error in
            guard case .checkpointCorrupt = error as? NNError else { return false }
            return "\(error)".contains("ten_crop") && "\(error)".contains("horizontal_flip")
        }
    }
}
