import Foundation
import Tensors

/// What turns a network's logits `[N, K]` into scores: a softmax over the K classes (single-label:
/// one class per image, scores sum to 1) or a sigmoid per label (multi-label: each label scored on
/// its own, in [0, 1]). Recorded in a checkpoint's metadata under `metadataKey`.
public enum OutputActivation: String, Codable, Sendable {
    case softmax
    case sigmoid

    /// The checkpoint metadata key; a checkpoint without it is `softmax` (written before multi-label).
    public static let metadataKey = "output_activation"

    /// The activation a checkpoint records.
    /// - Throws: `NNError.checkpointCorrupt` for a value this version does not know.
    public init(checkpoint: Checkpoint, path: String = "checkpoint") throws {
        guard let value = checkpoint.metadata[Self.metadataKey] else {
            self = .softmax
            return
        }
        guard let activation = OutputActivation(rawValue: value) else {
            throw NNError.checkpointCorrupt(path: path, reason: "unknown output activation '\(value)' (known: softmax, sigmoid)")
        }
        self = activation
    }

    /// Replaces `logits` `[N, K]` by their scores.
    public func apply(to logits: inout Tensor) {
        switch self {
        case .softmax: applySoftmaxRows(&logits)
        case .sigmoid: applySigmoid(&logits)
        }
    }
}

/// Replaces every logit by its logistic function `1 / (1 + e^−z)`.
public func applySigmoid(_ logits: inout Tensor) {
    let count = logits.count
    logits.withUnsafeMutablePointer { z in
        for i in 0..<count { z[i] = 1 / (1 + Foundation.exp(-z[i])) }
    }
}
