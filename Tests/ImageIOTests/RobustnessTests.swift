import ImageIO
import Testing
import TestSupport

/// Fuzz-style inputs: each must return an image or throw `ImageDecodingError` — never crash or hang.
/// (Typed throws guarantee the error type; a crash would abort the test process.)
@Suite("Robustness")
struct RobustnessTests {
    static let options = DecodeOptions(maxPixels: 4_000_000)

    static func survive(_ bytes: [UInt8]) -> Bool {
        do {
            let d = try ImageDecoder.decode(bytes, options: options)
            return d.image.pixels.count == d.image.width * d.image.height * d.image.channels
        } catch {
            return !error.description.isEmpty
        }
    }

    static func validFiles() throws -> [[UInt8]] {
        let rgb = randomImage(width: 20, height: 18, channels: 3, seed: 11)
        let gray = Image(width: 24, height: 24, channels: 1, pixels: (0..<576).map { UInt8($0 % 251) })
        return [
            try PNGEncoder.encode(rgb),
            try PNGEncoder.encode(gray),
            try JPEGEncoder.encode(rgb),
            try JPEGEncoder.encode(rgb, progressive: true, exifOrientation: 6),
            try JPEGEncoder.encode(gray, quality: 50),
            PNGBuilder.build(width: 4, height: 1, bitDepth: 2, colorType: 3, scanlines: [[0b00_01_10_11]],
                             palette: [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3], transparency: [255, 0]),
            try intakeBytes("01-jpeg-cmyk-progressive", "images/cmyk_red.jpg"),
        ]
    }

    @Test("random bytes, with and without image signatures")
    func randomBytes() {
        var rng = SplitMix64(seed: 42)
        let prefixes: [[UInt8]] = [[], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], [0xFF, 0xD8, 0xFF],
                                   [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43]]
        for i in 0..<400 {
            let length = Int.random(in: 0...600, using: &rng)
            let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Self.survive(prefixes[i % prefixes.count] + body))
        }
    }

    @Test("every strict prefix of a valid file is rejected (never a half-decoded image)")
    func prefixes() throws {
        for file in try Self.validFiles() {
            #expect(Self.survive(file))
            #expect((try? ImageDecoder.decode(file, options: Self.options)) != nil)
            for length in 0..<file.count {
                let prefix = Array(file.prefix(length))
                #expect(Self.survive(prefix), "prefix \(length) of \(file.count)")
                #expect((try? ImageDecoder.decode(prefix, options: Self.options)) == nil, "prefix \(length) of \(file.count) decoded")
            }
        }
    }

    @Test("flipped and overwritten bytes")
    func flippedBytes() throws {
        var rng = SplitMix64(seed: 7)
        for file in try Self.validFiles() {
            for _ in 0..<300 {
                var damaged = file
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<damaged.count, using: &rng)
                    damaged[at] = Bool.random(using: &rng) ? damaged[at] ^ (1 << UInt8.random(in: 0...7, using: &rng))
                                                           : UInt8.random(in: 0...255, using: &rng)
                }
                #expect(Self.survive(damaged))
            }
        }
    }

    @Test("concurrent decoding from several tasks")
    func concurrent() async throws {
        let files = try Self.validFiles()
        let expected = files.map { try? ImageDecoder.decode($0).image }
        let results = await withTaskGroup(of: (Int, Image?).self) { group in
            for round in 0..<8 {
                for (i, file) in files.enumerated() {
                    group.addTask { (i + round * 0, try? ImageDecoder.decode(file).image) }
                }
            }
            var all: [(Int, Image?)] = []
            for await result in group { all.append(result) }
            return all
        }
        for (i, image) in results { #expect(image == expected[i]) }
    }
}
