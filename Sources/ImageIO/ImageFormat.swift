/// A container format recognised from a file's leading bytes (never from its name or extension).
///
/// Only `.png` and `.jpeg` are decoded; the others are detected so errors can say what a file really is.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`); decoded.
    case png
    /// JPEG/JFIF/EXIF (`FF D8 FF`); decoded.
    case jpeg
    /// GIF87a/GIF89a; detected only.
    case gif
    /// Windows bitmap (`BM` + DIB header); detected only.
    case bmp
    /// WebP (`RIFF....WEBP`); detected only.
    case webp
    /// TIFF (`II*\0` or `MM\0*`); detected only.
    case tiff
    /// HEIF/HEIC (ISO-BMFF `ftyp` with a HEIF brand); detected only.
    case heic
    /// AVIF (ISO-BMFF `ftyp` with `avif`/`avis`); detected only.
    case avif
    /// PDF (`%PDF-`); not an image.
    case pdf
    /// HTML or other markup (e.g. an error page saved as .jpg); not an image.
    case html
    /// Other UTF-8 text (CSV, base64, JSON...); not an image.
    case text
    /// Unrecognised bytes; not an image.
    case unknown

    /// Human-readable name used in error messages, e.g. "JPEG", "WebP", "HTML text".
    public var displayName: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .gif: "GIF"
        case .bmp: "BMP"
        case .webp: "WebP"
        case .tiff: "TIFF"
        case .heic: "HEIC"
        case .avif: "AVIF"
        case .pdf: "PDF"
        case .html: "HTML text"
        case .text: "plain text"
        case .unknown: "unrecognised binary data"
        }
    }

    /// `true` for formats `ImageDecoder` decodes (PNG and JPEG).
    public var isDecodable: Bool { self == .png || self == .jpeg }

    /// Detects the format from magic bytes; at most the first 512 bytes are examined.
    ///
    /// Signatures: PNG `89 50 4E 47 0D 0A 1A 0A`; JPEG `FF D8 FF`; GIF `GIF87a`/`GIF89a`; BMP `BM` with a
    /// known DIB header size; WebP `RIFF….WEBP`; TIFF `II*\0`/`MM\0*`; HEIC/AVIF an ISO-BMFF `ftyp` box
    /// with a HEIF or AVIF brand; PDF `%PDF-`. After an optional UTF-8 BOM and whitespace, `<!doctype`,
    /// `<html` or (for text-like bytes) any `<` means `.html`. Valid UTF-8 without control characters
    /// (other than tab, CR, LF, FF) is `.text`. Empty input and anything else is `.unknown`.
    public static func sniff(_ bytes: some Collection<UInt8>) -> ImageFormat {
        let head = Array(bytes.prefix(512))
        return sniff(head: head, isComplete: head.count == bytes.count)
    }

    static func sniff(head b: [UInt8], isComplete: Bool) -> ImageFormat {
        func starts(_ sig: [UInt8], at offset: Int = 0) -> Bool {
            guard b.count >= offset + sig.count else { return false }
            for i in 0..<sig.count where b[offset + i] != sig[i] { return false }
            return true
        }
        func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

        if b.isEmpty { return .unknown }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(ascii("GIF87a")) || starts(ascii("GIF89a")) { return .gif }
        if starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8) { return .webp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(ascii("%PDF-")) { return .pdf }
        if starts(ascii("BM")) && b.count >= 18 {
            let dib = Int(b[14]) | Int(b[15]) << 8 | Int(b[16]) << 16 | Int(b[17]) << 24
            if [12, 16, 40, 52, 56, 64, 108, 124].contains(dib) { return .bmp }
        }
        if starts(ascii("ftyp"), at: 4), let brand = isoBrandFormat(b) { return brand }

        // Text-like content: HTML first, then plain text.
        var i = 0
        if starts([0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x0C { i += 1 }
        let textLike = isText(b, isComplete: isComplete)
        if i < b.count, b[i] == UInt8(ascii: "<") {
            let rest = String(decoding: b[i..<min(b.count, i + 9)], as: UTF8.self).lowercased()
            if rest.hasPrefix("<!doctype") || rest.hasPrefix("<html") || textLike { return .html }
        }
        return textLike ? .text : .unknown
    }

    /// HEIF/AVIF brands from the `ftyp` box (ISO/IEC 14496-12; 23008-12; AV1 Image File Format).
    private static func isoBrandFormat(_ b: [UInt8]) -> ImageFormat? {
        guard b.count >= 12 else { return nil }
        let boxSize = Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
        let end = min(b.count, max(16, boxSize))
        var brands: [String] = [String(decoding: b[8..<12], as: UTF8.self)]
        var offset = 16  // skip major brand + minor version
        while offset + 4 <= end {
            brands.append(String(decoding: b[offset..<offset + 4], as: UTF8.self))
            offset += 4
        }
        if brands.contains(where: { $0 == "avif" || $0 == "avis" }) { return .avif }
        let heif: Set<String> = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]
        if brands.contains(where: heif.contains) { return .heic }
        return nil
    }

    /// Valid UTF-8 with no C0 controls except TAB, LF, FF, CR and no DEL. A multi-byte sequence cut
    /// by the 512-byte window is accepted when the input continues beyond it.
    private static func isText(_ b: [UInt8], isComplete: Bool) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 {
                if (c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0C && c != 0x0D) || c == 0x7F { return false }
                i += 1
                continue
            }
            let length: Int
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return false
            }
            if i + length > b.count { return !isComplete }
            for k in 1..<length where b[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}
