/// What training and scoring a network costs on this machine: seconds per image processed,
/// `secondsPerImage + secondsPerImageFLOP × forward FLOPs per image`.
///
/// A training image counts 1, a scored (forward-only) image 1/3. The fixed per-image term is the
/// work that does not grow with FLOPs (batch assembly, augmentation, optimizer steps, memory-bound
/// layers). Without it, a model fitted on the many small networks of a search prices large ones
/// too high. See docs/decisions/0002-cost-model-with-a-per-image-term.md.
public struct CostModel: Codable, Equatable, Sendable {
    /// Seconds per image that do not depend on the network's size.
    public var secondsPerImage: Double
    /// Seconds per image per forward FLOP.
    public var secondsPerImageFLOP: Double

    public init(secondsPerImage: Double = 0, secondsPerImageFLOP: Double) {
        self.secondsPerImage = secondsPerImage
        self.secondsPerImageFLOP = secondsPerImageFLOP
    }

    /// Seconds per image for a network of `flops` forward FLOPs per image.
    public func secondsPerImage(flops: Double) -> Double { secondsPerImage + secondsPerImageFLOP * max(1, flops) }

    /// Seconds of `trainImages` training images and `scoredImages` forward-only ones.
    public func seconds(flops: Double, trainImages: Double, scoredImages: Double = 0) -> Double {
        secondsPerImage(flops: flops) * (trainImages + scoredImages / 3)
    }

    /// This model with every cost `factor` times as high.
    public func scaled(by factor: Double) -> CostModel {
        CostModel(secondsPerImage: secondsPerImage * factor, secondsPerImageFLOP: secondsPerImageFLOP * factor)
    }

    /// The most FLOPs per image for which one image costs at most `seconds` (`nil`: none fits).
    public func maximumFLOPs(secondsPerImage seconds: Double) -> Double? {
        let left = seconds - secondsPerImage
        return left > 0 ? left / max(1e-18, secondsPerImageFLOP) : nil
    }

    /// Least-squares fit of seconds per image against FLOPs over measured runs, each
    /// `(flops, seconds per image)`. Falls back to `fallback` (a median ratio) when the runs do not
    /// determine a line: fewer than three, too alike in FLOPs (under a 1.5× spread), or a fit whose
    /// slope or intercept is negative (noise, not cost).
    public static func fit(_ runs: [(flops: Double, secondsPerImage: Double)], fallback: CostModel) -> CostModel {
        guard runs.count >= 3, let low = runs.map(\.flops).min(), let high = runs.map(\.flops).max(), high >= 1.5 * low else {
            return fallback
        }
        let n = Double(runs.count)
        let meanX = runs.map(\.flops).reduce(0, +) / n
        let meanY = runs.map(\.secondsPerImage).reduce(0, +) / n
        let covariance = runs.map { ($0.flops - meanX) * ($0.secondsPerImage - meanY) }.reduce(0, +)
        let variance = runs.map { ($0.flops - meanX) * ($0.flops - meanX) }.reduce(0, +)
        let slope = covariance / variance
        let intercept = meanY - slope * meanX
        guard slope > 0, intercept >= 0 else { return fallback }
        return CostModel(secondsPerImage: intercept, secondsPerImageFLOP: slope)
    }
}
