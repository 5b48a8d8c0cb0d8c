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
