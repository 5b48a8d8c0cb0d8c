import Foundation

/// A learning rate as a function of the optimisation step (0-based). Codable, so a job spec can be
/// saved and reloaded.
public protocol LearningRateSchedule: Codable, Sendable {
    func learningRate(at step: Int) -> Float
}

/// Linear warm-up from 0 to `initial` over `warmupSteps`, then cosine decay from `initial` to `end`
/// over `decaySteps` (Loshchilov & Hutter 2017, SGDR, https://arxiv.org/abs/1608.03983), then `end`.
public struct CosineSchedule: LearningRateSchedule, Equatable {
    public var initial: Float
    public var decaySteps: Int
    public var warmupSteps: Int
    public var end: Float

    public init(initial: Float, decaySteps: Int, warmupSteps: Int = 0, end: Float = 0) {
        self.initial = initial
        self.decaySteps = decaySteps
        self.warmupSteps = warmupSteps
        self.end = end
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return initial * Float(step + 1) / Float(warmupSteps) }
        let progress = min(1, Double(step - warmupSteps) / Double(max(1, decaySteps)))
        return end + (initial - end) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}

/// The one-cycle policy (Smith & Topin 2017, https://arxiv.org/abs/1708.07120) as PyTorch's
/// `OneCycleLR` with cosine annealing: from `maximum / divisionFactor` up to `maximum` over the first
/// `warmupFraction` of `totalSteps`, then down to `maximum / (divisionFactor · finalDivisionFactor)`.
public struct OneCycleSchedule: LearningRateSchedule, Equatable {
    public var maximum: Float
    public var totalSteps: Int
    public var warmupFraction: Double
    public var divisionFactor: Float
    public var finalDivisionFactor: Float

    public init(maximum: Float, totalSteps: Int, warmupFraction: Double = 0.3, divisionFactor: Float = 25, finalDivisionFactor: Float = 1e4) {
        self.maximum = maximum
        self.totalSteps = totalSteps
        self.warmupFraction = warmupFraction
        self.divisionFactor = divisionFactor
        self.finalDivisionFactor = finalDivisionFactor
    }

    public func learningRate(at step: Int) -> Float {
        let initial = Double(maximum / divisionFactor)
        let minimum = initial / Double(finalDivisionFactor)
        let peakStep = warmupFraction * Double(totalSteps) - 1
        let lastStep = Double(totalSteps - 1)
        func cosine(_ start: Double, _ end: Double, _ fraction: Double) -> Double {
            end + (start - end) / 2 * (1 + Foundation.cos(Double.pi * fraction))
        }
        let s = Double(min(step, totalSteps - 1))
        if s <= peakStep { return Float(cosine(initial, Double(maximum), s / peakStep)) }
        return Float(cosine(Double(maximum), minimum, (s - peakStep) / (lastStep - peakStep)))
    }
}

/// A constant learning rate.
public struct ConstantSchedule: LearningRateSchedule, Equatable {
    public var value: Float
    public init(_ value: Float) { self.value = value }
    public func learningRate(at step: Int) -> Float { value }
}

/// Warmup–stable–decay (WSD): linear warm-up from 0 to `peak` over `warmupSteps`, `peak` until
/// `decayStart`, then a "1 − sqrt" cool-down to 0 over `decaySteps`, then 0.
///
/// Unlike cosine or one-cycle, the length of training need not be fixed in advance: the cool-down
/// can start at any step of the stable phase (`coolingDown(at:steps:)`), and a cool-down of 10–20 %
/// of the steps run matches a cosine schedule of the same length (Hu et al. 2024, MiniCPM,
/// https://arxiv.org/abs/2404.06395; Hägele et al. 2024, https://arxiv.org/abs/2405.18392, whose
/// "1 − sqrt" shape is used here). The trainer uses this to end a plateaued or deadline-bound
/// training with an annealed network instead of one stopped at the peak learning rate.
public struct WarmupStableDecaySchedule: LearningRateSchedule, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    /// First step of the cool-down.
    public var decayStart: Int
    public var decaySteps: Int

    public init(peak: Float, warmupSteps: Int, decayStart: Int, decaySteps: Int) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.decayStart = decayStart
        self.decaySteps = decaySteps
    }

    /// `totalSteps` with `warmupFraction` of warm-up and `decayFraction` of cool-down at the end.
    public init(peak: Float, totalSteps: Int, warmupFraction: Double = 0.05, decayFraction: Double = 0.2) {
        let warmup = Int(warmupFraction * Double(totalSteps))
        let decay = max(1, Int(decayFraction * Double(totalSteps)))
        self.init(peak: peak, warmupSteps: warmup, decayStart: max(warmup, totalSteps - decay), decaySteps: decay)
    }

    /// True once `step` is past the warm-up and before the cool-down.
    public func isStable(at step: Int) -> Bool { step >= warmupSteps && step < decayStart }

    /// The same schedule with its cool-down moved to start at `step` and last `steps`.
    public func coolingDown(at step: Int, steps: Int) -> WarmupStableDecaySchedule {
        WarmupStableDecaySchedule(peak: peak, warmupSteps: warmupSteps, decayStart: step, decaySteps: max(1, steps))
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if step < decayStart { return peak }
        let progress = min(1, Double(step - decayStart) / Double(decaySteps))
        return peak * Float(1 - progress.squareRoot())
    }
}
