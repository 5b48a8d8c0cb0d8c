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

    @Test func shiftedMovesEveryPlaneAndZeroesTheUncoveredEdge() {
        let shape: Shape = [2, 2, 3, 4]
        let images = Tensor(shape: shape, values: (0..<shape.count).map { Float($0 + 1) })
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1), (2, -1)] {
            let shifted = TestTimeAugmentation.shifted(images, dx: dx, dy: dy)
            for plane in 0..<4 { for y in 0..<3 { for x in 0..<4 {
                let (sx, sy) = (x - dx, y - dy)
                let expected = (0..<4).contains(sx) && (0..<3).contains(sy) ? images[plane * 12 + sy * 4 + sx] : 0
                #expect(shifted[plane * 12 + y * 4 + x] == expected, "dx \(dx) dy \(dy) plane \(plane) (\(x), \(y))")
            } } }
        }
    }

    /// `shifts` predicts the mean of the softmax of the image and of its four one-pixel shifts,
    /// shifted here by hand after the checkpoint's normalisation (where training translates).
    @Test func aShiftsCheckpointAveragesTheImageAndItsFourShifts() throws {
        let (spec, network) = try trainedSmallNetwork()
        let labels = ["a", "b", "c", "d"]
        let plain = try Classifier(checkpoint: Checkpoint(network: network, architecture: spec, labelNames: labels))
        let shifts = try Classifier(checkpoint: Checkpoint(network: network, architecture: spec, labelNames: labels,
                                                           metadata: [TestTimeAugmentation.metadataKey: "shifts"]))
        #expect(shifts.testTimeAugmentation == .shifts && TestTimeAugmentation.shifts.views == 5)
        let (images, _) = syntheticImages(count: 3, side: 8, classes: 4, seed: 5)
        var expected = [Float](repeating: 0, count: 3 * 4)
        for (dx, dy) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] {
            var view = Tensor(shape: images.shape)
            for n in 0..<3 { for y in 0..<8 { for x in 0..<8 where (0..<8).contains(x - dx) && (0..<8).contains(y - dy) {
                view[n * 64 + y * 8 + x] = images[n * 64 + (y - dy) * 8 + (x - dx)]
            } } }
            let probabilities = plain.probabilities(for: view)
            for i in 0..<expected.count { expected[i] += probabilities[i] / 5 }
        }
        let averaged = shifts.probabilities(for: images)
        for i in 0..<expected.count { #expect(abs(averaged[i] - expected[i]) < 1e-6) }
        #expect(TestTimeAugmentation.offered(horizontalFlip: true, translation: true) == [.none, .horizontalFlip, .shifts])
        #expect(TestTimeAugmentation.offered(horizontalFlip: false, translation: false) == [.none])
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
