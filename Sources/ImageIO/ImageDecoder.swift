import Foundation

/// Settings for `ImageDecoder`.
public struct DecodeOptions: Sendable, Equatable {
    /// Largest accepted `width * height` as declared by the header (PNG IHDR, JPEG SOF). Checked before any
    /// pixel buffer is allocated; larger images throw `ImageDecodingError.tooManyPixels`. Default 100 Mpx.
    public var maxPixels: Int
    /// Opaque colour that transparent pixels are composited onto (PNG alpha and tRNS). Default white.
    public var matte: RGBColor
    /// Output samples per pixel: `nil` = 1 for grayscale sources (gray or gray+alpha PNG, 1-component JPEG)
    /// and 3 otherwise; `3` = always RGB (gray is replicated); `1` = always BT.601 luma.
    public var outputChannels: Int?

    /// Options with the documented defaults: 100 Mpx limit, white matte, channels from the source.
    public init(maxPixels: Int = 100_000_000, matte: RGBColor = .white, outputChannels: Int? = nil) {
        self.maxPixels = maxPixels
        self.matte = matte
        self.outputChannels = outputChannels
    }
}

/// A decoded image plus facts about the file it came from.
public struct DecodedImage: Sendable, Equatable {
    /// Pixels after EXIF orientation, alpha compositing and channel conversion (HWC, UInt8).
    public var image: Image
    /// `.png` or `.jpeg`.
    public var format: ImageFormat
    /// Width as stored in the file (before orientation is applied).
    public var sourceWidth: Int
    /// Height as stored in the file (before orientation is applied).
    public var sourceHeight: Int
    /// EXIF orientation (1–8) that was applied; 1 when absent, invalid, or for PNG.
    public var orientation: Int
    /// `true` when the source had no colour: gray or gray+alpha PNG, 1-component JPEG.
    public var isGrayscale: Bool
    /// `true` when the source had an alpha channel or tRNS transparency (composited onto the matte).
    public var hadAlpha: Bool
    /// Short description of the stored encoding, e.g. "PNG 16-bit RGBA", "JPEG progressive CMYK (Adobe)".
    public var sourceDescription: String

    /// Memberwise initialiser (decoders build these; tests and callers may too).
    public init(image: Image, format: ImageFormat, sourceWidth: Int, sourceHeight: Int, orientation: Int,
                isGrayscale: Bool, hadAlpha: Bool, sourceDescription: String) {
        self.image = image
        self.format = format
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.orientation = orientation
        self.isGrayscale = isGrayscale
        self.hadAlpha = hadAlpha
        self.sourceDescription = sourceDescription
    }
}

/// Decodes PNG (libpng 1.6 simplified API) and JPEG (libjpeg-turbo, setjmp-guarded in `CImageSupport`)
/// into 8-bit HWC `Image`s. Stateless and thread-safe: decodes may run concurrently.
///
/// The format is detected from magic bytes (`ImageFormat.sniff`), never from a file name.
/// PNG: every colour type and bit depth; 16-bit samples are scaled to 8 bits (`v * 255 / 65535`
/// rounded, libpng's `png_set_scale_16`), and are assumed sRGB-encoded when there is no gAMA/sRGB chunk
/// (`PNG_IMAGE_FLAG_16BIT_sRGB`); alpha and tRNS are composited onto `DecodeOptions.matte`. PNG eXIf
/// orientation is not applied (the simplified API does not expose it). JPEG: baseline and progressive,
/// gray, YCbCr/RGB, and CMYK/YCCK (Adobe APP14 inverted samples, Adobe Technical Note 5116), with EXIF
/// orientation (EXIF 2.32, tag 0x0112) applied. libjpeg warnings about corrupt or truncated data are
/// errors: a half-decoded image is never returned.
///
/// References: libpng manual (libpng-manual.txt, "Simplified API"); libjpeg-turbo libjpeg.txt
/// ("Error handling", "Special color spaces"); EXIF 2.32 (CIPA DC-008-2019) §4.6.4 Orientation;
/// Adobe Technical Note #5116 (APP14 "Adobe" marker, transform codes).
public enum ImageDecoder {
    /// Decodes PNG or JPEG bytes.
    ///
    /// - Throws: `ImageDecodingError` — `.emptyFile` for zero bytes; `.unsupportedFormat` for GIF, BMP, WebP,
    ///   TIFF, HEIC, AVIF, PDF; `.notAnImage` for HTML, text or unrecognised bytes; `.tooManyPixels` when the
    ///   header exceeds `options.maxPixels`; `.truncated` / `.corrupt` for damaged streams;
    ///   `.invalidOptions` for an `outputChannels` other than nil, 1 or 3.
    public static func decode(_ data: some Collection<UInt8>, options: DecodeOptions = .init())
        throws(ImageDecodingError) -> DecodedImage
    {
        let result = data.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ImageDecodingError) -> DecodedImage in try decode(buffer: buffer, options: options) }
        }
        if let result { return try result.get() }
        let copy = Array(data)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(ImageDecodingError) -> DecodedImage in try decode(buffer: buffer, options: options) }
        }.get()
    }

    /// `width × height` as a PNG's IHDR chunk declares it, or `nil` when `bytes` does not begin with
    /// the PNG signature and an IHDR chunk. Reads the first 24 bytes; decodes and validates nothing
    /// else (PNG specification, 3rd edition, §5.2 and §11.2.1).
    public static func declaredPNGPixels(_ bytes: [UInt8]) -> Int? {
        guard ImageFormat.sniff(bytes.prefix(8)) == .png else { return nil }
        let header = bytes.withUnsafeBufferPointer { PNGDecoding.IHDR($0) }
        guard header.hasSize else { return nil }
        let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        return overflow ? .max : pixels
    }

    /// Reads and decodes a file.
    ///
    /// - Throws: `ImageDecodingError.fileNotFound` when the path does not exist, `.unreadable` when it cannot
    ///   be read (permissions, a directory, not a file URL), and everything `decode(_:options:)` throws.
    public static func decode(contentsOf url: URL, options: DecodeOptions = .init())
        throws(ImageDecodingError) -> DecodedImage
    {
        let bytes = try FileReader.read(url)
        return try decode(bytes, options: options)
    }

    static func decode(buffer: UnsafeBufferPointer<UInt8>, options: DecodeOptions)
        throws(ImageDecodingError) -> DecodedImage
    {
        if let channels = options.outputChannels, channels != 1, channels != 3 {
            throw .invalidOptions("outputChannels must be nil, 1 or 3, got \(channels)")
        }
        if options.maxPixels < 1 { throw .invalidOptions("maxPixels must be positive, got \(options.maxPixels)") }
        guard buffer.count > 0 else { throw .emptyFile }
        let format = ImageFormat.sniff(buffer)
        switch format {
        case .png:
            return try PNGDecoding.decode(buffer, options: options)
        case .jpeg:
            return try JPEGDecoding.decode(buffer, options: options)
        case .html, .text, .unknown:
            throw .notAnImage(format.displayName)
        case .gif, .bmp, .webp, .tiff, .heic, .avif, .pdf:
            throw .unsupportedFormat(format)
        }
    }

    /// Converts decoded gray (1) or RGB (3) samples to the requested channel count.
    static func convert(_ pixels: [UInt8], from channels: Int, to wanted: Int) -> [UInt8] {
        if channels == wanted { return pixels }
        return channels == 1 ? PixelMath.grayToRGB(pixels) : PixelMath.rgbToLuma(pixels)
    }
}

/// POSIX file reading into `[UInt8]` (no Foundation `Data` copy), with errno mapped to decoding errors.
enum FileReader {
    static func read(_ url: URL) throws(ImageDecodingError) -> [UInt8] {
        let path = url.path
        guard url.isFileURL else { throw .unreadable(path: url.absoluteString, reason: "not a file URL") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .unreadable(path: path, reason: "is a directory") }

        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { raw in
                Foundation.read(fd, raw.baseAddress! + filled, raw.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }
}
