import Foundation
import Tensors

/// Hand-built PNG files (uncompressed "stored" deflate blocks) for colour types and bit depths that
/// `PNGEncoder` does not write: 16-bit, sub-byte gray, palette with tRNS, gray+alpha, Adam7 interlace.
public enum PNGBuilder {
    /// - Parameter scanlines: raw rows *without* the filter byte (filter 0 is added), already packed to
    ///   the bit depth. For interlaced files pass the concatenated reduced-image rows via `interlacedGray8`.
    public static func build(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, scanlines: [[UInt8]],
                      palette: [UInt8]? = nil, transparency: [UInt8]? = nil, interlaced: Bool = false,
                      extraChunks: [(String, [UInt8])] = []) -> [UInt8] {
        var raw: [UInt8] = []
        for row in scanlines { raw.append(0); raw += row }
        return assemble(width: width, height: height, bitDepth: bitDepth, colorType: colorType, raw: raw,
                        palette: palette, transparency: transparency, interlaced: interlaced, extraChunks: extraChunks)
    }

    /// 8-bit gray Adam7-interlaced PNG of `pixels` (row-major, width × height).
    public static func interlacedGray8(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        var raw: [UInt8] = []
        for (x0, y0, dx, dy) in passes {
            guard x0 < width, y0 < height else { continue }
            for y in stride(from: y0, to: height, by: dy) {
                raw.append(0)
                for x in stride(from: x0, to: width, by: dx) { raw.append(pixels[y * width + x]) }
            }
        }
        return assemble(width: width, height: height, bitDepth: 8, colorType: 0, raw: raw, palette: nil,
                        transparency: nil, interlaced: true, extraChunks: [])
    }

    public static func assemble(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, raw: [UInt8], palette: [UInt8]?,
                         transparency: [UInt8]?, interlaced: Bool, extraChunks: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(width) + be32(height) + [bitDepth, colorType, 0, 0, interlaced ? 1 : 0])
        for (type, data) in extraChunks { out += chunk(type, data) }
        if let palette { out += chunk("PLTE", palette) }
        if let transparency { out += chunk("tRNS", transparency) }
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    public static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    public static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(data.count) + typeBytes + data + be32(Int((typeBytes + data).withUnsafeBytes { CRC32.checksum($0) }))
    }

    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return out + be32(Int(b << 16 | a))
    }
}
