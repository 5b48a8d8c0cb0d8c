import ImageIO
import Testing

@Suite("Format detection and error messages")
struct FormatTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("magic bytes", arguments: [
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0], ImageFormat.png),
        ([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], .jpeg),
        (bytes("GIF89a") + [1, 0, 1, 0], .gif),
        (bytes("GIF87a"), .gif),
        (bytes("BM") + [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0, 1, 0], .bmp),
        (bytes("RIFF") + [0x24, 0, 0, 0] + bytes("WEBPVP8 "), .webp),
        ([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], .tiff),
        ([0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8], .tiff),
        ([0, 0, 0, 0x18] + bytes("ftypheic") + [0, 0, 0, 0] + bytes("mif1heic"), .heic),
        ([0, 0, 0, 0x1C] + bytes("ftypavif") + [0, 0, 0, 0] + bytes("avifmif1miaf"), .avif),
        ([0, 0, 0, 0x18] + bytes("ftypmif1") + [0, 0, 0, 0] + bytes("mif1avif"), .avif),
        (bytes("%PDF-1.7\n"), .pdf),
        ([0xEF, 0xBB, 0xBF] + bytes("  \n<!DOCTYPE html><html>"), .html),
        (bytes("<html><body>404</body></html>"), .html),
        (bytes("<?xml version=\"1.0\"?><svg/>"), .html),
        (bytes("iVBORw0KGgoAAAANSUhEUgAA"), .text),
        (bytes("café au lait\r\n"), .text),
        (bytes("BMW 320i"), .text),
        ([0x00, 0x01, 0x02, 0xFE], .unknown),
        ([], .unknown),
    ] as [([UInt8], ImageFormat)])
    func sniff(bytes: [UInt8], expected: ImageFormat) {
        #expect(ImageFormat.sniff(bytes) == expected)
    }

    @Test("unsupported formats are named", arguments: [
        (bytes("GIF89a") + [1, 0, 1, 0, 0, 0, 0], ImageFormat.gif, "GIF images are not supported (PNG and JPEG are)"),
        (bytes("BM") + [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0, 1, 0], .bmp,
         "BMP images are not supported (PNG and JPEG are)"),
        (bytes("RIFF") + [0x24, 0, 0, 0] + bytes("WEBPVP8 "), .webp, "WebP images are not supported (PNG and JPEG are)"),
    ] as [([UInt8], ImageFormat, String)])
    func unsupported(bytes: [UInt8], format: ImageFormat, message: String) {
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(bytes) }
        #expect(error == .unsupportedFormat(format))
        #expect(error?.description == message)
    }

    @Test("text and unknown bytes are not images")
    func notImages() {
        let text = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(Self.bytes("hello, world\n")) }
        #expect(text == .notAnImage("plain text"))
        let binary = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode([0, 1, 2, 3] as [UInt8]) }
        #expect(binary == .notAnImage("unrecognised binary data"))
        let empty = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode([] as [UInt8]) }
        #expect(empty == .emptyFile)
    }

    @Test("error descriptions")
    func descriptions() {
        #expect(ImageDecodingError.truncated(.png, "IDAT cut, no IEND").description == "truncated PNG (IDAT cut, no IEND)")
        #expect(ImageDecodingError.tooManyPixels(width: 100_000, height: 100_000, limit: 100_000_000).description
            == "image is 100000x100000 (10000 Mpx); the limit is 100 Mpx (--max-pixels)")
        #expect(ImageDecodingError.tooManyPixels(width: 1_500, height: 1_000, limit: 1_000_000).description
            == "image is 1500x1000 (1.5 Mpx); the limit is 1 Mpx (--max-pixels)")
        #expect(ImageDecodingError.corrupt(.jpeg, "Bogus marker length").description == "corrupt JPEG (Bogus marker length)")
    }

    @Test("invalid options are reported, not trapped")
    func invalidOptions() throws {
        let png = try PNGEncoder.encode(Image(width: 1, height: 1, channels: 1))
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(png, options: DecodeOptions(outputChannels: 4))
        }
        guard case .invalidOptions = error else {
            Issue.record("expected invalidOptions, got \(String(describing: error))")
            return
        }
    }

    @Test("Data and ArraySlice inputs decode like arrays")
    func collectionInputs() throws {
        let image = randomImage(width: 5, height: 4, channels: 3, seed: 5)
        let bytes = try PNGEncoder.encode(image)
        let padded = [0, 0] + bytes
        #expect(try ImageDecoder.decode(padded[2...]).image == image)
        #expect(try ImageDecoder.decode(AnySequenceCollection(bytes)).image == image)
    }
}

/// A non-contiguous collection, to exercise the copying path.
struct AnySequenceCollection: Collection {
    let storage: [UInt8]
    init(_ storage: [UInt8]) { self.storage = storage }
    var startIndex: Int { 0 }
    var endIndex: Int { storage.count }
    func index(after i: Int) -> Int { i + 1 }
    subscript(i: Int) -> UInt8 { storage[i] }
}
