import Datasets
import ImageIO
import PropertyBased
import TestSupport
import Testing

/// Invariants of `Preprocessing.writeScaledCHW` over random image sizes and channel counts (fitting to
/// the working resolution is ImageIO's: `ImageFittingPropertyTests`)
/// (x-sheep/swift-property-based: random inputs, shrunk to the smallest failing one).
@Suite struct PreprocessingPropertyTests {
    /// An image of `width × height × channels` whose samples come from `seed` (SplitMix64).
    static func image(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
        var generator = SplitMix64(seed: seed)
        let pixels = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    static let channels = Gen.int(in: 0...1).map { $0 == 0 ? 1 : 3 }

    @Test func scaledCHWIsInTheUnitIntervalAndInvertible() async {
        await propertyCheck(input: Gen.int(in: 1...20), Gen.int(in: 1...20), Self.channels, Gen.int(in: 0...1000)) { width, height, channels, seed in
            let image = Self.image(width: width, height: height, channels: channels, seed: UInt64(seed))
            let plane = width * height
            var out = [Float](repeating: -1, count: channels * plane)
            image.pixels.withUnsafeBufferPointer { pixels in
                out.withUnsafeMutableBufferPointer { Preprocessing.writeScaledCHW(pixels, channels: channels, plane: plane, to: $0.baseAddress!) }
            }
            #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 })
            for p in 0..<plane {
                for c in 0..<channels {
                    #expect(UInt8((out[c * plane + p] * 255).rounded()) == image.pixels[p * channels + c])
                }
            }
        }
    }
}
