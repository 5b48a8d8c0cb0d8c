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

func randomImage(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
    var rng = SplitMix64(seed: seed)
    let pixels = (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
}
