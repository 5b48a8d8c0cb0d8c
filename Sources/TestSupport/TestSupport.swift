import Foundation
import NN
import Tensors

/// The worst disagreement found by `gradientCheck`.
public struct GradientCheckResult: CustomStringConvertible, Sendable {
    /// Largest `|analytic − numeric| / (absoluteTolerance + relativeTolerance·max(|analytic|, |numeric|))`;
    /// the check passes when it is ≤ 1.
    public var worstRatio: Double
    public var worstAnalytic: Double
    public var worstNumeric: Double
    /// Which tensor and element: `"input[12]"`, `"parameter 0 (weight)[3]"`.
    public var worstLocation: String
    public var checkedElements: Int

    public var passed: Bool { worstRatio <= 1 }
    public var description: String {
        "gradient check: \(checkedElements) elements, worst \(worstLocation): analytic \(worstAnalytic) numeric \(worstNumeric) (ratio \(worstRatio))"
    }
}

/// Central-difference gradient check of a layer's input and parameter gradients.
///
/// The scalar checked is `L = Σ_i output_i · R_i` for a fixed random projection `R`, accumulated in
/// `Double`; its analytic gradient is `backward(R)`. Each checked element `v` is perturbed to
/// `v ± step` and `(L⁺ − L⁻) / 2·step` is compared with the analytic value.
///
/// Tolerances: the layers compute in Float32, so `L` carries a rounding error of about
/// `2⁻²⁴ · Σ|output_i·R_i|`; divided by `2·step` (step = 1e-2) that is ~1e-4 of the output scale,
/// and the central difference's truncation error is O(step²) ~ 1e-4 for smooth layers. Hence the
/// defaults `absoluteTolerance = 2e-3`, `relativeTolerance = 1e-2`, two orders above both errors and
/// far below a wrong gradient (typically off by O(1)). Non-smooth layers (ReLU, max-pool) need inputs
/// at least `step` away from their kinks and ties; the tests choose such inputs.
///
/// - Parameters:
///   - layer: the layer to check; its parameters are perturbed and restored.
///   - input: the input batch.
///   - forward: how to run a training forward pass (defaults to `layer.forward(_, training: true)`);
///     override to reset random state (dropout) before each pass.
///   - maximumElementsPerTensor: elements checked per tensor (spread evenly) to bound the run time.
public func gradientCheck(
    layer: any Layer,
    input: Tensor,
    seed: UInt64 = 7,
    step: Float = 1e-2,
    absoluteTolerance: Double = 2e-3,
    relativeTolerance: Double = 1e-2,
    maximumElementsPerTensor: Int = 64,
    checkInput: Bool = true,
    forward: ((Tensor) -> Tensor)? = nil
) -> GradientCheckResult {
    let run: (Tensor) -> Tensor = forward ?? { layer.forward($0, training: true) }
    var generator = SeededGenerator(seed: seed)
    let firstOutput = run(input)
    let projection = Tensor.uniform(shape: firstOutput.shape, in: -1...1, using: &generator)

    func objective(_ x: Tensor) -> Double {
        let output = run(x)
        var total = 0.0
        for i in 0..<output.count { total += Double(output[i]) * Double(projection[i]) }
        return total
    }

    // Analytic gradients: one training forward then backward(R).
    _ = run(input)
    let analyticInput = layer.backward(projection)
    let analyticParameters = layer.parameters.map(\.gradient)
    // Clear the cache left by the forward passes below after the check.
    var result = GradientCheckResult(worstRatio: 0, worstAnalytic: 0, worstNumeric: 0, worstLocation: "-", checkedElements: 0)

    func consider(analytic: Double, numeric: Double, location: String) {
        let ratio = abs(analytic - numeric) / (absoluteTolerance + relativeTolerance * max(abs(analytic), abs(numeric)))
        result.checkedElements += 1
        if ratio >= result.worstRatio {
            result.worstRatio = ratio
            result.worstAnalytic = analytic
            result.worstNumeric = numeric
            result.worstLocation = location
        }
    }

    func indices(_ count: Int) -> [Int] {
        if count <= maximumElementsPerTensor { return Array(0..<count) }
        return (0..<maximumElementsPerTensor).map { $0 * count / maximumElementsPerTensor }
    }

    if checkInput {
        var x = input
        for i in indices(input.count) {
            let original = x[i]
            x[i] = original + step
            let plus = objective(x)
            x[i] = original - step
            let minus = objective(x)
            x[i] = original
            consider(analytic: Double(analyticInput[i]), numeric: (plus - minus) / (2 * Double(step)), location: "input[\(i)]")
        }
    }
    for (p, parameter) in layer.parameters.enumerated() {
        for i in indices(parameter.value.count) {
            let original = parameter.value[i]
            parameter.value[i] = original + step
            let plus = objective(input)
            parameter.value[i] = original - step
            let minus = objective(input)
            parameter.value[i] = original
            consider(
                analytic: Double(analyticParameters[p][i]), numeric: (plus - minus) / (2 * Double(step)),
                location: "parameter \(p) (\(parameter.name))[\(i)]")
        }
    }
    // Leave the layer without a pending training cache.
    _ = layer.forward(input, training: false)
    return result
}

/// Central-difference check of `SoftmaxCrossEntropy`'s gradient with respect to the logits.
public func lossGradientCheck(
    loss: SoftmaxCrossEntropy, logits: Tensor, labels: [Int], step: Float = 1e-2,
    absoluteTolerance: Double = 2e-4, relativeTolerance: Double = 1e-2
) -> GradientCheckResult {
    lossGradientCheck(logits: logits, forward: { loss.forward(logits: $0, labels: labels) }, backward: loss.backward,
                      step: step, absoluteTolerance: absoluteTolerance, relativeTolerance: relativeTolerance)
}

/// Central-difference check of `SigmoidBinaryCrossEntropy`'s gradient with respect to the logits.
public func lossGradientCheck(
    loss: SigmoidBinaryCrossEntropy, logits: Tensor, targets: Tensor, step: Float = 1e-2,
    absoluteTolerance: Double = 2e-4, relativeTolerance: Double = 1e-2
) -> GradientCheckResult {
    lossGradientCheck(logits: logits, forward: { loss.forward(logits: $0, targets: targets) }, backward: loss.backward,
                      step: step, absoluteTolerance: absoluteTolerance, relativeTolerance: relativeTolerance)
}

/// Central-difference check of a loss's gradient: `forward` gives the loss of logits, `backward`
/// the analytic gradient of the last `forward`.
public func lossGradientCheck(
    logits: Tensor, forward: (Tensor) -> Float, backward: () -> Tensor, step: Float,
    absoluteTolerance: Double, relativeTolerance: Double
) -> GradientCheckResult {
    _ = forward(logits)
    let analytic = backward()
    var result = GradientCheckResult(worstRatio: 0, worstAnalytic: 0, worstNumeric: 0, worstLocation: "-", checkedElements: 0)
    var x = logits
    for i in 0..<logits.count {
        let original = x[i]
        x[i] = original + step
        let plus = Double(forward(x))
        x[i] = original - step
        let minus = Double(forward(x))
        x[i] = original
        let numeric = (plus - minus) / (2 * Double(step))
        let ratio = abs(Double(analytic[i]) - numeric) / (absoluteTolerance + relativeTolerance * max(abs(Double(analytic[i])), abs(numeric)))
        result.checkedElements += 1
        if ratio >= result.worstRatio {
            result = GradientCheckResult(
                worstRatio: ratio, worstAnalytic: Double(analytic[i]), worstNumeric: numeric,
                worstLocation: "logits[\(i)]", checkedElements: result.checkedElements)
        }
    }
    return result
}

/// One tensor of a JSON fixture: `{"shape": [...], "values": [...]}`.
public struct FixtureTensor: Codable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public var tensor: Tensor { Tensor(shape: Shape(shape), values: values) }
}

/// A golden-value fixture written by `Scripts/make_fixtures.py`: named tensors plus scalar and
/// integer settings, e.g. `tensors["input"]`, `tensors["output"]`, `numbers["stride"]`.
public struct Fixture: Codable, Sendable {
    public var description: String
    public var tensors: [String: FixtureTensor]
    public var numbers: [String: Double]
    public var integers: [String: [Int]]

    public func tensor(_ name: String) -> Tensor {
        guard let fixture = tensors[name] else { fatalError("fixture has no tensor \(name): \(tensors.keys.sorted())") }
        return fixture.tensor
    }

    public func number(_ name: String) -> Double {
        guard let value = numbers[name] else { fatalError("fixture has no number \(name)") }
        return value
    }

    /// Loads `name.json` from a directory (a test bundle's `Fixtures` folder).
    public static func load(_ name: String, from directory: URL) throws -> Fixture {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }
}

/// A tiny synthetic classification set: `count` images `[C, H, W]` whose class is encoded by which
/// quadrant is bright, plus noise — learnable by a small network in a few steps.
public func syntheticImages(count: Int, channels: Int = 1, side: Int = 8, classes: Int = 4, seed: UInt64 = 1) -> (images: Tensor, labels: [Int]) {
    var generator = SeededGenerator(seed: seed)
    var images = Tensor(shape: [count, channels, side, side])
    var labels = [Int]()
    let half = side / 2
    for n in 0..<count {
        let label = n % classes
        labels.append(label)
        let qy = (label / 2) % 2, qx = label % 2
        for c in 0..<channels {
            for y in 0..<side {
                for x in 0..<side {
                    let bright = (y / half == qy) && (x / half == qx)
                    images[((n * channels + c) * side + y) * side + x] = (bright ? 1 : 0) + 0.2 * generator.nextGaussian()
                }
            }
        }
    }
    return (images, labels)
}
