internal import CPNG
internal import CImageSupport

/// Encodes 8-bit gray or RGB `Image`s as PNG through libpng's simplified write API
/// (`png_image_write_to_memory`, libpng-manual.txt "Simplified API"), which writes via an in-memory
/// callback and catches libpng's errors in C. Thread-safe.
public enum PNGEncoder {
    /// PNG bytes for `image` (colour type 0 for 1 channel, 2 for 3 channels; 8-bit; sRGB).
    ///
    /// - Throws: `ImageEncodingError.invalidImage` for an empty image or one larger than libpng accepts;
    ///   `.encoderFailed` with libpng's message otherwise.
    public static func encode(_ image: Image) throws(ImageEncodingError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else { throw .invalidImage("PNG needs a non-empty image") }
        guard image.width <= 0x7FFF_FFFF / 3, image.height <= 0x7FFF_FFFF else {
            throw .invalidImage("\(image.width)x\(image.height) is too large for PNG")
        }
        var png = png_image()
        png.version = PNGDecoding.imageVersion
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 3 ? PNGDecoding.flagColor : 0

        // zlib's deflateBound-style worst case plus chunk overhead; retried below if libpng wants more.
        let raw = (image.width * image.channels + 1) * image.height
        var capacity = raw + raw / 1000 + (raw / 8192 + 1) * 12 + 1024
        for _ in 0..<2 {
            var size = capacity
            var ok: Int32 = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
                ok = image.pixels.withUnsafeBytes { pixels in
                    png_image_write_to_memory(&png, out.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
                }
                initialized = ok != 0 ? size : 0
            }
            if ok != 0 { return bytes }
            let message = PNGDecoding.messageText(&png)
            png_image_free(&png)
            if size > capacity {  // buffer too small: libpng reports the size it needs
                capacity = size
                png.warning_or_error = 0
                continue
            }
            throw .encoderFailed(message.isEmpty ? "libpng failed" : message)
        }
        throw .encoderFailed("libpng needed more output space than it reported")
    }
}

/// Encodes 8-bit gray or RGB `Image`s as baseline or progressive JPEG through libjpeg-turbo
/// (setjmp-guarded in `CImageSupport`; libjpeg.txt "Compression details"). Thread-safe.
public enum JPEGEncoder {
    /// JPEG bytes for `image`.
    ///
    /// - Parameters:
    ///   - quality: libjpeg quality 1–100 (`jpeg_set_quality`, baseline-compatible tables).
    ///   - progressive: write a progressive (SOF2) file with `jpeg_simple_progression`.
    ///   - exifOrientation: 1–8 writes a minimal APP1 EXIF segment with that Orientation tag (EXIF 2.32
    ///     §4.6.4); `nil` writes none. The pixels are stored as given.
    /// - Throws: `ImageEncodingError.invalidImage` for an empty image or bad quality; `.encoderFailed` with
    ///   libjpeg's message otherwise.
    public static func encode(_ image: Image, quality: Int = 90, progressive: Bool = false,
                              exifOrientation: Int? = nil) throws(ImageEncodingError) -> [UInt8]
    {
        guard image.width > 0, image.height > 0, image.width <= 65_500, image.height <= 65_500 else {
            throw .invalidImage("JPEG needs 1...65500 pixels per side, got \(image.width)x\(image.height)")
        }
        guard (1...100).contains(quality) else { throw .invalidImage("quality must be 1...100, got \(quality)") }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var length: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            av_jpeg_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                           Int32(quality), progressive ? 1 : 0, Int32(exifOrientation ?? 0), &output, &length,
                           &message, message.count)
        }
        defer { av_free(output) }
        guard status == Int32(AV_JPEG_OK), let output else {
            throw .encoderFailed(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }
}
