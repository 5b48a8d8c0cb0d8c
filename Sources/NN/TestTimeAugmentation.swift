import Tensors

/// Test-time augmentation: class probabilities averaged over transformed views of each image.
///
/// `horizontalFlip` averages the softmax of an image and of its mirror image, as VGG's evaluation
/// did ("the soft-max class posteriors of the original and flipped images are averaged",
/// Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556, §3.2). It only suits a network
/// trained with random horizontal flips: one that never saw mirror images classifies them badly
/// (measured on Fashion-MNIST: the `small` seed, then trained without flips, 92.75 % TEST, 71.5 % on
/// mirrored TEST, 88.8 % averaged), so `TrainingJob` offers it to such networks only and keeps it
/// only when it raises VALIDATION accuracy. Measured on the 60-minute `vgg-bn` models (trained
/// with flips): 93.71 → 94.06 % and 93.95 → 94.32 % TEST, for twice the inference work.
///
/// `shifts` averages the image and its four one-pixel shifts (up, down, left, right; the uncovered
/// edge is zero, as `Augmenter`'s random translation leaves it), for networks trained with random
/// translation: Krizhevsky et al. 2012 averaged shifted crops (and their reflections) likewise.
/// Measured on five Fashion-MNIST models of 10- and 60-minute jobs it added 0.06–0.28 points of
/// TEST accuracy (a 60-minute search's 3-stage network, trained with ±2 px: 93.98 → 94.25 %), for
/// five times the inference work.
public enum TestTimeAugmentation: String, Codable, Sendable, CaseIterable {
    case none
    case horizontalFlip = "horizontal_flip"
    case shifts

    /// The checkpoint metadata key that records a model's test-time augmentation.
    public static let metadataKey = "test_time_augmentation"

    /// Forward passes per image.
    public var views: Int {
        switch self {
        case .none: 1
        case .horizontalFlip: 2
        case .shifts: 1 + Self.oneShifts.count
        }
    }

    /// The policies that suit a network trained with these augmentations, cheapest first.
    public static func offered(horizontalFlip: Bool, translation: Bool) -> [TestTimeAugmentation] {
        [.none] + (horizontalFlip ? [.horizontalFlip] : []) + (translation ? [.shifts] : [])
    }

    /// (dx, dy) of the `shifts` views besides the image itself.
    static let oneShifts = [(1, 0), (-1, 0), (0, 1), (0, -1)]

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

    /// Scores `[N, classes]` of `network` (inference mode) for images `[N, C, H, W]` — softmax
    /// probabilities, or one sigmoid per label with `output: .sigmoid` — averaged over this policy's
    /// views. The network returns a layer's buffer for each view: `Tensor`'s copy-on-write keeps the
    /// first view's result intact.
    public func probabilities(of images: Tensor, network: Sequential, output: OutputActivation = .softmax) -> Tensor {
        let probabilities = { (view: Tensor) -> Tensor in
            var scores = network.forward(view, training: false)
            output.apply(to: &scores)
            return scores
        }
        var result = probabilities(images)
        let others: [() -> Tensor] = switch self {
        case .none: []
        case .horizontalFlip: [{ Self.mirrored(images) }]
        case .shifts: Self.oneShifts.map { dx, dy in { Self.shifted(images, dx: dx, dy: dy) } }
        }
        for view in others {
            let scores = probabilities(view())
            result.withUnsafeMutablePointer { sum in
                scores.withUnsafePointer { other in
                    for i in 0..<scores.count { sum[i] += other[i] }
                }
            }
        }
        let scale = 1 / Float(views)
        let count = result.count
        if views > 1 { result.withUnsafeMutablePointer { sum in for i in 0..<count { sum[i] *= scale } } }
        return result
    }

    /// Images `[N, C, H, W]` moved `dx` pixels right and `dy` down; the uncovered edge is 0.
    public static func shifted(_ images: Tensor, dx: Int, dy: Int) -> Tensor {
        var result = Tensor(shape: images.shape)
        let height = images.shape[2], width = images.shape[3]
        images.withUnsafePointer { source in
            result.withUnsafeMutablePointer { target in
                for plane in stride(from: 0, to: images.count, by: height * width) {
                    for y in max(0, dy)..<min(height, height + dy) {
                        let from = source + plane + (y - dy) * width, to = target + plane + y * width
                        for x in max(0, dx)..<min(width, width + dx) { to[x] = from[x - dx] }
                    }
                }
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
