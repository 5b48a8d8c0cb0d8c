/// Why a file could not be decoded. `description` is a user-facing sentence suitable for an import report
/// ("line 4: images/x.jpg: truncated JPEG (premature end of data)") or an HTTP 4xx body.
public enum ImageDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input has zero bytes.
    case emptyFile
    /// `decode(contentsOf:)` was given a path that does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// A recognised image format other than PNG and JPEG.
    case unsupportedFormat(ImageFormat)
    /// Not an image at all; the payload names what was detected, e.g. "HTML text".
    case notAnImage(String)
    /// The header declares more than `DecodeOptions.maxPixels` pixels; nothing was allocated.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The stream ended early (PNG without its remaining IDAT/IEND, JPEG without EOI).
    case truncated(ImageFormat, String)
    /// The decoder rejected the data; the payload is libpng's or libjpeg's message.
    case corrupt(ImageFormat, String)
    /// `DecodeOptions` held an invalid value (e.g. `outputChannels` other than 1 or 3).
    case invalidOptions(String)

    /// A user-facing sentence, e.g. "truncated PNG (IDAT cut, no IEND)".
    public var description: String {
        switch self {
        case .emptyFile:
            return "zero-byte file"
        case .fileNotFound(let path):
            return "file not found: \(path)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unsupportedFormat(let format):
            return "\(format.displayName) images are not supported (PNG and JPEG are)"
        case .notAnImage(let detected):
            return "not a PNG or JPEG image (detected: \(detected))"
        case .tooManyPixels(let width, let height, let limit):
            return "image is \(width)x\(height) (\(Self.megapixels(width * height))); "
                + "the limit is \(Self.megapixels(limit)) (--max-pixels)"
        case .truncated(let format, let detail):
            return "truncated \(format.displayName) (\(detail))"
        case .corrupt(let format, let detail):
            return "corrupt \(format.displayName) (\(detail))"
        case .invalidOptions(let detail):
            return "invalid decode options: \(detail)"
        }
    }

    /// "400 Mpx", "2.5 Mpx", or "1000 px" below one megapixel.
    static func megapixels(_ pixels: Int) -> String {
        if pixels < 1_000_000 { return "\(pixels) px" }
        if pixels % 1_000_000 == 0 { return "\(pixels / 1_000_000) Mpx" }
        let tenths = (pixels + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) Mpx"
    }
}

/// Why `PNGEncoder` or `JPEGEncoder` could not encode an image.
public enum ImageEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The image cannot be represented (e.g. wrong channel count, zero size, too large).
    case invalidImage(String)
    /// The codec library reported an error; the payload is its message.
    case encoderFailed(String)

    /// A user-facing sentence.
    public var description: String {
        switch self {
        case .invalidImage(let detail): "cannot encode image: \(detail)"
        case .encoderFailed(let detail): "image encoder failed: \(detail)"
        }
    }
}
