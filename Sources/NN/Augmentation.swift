import Foundation
import Tensors

/// Per-channel input normalisation `x ← (x − mean) / standardDeviation`, fitted on TRAIN only.
public struct ChannelNormalization: Codable, Equatable, Sendable {
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(mean: [Float], standardDeviation: [Float]) {
        precondition(mean.count == standardDeviation.count)
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Mean and (population) standard deviation of each channel of `images` `[N, C, H, W]`,
    /// accumulated in `Double` (`init(channelSums:squares:count:scale:)`).
    public static func fit(images: Tensor) -> ChannelNormalization {
        let shape = images.shape
        precondition(shape.rank == 4, "fit expects [N, C, H, W], got \(shape)")
        let channels = shape[1], plane = shape[2] * shape[3]
        var sums = [Double](repeating: 0, count: channels), squares = sums
        images.withUnsafePointer { x in
            for n in 0..<shape[0] {
                for c in 0..<channels {
                    let p = x + (n * channels + c) * plane
                    var s = 0.0, q = 0.0
                    for i in 0..<plane {
                        s += Double(p[i])
                        q += Double(p[i]) * Double(p[i])
                    }
                    sums[c] += s
                    squares[c] += q
                }
            }
        }
        return ChannelNormalization(channelSums: sums, squares: squares, count: Double(shape[0] * plane))
    }

    /// The least standard deviation a channel is divided by (in units of `scale`: about 26 of 255
    /// grey levels). Dividing by a near-zero deviation turns small variation at prediction time into
    /// inputs far outside what the network saw: intake 16's red-and-blue TRAIN set has a green
    /// deviation of 0.05, and one pinkish pixel then reached 7.6 and could flip the answer; a constant
    /// channel was divided by 10⁻⁴. Real images' channels deviate by 0.15–0.4, so this floor leaves
    /// them alone (the suite's: 0.25–0.37). scikit-learn's `StandardScaler` guards the same fault by
    /// not scaling zero-variance features.
    public static let minimumDeviation = 0.1

    /// The normalisation of per-channel moments, computed in `Double`: mean `sums[c] / count / scale`
    /// and population standard deviation `√(squares[c] / count / scale² − mean²)`, at least
    /// `minimumDeviation`.
    /// - Parameters:
    ///   - sums: `[C]` sum of each channel's samples.
    ///   - squares: `[C]` sum of the squares of each channel's samples.
    ///   - count: samples per channel (images × H × W).
    ///   - scale: what each sample is divided by first: 255 to fit UInt8 pixels as values in `[0, 1]`.
    public init(channelSums sums: [Double], squares: [Double], count: Double, scale: Double = 1) {
        let mean = sums.map { $0 / count / scale }
        let deviation = zip(squares, mean).map { square, mean in
            max(max(square / count / (scale * scale) - mean * mean, 0).squareRoot(), Self.minimumDeviation)
        }
        self.init(mean: mean.map { Float($0) }, standardDeviation: deviation.map { Float($0) })
    }

    /// Normalises a batch `[N, C, H, W]` in place.
    public func apply(to batch: inout Tensor) {
        let shape = batch.shape
        let channels = shape[1], plane = shape[2] * shape[3]
        precondition(channels == mean.count, "normalisation for \(mean.count) channels applied to \(shape)")
        let mean = mean, inverse = standardDeviation.map { 1 / $0 }
        batch.withUnsafeMutablePointer { x in
            for n in 0..<shape[0] {
                for c in 0..<channels {
                    let p = x + (n * channels + c) * plane
                    let m = mean[c], s = inverse[c]
                    for i in 0..<plane { p[i] = (p[i] - m) * s }
                }
            }
        }
    }
}

/// Which augmentations to apply to training batches; each is switchable.
public struct AugmentationOptions: Codable, Equatable, Sendable {
    /// Random translation by up to this many pixels with zero fill (= pad, then random crop); 0 = off.
    public var cropPadding: Int
    /// Mirror left–right with probability 1/2.
    public var horizontalFlip: Bool
    /// Probability of erasing one random rectangle per image (Zhong et al. 2017,
    /// https://arxiv.org/abs/1708.04896); 0 = off. The rectangle covers 2–33 % of the image with an
    /// aspect ratio in [0.3, 3.3] and is filled with 0 (the mean after normalisation).
    public var erasingProbability: Float

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, erasingProbability: Float = 0) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.erasingProbability = erasingProbability
    }

    public static let none = AugmentationOptions()
}

/// Applies `AugmentationOptions` to `[N, C, H, W]` batches in place, drawing from a seeded generator
/// (reproducible). Owns a scratch plane reused across batches.
public final class Augmenter {
    public var options: AugmentationOptions
    public var generator: SeededGenerator
    private var scratch = [Float]()

    public init(options: AugmentationOptions, seed: UInt64) {
        self.options = options
        generator = SeededGenerator(seed: seed)
    }

    public func apply(to batch: inout Tensor) {
        let shape = batch.shape
        precondition(shape.rank == 4, "augmentation expects [N, C, H, W], got \(shape)")
        let channels = shape[1], height = shape[2], width = shape[3], plane = height * width
        if scratch.count < plane { scratch = [Float](repeating: 0, count: plane) }
        let options = options
        var generator = generator
        batch.withUnsafeMutablePointer { x in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                let temp = scratchBuffer.baseAddress!
                for n in 0..<shape[0] {
                    let image = x + n * channels * plane
                    if options.cropPadding > 0 {
                        let range = 2 * options.cropPadding + 1
                        let dy = generator.nextInt(below: range) - options.cropPadding
                        let dx = generator.nextInt(below: range) - options.cropPadding
                        if dx != 0 || dy != 0 {
                            for c in 0..<channels {
                                let p = image + c * plane
                                temp.update(from: p, count: plane)
                                for y in 0..<height {
                                    let sy = y + dy
                                    for xx in 0..<width {
                                        let sx = xx + dx
                                        p[y * width + xx] = (0..<height).contains(sy) && (0..<width).contains(sx) ? temp[sy * width + sx] : 0
                                    }
                                }
                            }
                        }
                    }
                    if options.horizontalFlip && generator.next() & 1 == 1 {
                        for c in 0..<channels {
                            for y in 0..<height {
                                let row = image + c * plane + y * width
                                var left = 0, right = width - 1
                                while left < right {
                                    swap(&row[left], &row[right])
                                    left += 1
                                    right -= 1
                                }
                            }
                        }
                    }
                    if options.erasingProbability > 0 && generator.nextFloat() < options.erasingProbability {
                        for _ in 0..<10 {  // a few attempts to fit the rectangle, as the paper
                            let area = Float(plane) * generator.nextFloat(in: 0.02...0.33)
                            let aspect = Foundation.exp(generator.nextFloat(in: Foundation.log(0.3)...Foundation.log(3.3)))
                            let h = Int((area * aspect).squareRoot().rounded()), w = Int((area / aspect).squareRoot().rounded())
                            guard h > 0, w > 0, h < height, w < width else { continue }
                            let top = generator.nextInt(below: height - h + 1), left = generator.nextInt(below: width - w + 1)
                            for c in 0..<channels {
                                for y in top..<(top + h) { (image + c * plane + y * width + left).update(repeating: 0, count: w) }
                            }
                            break
                        }
                    }
                }
            }
        }
        self.generator = generator
    }
}
