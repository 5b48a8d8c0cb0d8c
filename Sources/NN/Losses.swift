import Foundation
import Tensors

/// Softmax followed by cross-entropy, fused (stable log-sum-exp forward; backward
/// `w_y·(softmax − target) / Σw`, like llm.c's `crossentropy_softmax_backward` with a weight per row).
///
/// Shapes: logits `[N, K]`, labels `N` class indices → a scalar (the mean loss).
///
/// A class weight multiplies the loss of the examples of that class, whatever the smoothing: the
/// per-example loss is `w_y · ((1 − ε)·(−log p_y) + ε/K · Σ_c (−log p_c))`, Keras's `class_weight`
/// semantics (`Model.fit(class_weight=)` scales each example's sample weight by its true class's
/// weight, https://keras.io/api/models/model_training_apis/#fit-method). PyTorch's
/// `cross_entropy(weight=, label_smoothing=)` instead weights each smoothed target component by its
/// own class's weight (https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html);
/// at a 700:1 imbalance the rare classes' weights times their smoothing mass then outweigh the true
/// class for every example, and every prediction goes to a rare class (issue 19).
///
/// The mean is weighted, `Σ_i w_{y_i}·loss_i / Σ_i w_{y_i}` (PyTorch's normalisation for `weight=`,
/// so without smoothing this is exactly `cross_entropy(weight=)`), not Keras's division by the batch
/// size: the batch loss stays a convex combination of per-example losses, so its gradient's scale does
/// not grow with the weights (balanced weights reach ~30 at 700:1, and one rare example would make
/// its batch's step ~30× larger). Without class weights, the mean divides by N.
public final class SoftmaxCrossEntropy {
    /// ε: the target puts `1 − ε + ε/K` on the label and `ε/K` on each other class (Szegedy et al.
    /// 2016, https://arxiv.org/abs/1512.00567).
    public let labelSmoothing: Float
    /// Optional per-class weights `w` (length K), e.g. inverse class frequencies: an example of class
    /// `c` counts `w_c` times in the mean.
    public let classWeights: [Float]?

    private var probabilities = Tensor.empty
    private var labels = [Int]()
    private var logitsGradient = Tensor.empty

    public init(labelSmoothing: Float = 0, classWeights: [Float]? = nil) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing \(labelSmoothing) outside [0, 1)")
        if let classWeights { precondition(classWeights.allSatisfy { $0 >= 0 && $0.isFinite }, "class weights must be finite and ≥ 0") }
        self.labelSmoothing = labelSmoothing
        self.classWeights = classWeights
    }

    /// The softmax probabilities of the last `forward`, `[N, K]`.
    public var lastProbabilities: Tensor { probabilities }

    /// Mean loss of `logits` against `labels`; keeps the softmax for `backward`.
    public func forward(logits: Tensor, labels: [Int]) -> Float {
        precondition(logits.shape.rank == 2 && logits.shape[0] == labels.count, "logits \(logits.shape) for \(labels.count) labels")
        let batch = logits.shape[0], classes = logits.shape[1]
        if let classWeights { precondition(classWeights.count == classes, "\(classWeights.count) class weights for \(classes) classes") }
        probabilities.resize(to: logits.shape)
        self.labels = labels
        let epsilon = Double(labelSmoothing)
        var total = 0.0
        var weightTotal = 0.0
        logits.withUnsafePointer { z in
            probabilities.withUnsafeMutablePointer { p in
                for row in 0..<batch {
                    let line = z + row * classes, target = p + row * classes
                    var maximum = -Float.infinity
                    for c in 0..<classes { maximum = max(maximum, line[c]) }
                    var sum = 0.0
                    for c in 0..<classes {
                        let e = Foundation.exp(Double(line[c] - maximum))
                        target[c] = Float(e)
                        sum += e
                    }
                    let logSum = Foundation.log(sum) + Double(maximum)
                    for c in 0..<classes { target[c] = Float(Double(target[c]) / sum) }
                    let label = labels[row]
                    precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
                    var loss = (1 - epsilon) * (logSum - Double(line[label]))
                    if epsilon > 0 {
                        var smooth = 0.0
                        for c in 0..<classes { smooth += logSum - Double(line[c]) }
                        loss += epsilon / Double(classes) * smooth
                    }
                    let weight = Double(classWeights?[label] ?? 1)
                    total += weight * loss
                    weightTotal += weight
                }
            }
        }
        return weightTotal > 0 ? Float(total / weightTotal) : 0
    }

    /// Gradient of the mean loss with respect to the logits of the last `forward`, `[N, K]`:
    /// row i is `w_{y_i} · (p_i − t_i) / Σ_j w_{y_j}`, with `t_i` the smoothed one-hot target.
    public func backward() -> Tensor {
        let batch = probabilities.shape[0], classes = probabilities.shape[1]
        logitsGradient.resize(to: probabilities.shape)
        let epsilon = labelSmoothing
        let weightTotal = classWeights.map { w in labels.reduce(Float(0)) { $0 + w[$1] } } ?? Float(batch)
        let offLabel = epsilon / Float(classes), onLabel = 1 - epsilon + epsilon / Float(classes)
        probabilities.withUnsafePointer { p in
            logitsGradient.withUnsafeMutablePointer { dz in
                for row in 0..<batch {
                    let label = labels[row]
                    let scale = weightTotal > 0 ? (classWeights?[label] ?? 1) / weightTotal : 0
                    for c in 0..<classes {
                        dz[row * classes + c] = scale * (p[row * classes + c] - (c == label ? onLabel : offLabel))
                    }
                }
            }
        }
        return logitsGradient
    }
}

/// Replaces logits `[N, K]` by their row-wise softmax, computed stably (maximum subtracted first).
/// The one softmax used for inference: `Classifier` and the trainer's evaluation share it.
public func applySoftmaxRows(_ logits: inout Tensor) {
    let rows = logits.shape[0], classes = logits.shape[1]
    logits.withUnsafeMutablePointer { z in
        for row in 0..<rows {
            let line = z + row * classes
            var maximum = -Float.infinity
            for c in 0..<classes { maximum = max(maximum, line[c]) }
            var sum: Float = 0
            for c in 0..<classes {
                line[c] = Foundation.exp(line[c] - maximum)
                sum += line[c]
            }
            for c in 0..<classes { line[c] /= sum }
        }
    }
}

/// A sigmoid per output followed by binary cross-entropy, fused: the multi-label loss, each of the K
/// labels an independent yes/no question (`torch.nn.BCEWithLogitsLoss`, Keras
/// `BinaryCrossentropy(from_logits=True)`).
///
/// Shapes: logits `[N, K]`, targets `[N, K]` of 0 or 1 → a scalar (the mean loss).
///
/// Per element, with `z` the logit, `t` the smoothed target and `σ` the logistic function:
/// `loss = max(z, 0) − z·t + log(1 + exp(−|z|))` (the stable form of `−t·log σ(z) − (1−t)·log(1−σ(z))`).
/// Label smoothing ε moves each target toward ½: `t = y·(1 − ε) + ε/2`, Keras's
/// `BinaryCrossentropy(label_smoothing=)` (https://keras.io/api/losses/probabilistic_losses/).
///
/// Label weights follow the single-label loss's rule (a class weight multiplies the loss of the
/// examples of that class, whatever the smoothing) in each label's own two-class problem: element
/// (i, k) is weighted by `positiveWeights[k]` when image i has label k, by `negativeWeights[k]`
/// otherwise. The mean is weighted, `Σ w·loss / Σ w`, as `SoftmaxCrossEntropy`'s is; without
/// weights it divides by N·K (`BCEWithLogitsLoss(reduction='mean')`).
public final class SigmoidBinaryCrossEntropy {
    /// ε: a target of 1 becomes `1 − ε/2`, a target of 0 becomes `ε/2`.
    public let labelSmoothing: Float
    /// Optional per-label weights of the positive and negative elements (length K each).
    public let positiveWeights: [Float]?
    public let negativeWeights: [Float]?

    private var probabilities = Tensor.empty
    private var targets = Tensor.empty
    private var logitsGradient = Tensor.empty

    public init(labelSmoothing: Float = 0, positiveWeights: [Float]? = nil, negativeWeights: [Float]? = nil) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing \(labelSmoothing) outside [0, 1)")
        precondition((positiveWeights == nil) == (negativeWeights == nil), "give both positive and negative weights, or neither")
        for weights in [positiveWeights, negativeWeights] {
            if let weights { precondition(weights.allSatisfy { $0 >= 0 && $0.isFinite }, "label weights must be finite and ≥ 0") }
        }
        self.labelSmoothing = labelSmoothing
        self.positiveWeights = positiveWeights
        self.negativeWeights = negativeWeights
    }

    /// The sigmoid probabilities of the last `forward`, `[N, K]`.
    public var lastProbabilities: Tensor { probabilities }

    private func weight(label k: Int, positive: Bool) -> Float {
        guard let positiveWeights, let negativeWeights else { return 1 }
        return positive ? positiveWeights[k] : negativeWeights[k]
    }

    /// Mean loss of `logits` against `targets` (`[N, K]`, each 0 or 1); keeps the sigmoid for `backward`.
    public func forward(logits: Tensor, targets: Tensor) -> Float {
        precondition(logits.shape.rank == 2 && logits.shape == targets.shape, "logits \(logits.shape) for targets \(targets.shape)")
        let labels = logits.shape[1]
        if let positiveWeights { precondition(positiveWeights.count == labels, "\(positiveWeights.count) label weights for \(labels) labels") }
        probabilities.resize(to: logits.shape)
        self.targets = targets
        let epsilon = Double(labelSmoothing)
        var total = 0.0, weightTotal = 0.0
        logits.withUnsafePointer { z in
            targets.withUnsafePointer { y in
                probabilities.withUnsafeMutablePointer { p in
                    for i in 0..<logits.count {
                        let logit = Double(z[i]), positive = y[i] > 0.5
                        let target = (positive ? 1 - epsilon : 0) + epsilon / 2
                        p[i] = Float(1 / (1 + Foundation.exp(-logit)))
                        let loss = max(logit, 0) - logit * target + Foundation.log1p(Foundation.exp(-abs(logit)))
                        let w = Double(weight(label: i % labels, positive: positive))
                        total += w * loss
                        weightTotal += w
                    }
                }
            }
        }
        return weightTotal > 0 ? Float(total / weightTotal) : 0
    }

    /// Gradient of the mean loss with respect to the logits of the last `forward`, `[N, K]`:
    /// element (i, k) is `w_ik · (σ(z_ik) − t_ik) / Σ w`.
    public func backward() -> Tensor {
        let labels = probabilities.shape[1], count = probabilities.count
        logitsGradient.resize(to: probabilities.shape)
        let epsilon = labelSmoothing
        var weightTotal: Float = 0
        targets.withUnsafePointer { y in
            for i in 0..<count { weightTotal += weight(label: i % labels, positive: y[i] > 0.5) }
        }
        probabilities.withUnsafePointer { p in
            targets.withUnsafePointer { y in
                logitsGradient.withUnsafeMutablePointer { dz in
                    for i in 0..<count {
                        let positive = y[i] > 0.5
                        let target = (positive ? 1 - epsilon : 0) + epsilon / 2
                        let scale = weightTotal > 0 ? weight(label: i % labels, positive: positive) / weightTotal : 0
                        dz[i] = scale * (p[i] - target)
                    }
                }
            }
        }
        return logitsGradient
    }
}
