import Foundation
import ImageIO
import Testing

/// `Tests/Fixtures/intake/<case>/<relative>`, found from this file's location (no bundle resources).
func intakeURL(_ caseName: String, _ relative: String) -> URL {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ImageIOTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/intake/\(caseName)/\(relative)")
}

func intakeBytes(_ caseName: String, _ relative: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: intakeURL(caseName, relative)))
}

/// Every channel of `actual` within `tolerance` of `expected`.
func isClose(_ actual: [UInt8], _ expected: [Int], tolerance: Int) -> Bool {
    actual.count == expected.count && zip(actual, expected).allSatisfy { abs(Int($0) - $1) <= tolerance }
}

/// The error `body` throws, or nil when it succeeds.
func decodingError(_ body: () throws(ImageDecodingError) -> DecodedImage) -> ImageDecodingError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// SplitMix64: deterministic test randomness.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomImage(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
    var rng = SeededGenerator(seed: seed)
    let pixels = (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
}

/// Hand-built PNG files (uncompressed "stored" deflate blocks) for colour types and bit depths that
/// `PNGEncoder` does not write: 16-bit, sub-byte gray, palette with tRNS, gray+alpha, Adam7 interlace.
enum PNGBuilder {
    /// - Parameter scanlines: raw rows *without* the filter byte (filter 0 is added), already packed to
    ///   the bit depth. For interlaced files pass the concatenated reduced-image rows via `interlacedGray8`.
    static func build(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, scanlines: [[UInt8]],
                      palette: [UInt8]? = nil, transparency: [UInt8]? = nil, interlaced: Bool = false,
                      extraChunks: [(String, [UInt8])] = []) -> [UInt8] {
        var raw: [UInt8] = []
        for row in scanlines { raw.append(0); raw += row }
        return assemble(width: width, height: height, bitDepth: bitDepth, colorType: colorType, raw: raw,
                        palette: palette, transparency: transparency, interlaced: interlaced, extraChunks: extraChunks)
    }

    /// 8-bit gray Adam7-interlaced PNG of `pixels` (row-major, width × height).
    static func interlacedGray8(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
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

    static func assemble(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, raw: [UInt8], palette: [UInt8]?,
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

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(data.count) + typeBytes + data + be32(Int(crc32(typeBytes + data)))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
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

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
