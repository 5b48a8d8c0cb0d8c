import ImageIO
import Testing
import TestSupport

@Suite("PNG decoding and encoding")
struct PNGTests {
    @Test("16-bit gray is scaled to 8 bits, not truncated to the low byte")
    func sixteenBitGray() throws {
        let samples: [UInt16] = [0x8080, 0xFF00, 0x0000, 0xFFFF]
        let row = samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let png = PNGBuilder.build(width: 4, height: 1, bitDepth: 16, colorType: 0, scanlines: [row])
        let d = try ImageDecoder.decode(png)
        #expect(d.sourceDescription == "PNG 16-bit gray")
        #expect(d.isGrayscale && d.image.channels == 1)
        #expect(d.image.pixels == [128, 254, 0, 255])
    }

    @Test("16-bit RGBA: scaled and composited")
    func sixteenBitRGBA() throws {
        func px(_ r: UInt16, _ g: UInt16, _ b: UInt16, _ a: UInt16) -> [UInt8] {
            [r, g, b, a].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        }
        let row = px(0x8080, 0xFF00, 0x0101, 0xFFFF) + px(0x1234, 0x5678, 0x9ABC, 0x0000)
        let png = PNGBuilder.build(width: 2, height: 1, bitDepth: 16, colorType: 6, scanlines: [row])
        let d = try ImageDecoder.decode(png)
        #expect(d.sourceDescription == "PNG 16-bit RGBA")
        #expect(d.hadAlpha && d.image.channels == 3)
        #expect(d.image.pixel(x: 0, y: 0) == [128, 254, 1])
        #expect(d.image.pixel(x: 1, y: 0) == [255, 255, 255])
    }

    @Test("1-, 2- and 4-bit gray expand to full range")
    func subByteGray() throws {
        let oneBit = PNGBuilder.build(width: 8, height: 1, bitDepth: 1, colorType: 0, scanlines: [[0b1010_0001]])
        #expect(try ImageDecoder.decode(oneBit).image.pixels == [255, 0, 255, 0, 0, 0, 0, 255])
        let twoBit = PNGBuilder.build(width: 4, height: 1, bitDepth: 2, colorType: 0, scanlines: [[0b00_01_10_11]])
        #expect(try ImageDecoder.decode(twoBit).image.pixels == [0, 85, 170, 255])
        let fourBit = PNGBuilder.build(width: 2, height: 1, bitDepth: 4, colorType: 0, scanlines: [[0x3F]])
        #expect(try ImageDecoder.decode(fourBit).image.pixels == [51, 255])
    }

    @Test("palette with partial tRNS")
    func paletteWithTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, /**/ 0, 255, 0, /**/ 0, 0, 255, /**/ 10, 20, 30]
        let transparency: [UInt8] = [255, 0, 128]  // index 3 has no entry: opaque
        // 2-bit indices 0,1,2,3
        let png = PNGBuilder.build(width: 4, height: 1, bitDepth: 2, colorType: 3, scanlines: [[0b00_01_10_11]],
                                   palette: palette, transparency: transparency)
        let d = try ImageDecoder.decode(png)
        #expect(d.sourceDescription == "PNG 2-bit palette+tRNS")
        #expect(d.hadAlpha && !d.isGrayscale)
        #expect(d.image.pixel(x: 0, y: 0) == [255, 0, 0])
        #expect(d.image.pixel(x: 1, y: 0) == [255, 255, 255])  // transparent green → matte
        // (c·128 + 255·127 + 127) / 255
        #expect(d.image.pixel(x: 2, y: 0) == [127, 127, 255])
        #expect(d.image.pixel(x: 3, y: 0) == [10, 20, 30])
        // Luma output of the same file.
        let gray = try ImageDecoder.decode(png, options: DecodeOptions(outputChannels: 1))
        #expect(gray.image.pixels == [76, 255, 142, 18])
    }

    @Test("gray+alpha onto the matte's luma (1 channel) and onto the matte (3 channels)")
    func grayAlpha() throws {
        let png = PNGBuilder.build(width: 3, height: 1, bitDepth: 8, colorType: 4, scanlines: [[100, 0, 100, 255, 100, 128]])
        let matte = RGBColor(red: 255, green: 0, blue: 0)  // luma 76
        let one = try ImageDecoder.decode(png, options: DecodeOptions(matte: matte))
        #expect(one.sourceDescription == "PNG 8-bit gray+alpha")
        #expect(one.image.channels == 1)
        let half: Int = (100 * 128 + 76 * 127 + 127) / 255
        #expect(one.image.pixels == [76, 100, UInt8(half)])
        let three = try ImageDecoder.decode(png, options: DecodeOptions(matte: matte, outputChannels: 3))
        #expect(three.image.pixel(x: 0, y: 0) == [255, 0, 0])
        #expect(three.image.pixel(x: 1, y: 0) == [100, 100, 100])
    }

    @Test("RGB to luma uses BT.601 weights")
    func rgbToLuma() throws {
        let image = Image(width: 3, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255])
        let d = try ImageDecoder.decode(try PNGEncoder.encode(image), options: DecodeOptions(outputChannels: 1))
        #expect(d.image.pixels == [76, 150, 29])
    }

    @Test("Adam7 interlaced PNG")
    func interlaced() throws {
        let pixels = (0..<(9 * 10)).map { UInt8($0 * 2) }
        let png = PNGBuilder.interlacedGray8(width: 9, height: 10, pixels: pixels)
        let d = try ImageDecoder.decode(png)
        #expect(d.sourceDescription == "PNG 8-bit gray interlaced")
        #expect(d.image.pixels == pixels)
    }

    @Test("PNGEncoder round trip is lossless", arguments: [1, 3])
    func roundTrip(channels: Int) throws {
        let image = randomImage(width: 17, height: 13, channels: channels, seed: UInt64(channels))
        let bytes = try PNGEncoder.encode(image)
        #expect(ImageFormat.sniff(bytes) == .png)
        let d = try ImageDecoder.decode(bytes, options: DecodeOptions(outputChannels: channels))
        #expect(d.image == image)
        #expect(d.isGrayscale == (channels == 1))
        #expect(!d.hadAlpha)
    }

    @Test("PNGEncoder handles a large incompressible image (output-buffer sizing)")
    func largeEncode() throws {
        let image = randomImage(width: 300, height: 200, channels: 3, seed: 9)
        let d = try ImageDecoder.decode(try PNGEncoder.encode(image))
        #expect(d.image == image)
    }

    @Test("PNGEncoder rejects empty images")
    func encodeEmpty() {
        #expect(throws: ImageEncodingError.self) { try PNGEncoder.encode(Image(width: 0, height: 0, channels: 1)) }
    }

    @Test("CRC damage in IHDR is reported as corrupt PNG")
    func badCRC() {
        var png = PNGBuilder.build(width: 1, height: 1, bitDepth: 8, colorType: 0, scanlines: [[7]])
        png[29] ^= 0xFF  // IHDR CRC
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(png) }
        guard case .corrupt(.png, let message) = error else {
            Issue.record("expected corrupt PNG, got \(String(describing: error))")
            return
        }
        #expect(!message.isEmpty)
    }

    @Test("PNG header cut before IHDR ends is truncated")
    func headerOnly() {
        let png = PNGBuilder.build(width: 1, height: 1, bitDepth: 8, colorType: 0, scanlines: [[7]])
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(png.prefix(20)) }
        guard case .truncated(.png, _) = error else {
            Issue.record("expected truncated PNG, got \(String(describing: error))")
            return
        }
    }

    @Test("the size a PNG header declares is read without decoding; other bytes give nil")
    func declaredPixels() throws {
        let png = try PNGEncoder.encode(randomImage(width: 7, height: 5, channels: 3, seed: 1))
        #expect(ImageDecoder.declaredPNGPixels(png) == 35)
        // A header declaring 2³² − 1 on each side saturates instead of overflowing.
        var huge = png
        huge.replaceSubrange(16..<24, with: [UInt8](repeating: 0xFF, count: 8))
        #expect(ImageDecoder.declaredPNGPixels(huge) == .max)
        let jpeg = try JPEGEncoder.encode(randomImage(width: 7, height: 5, channels: 3, seed: 1))
        #expect(ImageDecoder.declaredPNGPixels(jpeg) == nil)
        #expect(ImageDecoder.declaredPNGPixels(Array(png.prefix(23))) == nil)
        #expect(ImageDecoder.declaredPNGPixels([]) == nil)
    }
}
