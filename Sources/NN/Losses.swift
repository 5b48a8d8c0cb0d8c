import Foundation
import Tensors

/// Softmax followed by cross-entropy, fused (stable log-sum-exp forward; backward
/// `(softmax − target) / N`, like llm.c's `crossentropy_softmax_backward`).
///
/// Shapes: logits `[N, K]`, labels `N` class indices → a scalar (the mean loss).
/// Matches PyTorch's `cross_entropy(logits, labels, weight:, label_smoothing:)` with mean reduction:
/// the per-sample loss is `(1 − ε)·w_y·(−log p_y) + ε/K · Σ_c w_c·(−log p_c)` and the mean divides by
/// `Σ_i w_{y_i}` (by N without class weights).
public final class SoftmaxCrossEntropy {
    /// ε: the target puts `1 − ε + ε/K` on the label and `ε/K` on each other class (Szegedy et al.
    /// 2016, https://arxiv.org/abs/1512.00567).
    public let labelSmoothing: Float
    /// Optional per-class weights `w` (length K), e.g. inverse class frequencies.
    public let classWeights: [Float]?

    private var probabilities = Tensor.empty
    private var labels = [Int]()
    private var logitsGradient = Tensor.empty

    public init(labelSmoothing: Float = 0, classWeights: [Float]? = nil) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing \(labelSmoothing) outside [0, 1)")
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
                    let labelWeight = Double(classWeights?[label] ?? 1)
                    var loss = (1 - epsilon) * labelWeight * (logSum - Double(line[label]))
                    if epsilon > 0 {
                        var smooth = 0.0
                        for c in 0..<classes { smooth += Double(classWeights?[c] ?? 1) * (logSum - Double(line[c])) }
                        loss += epsilon / Double(classes) * smooth
                    }
                    total += loss
                    weightTotal += labelWeight
                }
            }
        }
        return Float(total / weightTotal)
    }

    /// Gradient of the mean loss with respect to the logits of the last `forward`, `[N, K]`.
    public func backward() -> Tensor {
        let batch = probabilities.shape[0], classes = probabilities.shape[1]
        logitsGradient.resize(to: probabilities.shape)
        let epsilon = labelSmoothing
        let weightTotal = classWeights.map { w in labels.reduce(Float(0)) { $0 + w[$1] } } ?? Float(batch)
        let smoothWeightSum = (classWeights?.reduce(0, +) ?? Float(classes)) * epsilon / Float(classes)
        probabilities.withUnsafePointer { p in
            logitsGradient.withUnsafeMutablePointer { dz in
                for row in 0..<batch {
                    let label = labels[row]
                    let labelWeight = classWeights?[label] ?? 1
                    // d/dz of (1−ε)·w_y·(−log p_y) + ε/K·Σ_c w_c·(−log p_c)
                    //   = p · ((1−ε)·w_y + ε/K·Σw) − ((1−ε)·w_y·onehot_y + ε/K·w)
                    let probabilityFactor = (1 - epsilon) * labelWeight + smoothWeightSum
                    for c in 0..<classes {
                        var value = p[row * classes + c] * probabilityFactor - epsilon / Float(classes) * (classWeights?[c] ?? 1)
                        if c == label { value -= (1 - epsilon) * labelWeight }
                        dz[row * classes + c] = value / weightTotal
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
