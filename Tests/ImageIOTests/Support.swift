import Foundation
import ImageIO
import Testing
import TestSupport

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
