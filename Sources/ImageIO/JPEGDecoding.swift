internal import CJPEG
internal import CImageSupport

/// JPEG decoding through libjpeg-turbo. Every libjpeg call runs inside `CImageSupport`'s setjmp-guarded
/// C functions (libjpeg's `error_exit` must not return; see libjpeg.txt "Error handling" and example.c).
enum JPEGDecoding {
    static func decode(_ data: UnsafeBufferPointer<UInt8>, options: DecodeOptions)
        throws(ImageDecodingError) -> DecodedImage
    {
        guard let decoder = av_jpeg_create() else { throw .corrupt(.jpeg, "cannot create libjpeg decoder") }
        defer { av_jpeg_destroy(decoder) }

        var header = av_jpeg_header()
        guard av_jpeg_read_header(decoder, data.baseAddress, data.count, &header) == Int32(AV_JPEG_OK) else {
            throw failure(decoder)
        }
        // Read now: the EXIF bytes live in libjpeg's image pool, which decoding frees (reading them
        // afterwards was a use-after-free, found by FuzzImageDecoder under AddressSanitizer).
        let orientation = header.exif.map {
            EXIF.orientation(UnsafeBufferPointer(start: $0, count: Int(header.exif_length)))
        } ?? 1
        let width = Int(header.width)
        let height = Int(header.height)
        guard width.multipliedReportingOverflow(by: height).partialValue <= options.maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: options.maxPixels)
        }

        let components = Int(header.num_components)
        let colorSpace = header.jpeg_color_space
        let isCMYK = components == 4
            && (colorSpace == Int32(JCS_CMYK.rawValue) || colorSpace == Int32(JCS_YCCK.rawValue))
        guard components == 1 || components == 3 || isCMYK else {
            throw .corrupt(.jpeg, "unsupported JPEG colour layout (\(components) components)")
        }
        let isGray = components == 1
        let decodeChannels = isCMYK ? 4 : (isGray ? 1 : 3)
        let outChannels = options.outputChannels ?? (isGray ? 1 : 3)

        let count = width * height * decodeChannels
        var status: Int32 = 0
        let decoded = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = av_jpeg_decode(decoder, Int32(decodeChannels), buffer.baseAddress, width * decodeChannels)
            initialized = count
        }
        guard status == Int32(AV_JPEG_OK) else { throw failure(decoder) }

        var pixels: [UInt8]
        if isCMYK {
            let rgb = cmykToRGB(decoded, adobeInverted: header.saw_adobe_marker != 0)
            pixels = outChannels == 3 ? rgb : PixelMath.rgbToLuma(rgb)
        } else {
            pixels = ImageDecoder.convert(decoded, from: decodeChannels, to: outChannels)
        }

        var image = Image(width: width, height: height, channels: outChannels, pixels: pixels)
        if orientation != 1 { image = image.applyingEXIFOrientation(orientation) }

        return DecodedImage(
            image: image, format: .jpeg, sourceWidth: width, sourceHeight: height, orientation: orientation,
            isGrayscale: isGray, hadAlpha: false, sourceDescription: describe(header))
    }

    /// CMYK → RGB. Adobe APP14 files (Photoshop) store inverted samples, c' = 255 − C (Adobe Technical
    /// Note 5116), so R = c'·k'/255; without the marker the samples are plain CMYK and are inverted first.
    static func cmykToRGB(_ cmyk: [UInt8], adobeInverted: Bool) -> [UInt8] {
        let n = cmyk.count / 4
        let flip: UInt8 = adobeInverted ? 0 : 255
        return [UInt8](unsafeUninitializedCapacity: n * 3) { out, initialized in
            for i in 0..<n {
                let c = Int(cmyk[4 * i] ^ flip), m = Int(cmyk[4 * i + 1] ^ flip)
                let y = Int(cmyk[4 * i + 2] ^ flip), k = Int(cmyk[4 * i + 3] ^ flip)
                out[3 * i] = UInt8((c * k + 127) / 255)
                out[3 * i + 1] = UInt8((m * k + 127) / 255)
                out[3 * i + 2] = UInt8((y * k + 127) / 255)
            }
            initialized = n * 3
        }
    }

    static func failure(_ decoder: OpaquePointer) -> ImageDecodingError {
        let message = String(cString: av_jpeg_message(decoder))
        if av_jpeg_is_truncation(decoder) != 0 { return .truncated(.jpeg, "premature end of data") }
        return .corrupt(.jpeg, message.isEmpty ? "libjpeg reported an unspecified error" : message)
    }

    static func describe(_ h: av_jpeg_header) -> String {
        let mode = h.progressive != 0 ? "progressive" : "baseline"
        let space: String
        switch UInt32(h.jpeg_color_space) {
        case JCS_GRAYSCALE.rawValue: space = "gray"
        case JCS_RGB.rawValue: space = "RGB"
        case JCS_YCbCr.rawValue: space = "YCbCr"
        case JCS_CMYK.rawValue: space = "CMYK"
        case JCS_YCCK.rawValue: space = "YCCK"
        default: space = "\(h.num_components)-component"
        }
        var text = "JPEG \(mode)\(h.arithmetic != 0 ? " arithmetic" : "") \(space)"
        if h.saw_adobe_marker != 0 && h.num_components == 4 { text += " (Adobe)" }
        return text
    }
}

/// Minimal EXIF reader: only IFD0's Orientation tag (EXIF 2.32 §4.6.4, tag 0x0112, SHORT, count 1).
enum EXIF {
    /// Orientation 1–8 from an APP1 payload starting with "Exif\0\0"; 1 when absent or malformed.
    static func orientation(_ app1: UnsafeBufferPointer<UInt8>) -> Int {
        guard app1.count >= 14 else { return 1 }
        let tiff = UnsafeBufferPointer(rebasing: app1[6...])
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true   // "II"
        case (0x4D, 0x4D): little = false  // "MM"
        default: return 1
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return 1 }
        for i in 0..<min(entries, 512) {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return 1 }
            guard tag == 0x0112 else { continue }
            guard u16(entry + 2) == 3, let count = u32(entry + 4), count >= 1, let value = u16(entry + 8) else {
                return 1
            }
            return (1...8).contains(value) ? value : 1
        }
        return 1
    }
}
