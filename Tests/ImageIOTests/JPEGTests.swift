import ImageIO
import Testing

@Suite("JPEG decoding")
struct JPEGTests {
    @Test("1-component JPEG decodes to 1 channel (or replicated RGB)")
    func grayJPEG() throws {
        let image = Image(width: 16, height: 16, channels: 1, repeating: 200)
        let bytes = try JPEGEncoder.encode(image, quality: 95)
        #expect(ImageFormat.sniff(bytes) == .jpeg)
        let d = try ImageDecoder.decode(bytes)
        #expect(d.isGrayscale && d.image.channels == 1)
        #expect(d.sourceDescription == "JPEG baseline gray")
        #expect(d.image.pixels.allSatisfy { abs(Int($0) - 200) <= 2 })
        let rgb = try ImageDecoder.decode(bytes, options: DecodeOptions(outputChannels: 3))
        #expect(rgb.image.channels == 3 && isClose(rgb.image.pixel(x: 8, y: 8), [200, 200, 200], tolerance: 2))
    }

    @Test("progressive JPEG decodes like baseline")
    func progressive() throws {
        var image = Image(width: 32, height: 16, channels: 3)
        for y in 0..<16 { for x in 0..<32 where x >= 16 { image[x: x, y: y, channel: 2] = 255 } }
        for y in 0..<16 { for x in 0..<16 { image[x: x, y: y, channel: 0] = 255 } }
        let baseline = try ImageDecoder.decode(try JPEGEncoder.encode(image))
        let progressive = try ImageDecoder.decode(try JPEGEncoder.encode(image, progressive: true))
        #expect(progressive.sourceDescription == "JPEG progressive YCbCr")
        #expect(baseline.sourceDescription == "JPEG baseline YCbCr")
        #expect(isClose(progressive.image.pixel(x: 4, y: 8), [255, 0, 0], tolerance: 12))
        #expect(isClose(progressive.image.pixel(x: 28, y: 8), [0, 0, 255], tolerance: 12))
        let maxDifference = zip(baseline.image.pixels, progressive.image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(maxDifference <= 12)
    }

    @Test("RGB JPEG to luma")
    func jpegLuma() throws {
        let image = Image(width: 16, height: 16, channels: 3, pixels: [UInt8](repeating: 0, count: 16 * 16 * 3).enumerated()
            .map { $0.offset % 3 == 1 ? 255 : 0 })
        let d = try ImageDecoder.decode(try JPEGEncoder.encode(image, quality: 95), options: DecodeOptions(outputChannels: 1))
        #expect(d.image.channels == 1 && abs(Int(d.image.pixel(x: 8, y: 8)[0]) - 150) <= 4)
    }

    /// Upright 16×32 picture with four solid quadrants (8×16 each, larger than a JPEG MCU).
    static let upright: Image = {
        var image = Image(width: 16, height: 32, channels: 3)
        let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]
        for y in 0..<32 {
            for x in 0..<16 {
                let colour = colours[(y < 16 ? 0 : 2) + (x < 8 ? 0 : 1)]
                for c in 0..<3 { image[x: x, y: y, channel: c] = colour[c] }
            }
        }
        return image
    }()

    @Test("all eight EXIF orientations round-trip to the upright picture", arguments: 1...8)
    func allOrientations(orientation: Int) throws {
        // Store the inverse transform so that applying `orientation` yields the upright picture.
        let inverse = orientation == 6 ? 8 : orientation == 8 ? 6 : orientation
        let stored = Self.upright.applyingEXIFOrientation(inverse)
        let bytes = try JPEGEncoder.encode(stored, quality: 95, exifOrientation: orientation)
        let d = try ImageDecoder.decode(bytes)
        #expect(d.orientation == orientation)
        #expect(d.sourceWidth == stored.width && d.sourceHeight == stored.height)
        #expect(d.image.width == 16 && d.image.height == 32)
        for (x, y) in [(4, 8), (12, 8), (4, 24), (12, 24)] {
            let expected = Self.upright.pixel(x: x, y: y).map(Int.init)
            #expect(isClose(d.image.pixel(x: x, y: y), expected, tolerance: 40), "orientation \(orientation) at (\(x),\(y))")
        }
    }

    @Test("exact orientation mapping on a 3x2 image")
    func orientationMapping() {
        let image = Image(width: 3, height: 2, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        let expected: [Int: (Int, Int, [UInt8])] = [
            1: (3, 2, [1, 2, 3, 4, 5, 6]), 2: (3, 2, [3, 2, 1, 6, 5, 4]), 3: (3, 2, [6, 5, 4, 3, 2, 1]),
            4: (3, 2, [4, 5, 6, 1, 2, 3]), 5: (2, 3, [1, 4, 2, 5, 3, 6]), 6: (2, 3, [4, 1, 5, 2, 6, 3]),
            7: (2, 3, [6, 3, 5, 2, 4, 1]), 8: (2, 3, [3, 6, 2, 5, 1, 4]),
        ]
        for (orientation, (w, h, pixels)) in expected {
            let out = image.applyingEXIFOrientation(orientation)
            #expect(out.width == w && out.height == h && out.pixels == pixels, "orientation \(orientation)")
        }
        #expect(image.applyingEXIFOrientation(0) == image)
        #expect(image.applyingEXIFOrientation(9) == image)
    }

    /// Position of the Orientation value inside the APP1 segment `JPEGEncoder` writes (big-endian TIFF).
    static func orientationValueOffset(_ bytes: [UInt8]) -> Int? {
        let marker = Array("Exif".utf8) + [0, 0, 0x4D, 0x4D]
        guard let start = (0..<(bytes.count - marker.count)).first(where: { Array(bytes[$0..<$0 + marker.count]) == marker }) else {
            return nil
        }
        return start + 6 + 8 + 2 + 8
    }

    @Test("invalid or broken EXIF is ignored (orientation 1)")
    func brokenEXIF() throws {
        let stored = Self.upright
        let good = try JPEGEncoder.encode(stored, exifOrientation: 6)
        let offset = try #require(Self.orientationValueOffset(good))
        #expect(good[offset] == 0 && good[offset + 1] == 6)

        var outOfRange = good
        outOfRange[offset + 1] = 9
        var d = try ImageDecoder.decode(outOfRange)
        #expect(d.orientation == 1 && d.image.width == 16)

        var badIFDOffset = good
        badIFDOffset[offset - 14] = 0x7F  // IFD0 offset → far outside the segment
        d = try ImageDecoder.decode(badIFDOffset)
        #expect(d.orientation == 1 && d.image.width == 16)

        var badByteOrder = good
        badByteOrder[offset - 18] = 0x58  // "XM" instead of "MM"
        d = try ImageDecoder.decode(badByteOrder)
        #expect(d.orientation == 1)
    }

    @Test("little-endian (II) EXIF is read too")
    func littleEndianEXIF() throws {
        var bytes = try JPEGEncoder.encode(Self.upright.applyingEXIFOrientation(3), exifOrientation: 3)
        let offset = try #require(Self.orientationValueOffset(bytes))
        let tiff = offset - 18  // start of "MM"
        // Rewrite the TIFF header and IFD entry in little-endian order.
        let le: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 3, 0, 0, 0]
        for (i, b) in le.enumerated() { bytes[tiff + i] = b }
        let d = try ImageDecoder.decode(bytes)
        #expect(d.orientation == 3)
        #expect(isClose(d.image.pixel(x: 4, y: 8), [255, 0, 0], tolerance: 40))
    }

    @Test("oversized JPEG header is rejected before decoding")
    func jpegBomb() throws {
        let bytes = try JPEGEncoder.encode(Image(width: 64, height: 64, channels: 1, repeating: 9))
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(bytes, options: DecodeOptions(maxPixels: 4_000))
        }
        #expect(error == .tooManyPixels(width: 64, height: 64, limit: 4_000))
    }

    @Test("JPEG missing its tail is truncated; damaged entropy data is an error")
    func truncatedAndCorrupt() throws {
        let bytes = try JPEGEncoder.encode(randomImage(width: 48, height: 48, channels: 3, seed: 3))
        let cut = Array(bytes.prefix(bytes.count * 2 / 3))
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(cut) }
        #expect(error == .truncated(.jpeg, "premature end of data"))

        var markerInData = bytes
        markerInData[bytes.count / 2] = 0xFF
        markerInData[bytes.count / 2 + 1] = 0xD9  // EOI in the middle of the scan
        let error2 = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(markerInData) }
        #expect(error2 != nil)
    }
}
