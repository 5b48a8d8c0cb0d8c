import Datasets
import ImageIO
import PropertyBased
import Testing

/// Invariants of `Preprocessing` over random image sizes, channel counts and working resolutions
/// (x-sheep/swift-property-based: random inputs, shrunk to the smallest failing one).
@Suite struct PreprocessingPropertyTests {
    /// An image of `width × height × channels` whose samples come from `seed` (SplitMix64).
    static func image(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
        var state = seed
        let pixels = (0..<(width * height * channels)).map { _ -> UInt8 in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    static let sides = Gen.int(in: 1...70)
    static let channels = Gen.int(in: 0...1).map { $0 == 0 ? 1 : 3 }
    static let flags = Gen.int(in: 0...1).map { $0 == 1 }
    static let workingSides = Gen.int(in: 8...40)

    @Test func anyImageConformsToExactlyTheWorkingResolution() async {
        await propertyCheck(input: Self.sides, Self.sides, Self.channels, Self.workingSides, Self.channels, Self.flags) {
            width, height, channels, side, targetChannels, resized in
            let resolution = WorkingResolution(width: side, height: side, channels: targetChannels, resized: resized, fit: .letterbox)
            let result = Preprocessing.conform(Self.image(width: width, height: height, channels: channels, seed: UInt64(width * 131 + height)), to: resolution)
            #expect(result.width == side && result.height == side && result.channels == targetChannels)
            #expect(result.pixels.count == side * side * targetChannels)
        }
    }

    @Test func aConstantImageStaysConstant() async {
        await propertyCheck(input: Self.sides, Self.sides, Gen.int(in: 0...255), Self.workingSides, Self.channels) { width, height, value, side, targetChannels in
            let image = Image(width: width, height: height, channels: 1, repeating: UInt8(value))
            let resolution = WorkingResolution(width: side, height: side, channels: targetChannels, resized: true, fit: .letterbox)
            let result = Preprocessing.conform(image, to: resolution)
            #expect(result.pixels.allSatisfy { $0 == UInt8(value) }, "letterbox padding continues a constant image, and channels convert it exactly")
        }
    }

    @Test func anImageAtTheWorkingResolutionIsUnchanged() async {
        await propertyCheck(input: Self.workingSides, Self.workingSides, Self.channels, Self.flags, Gen.int(in: 0...1000)) {
            width, height, channels, resized, seed in
            let image = Self.image(width: width, height: height, channels: channels, seed: UInt64(seed))
            let resolution = WorkingResolution(width: width, height: height, channels: channels, resized: resized, fit: .letterbox)
            #expect(Preprocessing.conform(image, to: resolution) == image)
        }
    }

    /// A nearest-neighbour upscale by an integer factor comes back to the original pixels: area
    /// averaging of identical blocks is exact, so a picture saved larger reads as the original.
    @Test func anIntegerUpscaleComesBackExactly() async {
        await propertyCheck(input: Gen.int(in: 4...32), Gen.int(in: 2...4), Self.channels, Gen.int(in: 0...1000)) { side, factor, channels, seed in
            let image = Self.image(width: side, height: side, channels: channels, seed: UInt64(seed))
            var large = Image(width: side * factor, height: side * factor, channels: channels)
            for y in 0..<large.height {
                for x in 0..<large.width {
                    for c in 0..<channels { large[x: x, y: y, channel: c] = image[x: x / factor, y: y / factor, channel: c] }
                }
            }
            let resolution = WorkingResolution(width: side, height: side, channels: channels, resized: false, fit: .letterbox)
            #expect(Preprocessing.conform(large, to: resolution) == image)
        }
    }

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
