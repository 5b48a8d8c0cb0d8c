import ImageIO
import PropertyBased
import TestSupport
import Testing

/// Invariants of `Image.fitted(width:height:channels:fit:)` over random image sizes, channel counts and targets
/// (x-sheep/swift-property-based: random inputs, shrunk to the smallest failing one).
@Suite struct ImageFittingPropertyTests {
    /// An image of `width × height × channels` whose samples come from `seed` (SplitMix64).
    static func image(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
        var generator = SplitMix64(seed: seed)
        let pixels = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    static let sides = Gen.int(in: 1...70)
    static let channels = Gen.int(in: 0...1).map { $0 == 0 ? 1 : 3 }
    static let flags = Gen.int(in: 0...1).map { $0 == 1 }
    static let workingSides = Gen.int(in: 8...40)

    @Test func anyImageFitsExactlyTheTarget() async {
        await propertyCheck(input: Self.sides, Self.sides, Self.channels, Self.workingSides, Self.channels, Self.flags) {
            width, height, channels, side, targetChannels, letterbox in
            let image = Self.image(width: width, height: height, channels: channels, seed: UInt64(width * 131 + height))
            let result = image.fitted(width: side, height: side, channels: targetChannels, fit: letterbox ? .letterbox : .centerCrop)
            #expect(result.width == side && result.height == side && result.channels == targetChannels)
            #expect(result.pixels.count == side * side * targetChannels)
        }
    }

    @Test func aConstantImageStaysConstant() async {
        await propertyCheck(input: Self.sides, Self.sides, Gen.int(in: 0...255), Self.workingSides, Self.channels) { width, height, value, side, targetChannels in
            let image = Image(width: width, height: height, channels: 1, repeating: UInt8(value))
            let result = image.fitted(width: side, height: side, channels: targetChannels, fit: .letterbox)
            #expect(result.pixels.allSatisfy { $0 == UInt8(value) }, "letterbox padding continues a constant image, and channels convert it exactly")
        }
    }

    @Test func anImageOfTheTargetSizeIsUnchanged() async {
        await propertyCheck(input: Self.workingSides, Self.workingSides, Self.channels, Self.flags, Gen.int(in: 0...1000)) {
            width, height, channels, letterbox, seed in
            let image = Self.image(width: width, height: height, channels: channels, seed: UInt64(seed))
            #expect(image.fitted(width: width, height: height, channels: channels, fit: letterbox ? .letterbox : .centerCrop) == image)
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
            #expect(large.fitted(width: side, height: side, channels: channels, fit: .letterbox) == image)
        }
    }
}

/// `Image.fitted` and `converted(toChannels:)` on fixed images.
@Suite struct ImageFittingTests {
    @Test func eachFitIsItsResizeThenTheChannelConversion() {
        var wide = Image(width: 30, height: 10, channels: 3, repeating: 40)
        for y in 0..<10 { wide[x: 1, y: y, channel: 0] = 250 }  // a red line near the left edge
        let letterboxed = wide.fitted(width: 10, height: 10, channels: 1, fit: .letterbox)
        #expect(letterboxed == ImageResize.letterbox(wide, width: 10, height: 10).converted(toChannels: 1))
        let cropped = wide.fitted(width: 10, height: 10, channels: 1, fit: .centerCrop)
        #expect(cropped == ImageResize.resize(ImageResize.centerCropSquare(wide), width: 10, height: 10).converted(toChannels: 1))
        #expect(letterboxed.pixels.max()! > 40 && cropped.pixels.allSatisfy { $0 == cropped.pixels[0] },
                "the line survives the letterbox only")
    }

    @Test func channelsConvertByBT601LumaOrReplication() {
        let rgb = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 20, 30])
        #expect(rgb.converted(toChannels: 1).pixels == [76, 18])  // (299·255 + 500) / 1000, (2990 + 11740 + 3420 + 500) / 1000
        #expect(rgb.converted(toChannels: 3) == rgb)
        let gray = Image(width: 2, height: 1, channels: 1, pixels: [7, 200])
        #expect(gray.converted(toChannels: 3).pixels == [7, 7, 7, 200, 200, 200])
    }
}
