internal import CPNG

/// PNG decoding through libpng's simplified API (`png_image_begin_read_from_memory` /
/// `png_image_finish_read`), which catches libpng's longjmp errors in C and reports them as a return
/// value plus `png_image.message` — so no longjmp ever crosses Swift frames (libpng-manual.txt, "Simplified API").
enum PNGDecoding {
    // png.h format flags (restated: Swift does not import the composite macros reliably).
    static let flagAlpha: UInt32 = 0x01
    static let flagColor: UInt32 = 0x02
    static let flagLinear: UInt32 = 0x04
    static let flagColormap: UInt32 = 0x08
    static let imageFlag16BitSRGB: UInt32 = 0x04  // PNG_IMAGE_FLAG_16BIT_sRGB
    static let imageVersion: UInt32 = 1           // PNG_IMAGE_VERSION

    static func decode(_ data: UnsafeBufferPointer<UInt8>, options: DecodeOptions)
        throws(ImageDecodingError) -> DecodedImage
    {
        let header = IHDR(data)
        var png = png_image()
        png.version = imageVersion
        guard png_image_begin_read_from_memory(&png, data.baseAddress, data.count) != 0 else {
            let message = messageText(&png)
            png_image_free(&png)
            throw classify(message, header: header, data: data)
        }
        defer { png_image_free(&png) }

        let width = Int(png.width)
        let height = Int(png.height)
        guard width.multipliedReportingOverflow(by: height).partialValue <= options.maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: options.maxPixels)
        }

        let sourceFormat = png.format
        let isColor = sourceFormat & flagColor != 0
        let hasAlpha = sourceFormat & flagAlpha != 0
        let outChannels = options.outputChannels ?? (isColor ? 3 : 1)
        // What libpng writes for us: gray sources stay gray (GA if transparent), colour becomes RGB(A).
        let readChannels = (isColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        png.format = (isColor ? flagColor : 0) | (hasAlpha ? flagAlpha : 0)
        png.flags |= imageFlag16BitSRGB  // 16-bit without gAMA/sRGB: scale, don't treat as linear light

        let count = width * height * readChannels
        var status: Int32 = 0
        let decoded = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = png_image_finish_read(&png, nil, buffer.baseAddress, 0, nil)
            initialized = count
        }
        guard status != 0 else { throw classify(messageText(&png), header: header, data: data) }
        // libpng stops after the image data; a file without its IEND chunk was still cut short.
        guard hasIEND(data) else { throw .truncated(.png, "no IEND chunk after the image data") }

        var pixels: [UInt8]
        if hasAlpha {
            pixels = composite(decoded, colorChannels: isColor ? 3 : 1, outChannels: outChannels, matte: options.matte)
        } else {
            pixels = ImageDecoder.convert(decoded, from: readChannels, to: outChannels)
        }
        if pixels.count != width * height * outChannels { pixels = [UInt8](repeating: 0, count: width * height * outChannels) }
        return DecodedImage(
            image: Image(width: width, height: height, channels: outChannels, pixels: pixels),
            format: .png, sourceWidth: width, sourceHeight: height, orientation: 1,
            isGrayscale: !isColor, hadAlpha: hasAlpha, sourceDescription: header.description(hasAlpha: hasAlpha))
    }

    /// Composites gray+alpha or RGBA onto the matte, producing `outChannels` (1 or 3) samples per pixel.
    /// Gray+alpha to 1 channel uses the matte's luma; to 3 channels each channel uses the matte's component,
    /// so a fully transparent pixel equals the matte exactly.
    static func composite(_ src: [UInt8], colorChannels: Int, outChannels: Int, matte: RGBColor) -> [UInt8] {
        let n = src.count / (colorChannels + 1)
        let mr = matte.red, mg = matte.green, mb = matte.blue, ml = matte.luma
        return [UInt8](unsafeUninitializedCapacity: n * outChannels) { out, initialized in
            switch (colorChannels, outChannels) {
            case (1, 1):
                for i in 0..<n { out[i] = PixelMath.over(src[2 * i], src[2 * i + 1], ml) }
            case (1, _):
                for i in 0..<n {
                    let v = src[2 * i], a = src[2 * i + 1]
                    out[3 * i] = PixelMath.over(v, a, mr)
                    out[3 * i + 1] = PixelMath.over(v, a, mg)
                    out[3 * i + 2] = PixelMath.over(v, a, mb)
                }
            case (_, 1):
                for i in 0..<n {
                    let a = src[4 * i + 3]
                    out[i] = PixelMath.luma(PixelMath.over(src[4 * i], a, mr), PixelMath.over(src[4 * i + 1], a, mg),
                                            PixelMath.over(src[4 * i + 2], a, mb))
                }
            default:
                for i in 0..<n {
                    let a = src[4 * i + 3]
                    out[3 * i] = PixelMath.over(src[4 * i], a, mr)
                    out[3 * i + 1] = PixelMath.over(src[4 * i + 1], a, mg)
                    out[3 * i + 2] = PixelMath.over(src[4 * i + 2], a, mb)
                }
            }
            initialized = n * outChannels
        }
    }

    static func messageText(_ png: inout png_image) -> String {
        withUnsafeBytes(of: &png.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// libpng messages that mean "the data stopped early" map to `.truncated`; everything else is `.corrupt`.
    static func classify(_ message: String, header: IHDR, data: UnsafeBufferPointer<UInt8>) -> ImageDecodingError {
        let lower = message.lowercased()
        let truncationHints = ["not enough image data", "read error", "read beyond end", "unexpected end",
                               "premature end", "too short", "truncated", "end of data"]
        if truncationHints.contains(where: lower.contains) || (header.valid == false && data.count < 33) {
            let detail = hasIEND(data) ? "image data ends early: \(message)" : "IDAT cut, no IEND"
            return .truncated(.png, header.valid ? detail : "file ends inside the header")
        }
        return .corrupt(.png, message.isEmpty ? "libpng reported an unspecified error" : message)
    }

    /// Walks the chunk list (length, type, data, CRC) looking for a complete IEND chunk.
    static func hasIEND(_ data: UnsafeBufferPointer<UInt8>) -> Bool {
        var offset = 8
        while offset + 12 <= data.count {
            let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            if data[offset + 4] == 0x49, data[offset + 5] == 0x45, data[offset + 6] == 0x4E, data[offset + 7] == 0x44 {
                return true  // "IEND" with its CRC present
            }
            guard length <= 0x7FFF_FFFF else { return false }
            offset += 12 + length
        }
        return false
    }

    /// The IHDR fields, read before libpng: the size (for `ImageDecoder.declaredPNGPixels`), and what
    /// libpng's simplified API does not expose (bit depth, colour type, interlace), to describe the source.
    struct IHDR {
        var valid = false
        /// Whether the chunk was found far enough to read `width` and `height`.
        var hasSize = false
        var width = 0
        var height = 0
        var bitDepth = 0
        var colorType = 0
        var interlaced = false

        init(_ d: UnsafeBufferPointer<UInt8>) {
            // signature(8) length(4) "IHDR"(4) width(4) height(4) depth colortype compression filter interlace
            guard d.count >= 24, d[12] == 0x49, d[13] == 0x48, d[14] == 0x44, d[15] == 0x52 else { return }
            let bigEndian = { (offset: Int) in d[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
            hasSize = true
            width = bigEndian(16)
            height = bigEndian(20)
            guard d.count >= 29 else { return }
            valid = true
            bitDepth = Int(d[24])
            colorType = Int(d[25])
            interlaced = d[28] == 1
        }

        func description(hasAlpha: Bool) -> String {
            let kind: String
            switch colorType {
            case 0: kind = hasAlpha ? "gray+tRNS" : "gray"
            case 2: kind = hasAlpha ? "RGB+tRNS" : "RGB"
            case 3: kind = hasAlpha ? "palette+tRNS" : "palette"
            case 4: kind = "gray+alpha"
            case 6: kind = "RGBA"
            default: kind = "colour type \(colorType)"
            }
            return "PNG \(bitDepth)-bit \(kind)" + (interlaced ? " interlaced" : "")
        }
    }
}
