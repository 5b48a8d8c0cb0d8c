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
