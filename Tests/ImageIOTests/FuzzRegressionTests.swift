import Foundation
import ImageIO
import Testing

/// Images that FuzzImageDecoder (FuzzTesting/) found breaking the decoder, under
/// Tests/Fixtures/fuzz/FuzzImageDecoder (see its README).
@Suite struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ImageIOTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/fuzz/FuzzImageDecoder")

    /// The EXIF orientation was read from libjpeg's marker memory after decoding had freed it: a
    /// use-after-free that AddressSanitizer reports on any JPEG with EXIF (this one is the intake's
    /// `orient6_red_top.jpg` as the fuzzer re-found it). Unsanitized it usually read the right bytes, so
    /// this test checks the answer; `Scripts/fuzz.sh` runs the file under ASan as a seed.
    @Test func exifOrientationIsReadBeforeDecodingFreesIt() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("exif-orientation-read-after-decode.jpg")))
        let decoded = try ImageDecoder.decode(bytes)
        #expect(decoded.orientation == 6)
        #expect(decoded.sourceWidth == 40 && decoded.sourceHeight == 24)
        #expect(decoded.image.width == 24 && decoded.image.height == 40)
    }

    /// A 12×12 PNG whose first chunk is not IHDR (libpng decodes it anyway): the header reader the
    /// server checks before decoding inline says nothing, so such a file takes the off-task path.
    @Test func aPNGWhoseFirstChunkIsNotIHDRDeclaresNoSize() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("ihdr-not-first-chunk.png")))
        #expect(ImageDecoder.declaredPNGPixels(bytes) == nil)
        let decoded = try ImageDecoder.decode(bytes)
        #expect(decoded.image.width == 12 && decoded.image.height == 12)
    }

    /// Every file kept in the folder, including any added later, decodes or fails with a typed error.
    @Test func everyRegressionInputDecodesOrFails() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            if let decoded = try? ImageDecoder.decode(bytes) {
                #expect(decoded.image.pixels.count == decoded.image.width * decoded.image.height * decoded.image.channels, "\(name)")
            }
        }
    }
}
