import Tensors

/// Test-time augmentation: class probabilities averaged over transformed views of each image.
///
/// `horizontalFlip` averages the softmax of an image and of its mirror image, as VGG's evaluation
/// did ("the soft-max class posteriors of the original and flipped images are averaged",
/// Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556, §3.2). It only suits a network
/// trained with random horizontal flips: one that never saw mirror images classifies them badly
/// (measured on Fashion-MNIST: the `small` seed, trained without flips, 92.75 % TEST, 71.5 % on
/// mirrored TEST, 88.8 % averaged), so `TrainingJob` offers it to such networks only and keeps it
/// only when it raises VALIDATION accuracy. Measured on the 60-minute `vgg-bn` models (trained
/// with flips): 93.71 → 94.06 % and 93.95 → 94.32 % TEST, for twice the inference work.
public enum TestTimeAugmentation: String, Codable, Sendable, CaseIterable {
    case none
    case horizontalFlip = "horizontal_flip"

    /// The checkpoint metadata key that records a model's test-time augmentation.
    public static let metadataKey = "test_time_augmentation"

    /// Forward passes per image.
    public var views: Int { self == .none ? 1 : 2 }

    /// The policy a checkpoint records (`none` when it records none, as checkpoints written before it).
    /// - Throws: `NNError.checkpointCorrupt` for a value this version does not know.
    public init(checkpoint: Checkpoint, path: String = "checkpoint") throws {
        guard let value = checkpoint.metadata[Self.metadataKey] else {
            self = .none
            return
        }
        guard let policy = TestTimeAugmentation(rawValue: value) else {
            throw NNError.checkpointCorrupt(path: path, reason: "unknown test-time augmentation '\(value)' "
                + "(known: \(Self.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = policy
    }

    /// Class probabilities `[N, classes]` of images `[N, C, H, W]`, averaged over this policy's views.
    /// - Parameter probabilities: one forward pass to softmax probabilities `[N, classes]`. It may
    ///   return a layer's buffer: `Tensor`'s copy-on-write keeps the first view's result intact.
    public func probabilities(of images: Tensor, _ probabilities: (Tensor) -> Tensor) -> Tensor {
        var result = probabilities(images)
        guard self == .horizontalFlip else { return result }
        let mirrored = probabilities(Self.mirrored(images))
        result.withUnsafeMutablePointer { sum in
            mirrored.withUnsafePointer { other in
                for i in 0..<mirrored.count { sum[i] = (sum[i] + other[i]) / 2 }
            }
        }
        return result
    }

    /// Images `[N, C, H, W]` mirrored left to right.
    public static func mirrored(_ images: Tensor) -> Tensor {
        var result = images
        let width = images.shape[3]
        result.withUnsafeMutablePointer { x in
            for row in stride(from: 0, to: images.count, by: width) {
                var left = row, right = row + width - 1
                while left < right {
                    swap(&x[left], &x[right])
                    left += 1
                    right -= 1
                }
            }
        }
        return result
    }
}
