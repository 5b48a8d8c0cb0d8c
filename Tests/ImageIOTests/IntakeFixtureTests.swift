import Foundation
import ImageIO
import Testing

/// The committed intake cases under Tests/Fixtures/intake (see each case's CASE.md / expected.json).
@Suite("Intake fixtures")
struct IntakeFixtureTests {
    // 01-jpeg-cmyk-progressive
    @Test("CMYK (Adobe, inverted) and progressive JPEGs decode to the right colours",
          arguments: [("images/cmyk_red.jpg", [255, 0, 0], 40), ("images/cmyk_blue.jpg", [0, 0, 255], 40),
                      ("images/progressive_red.jpg", [255, 0, 0], 12), ("images/progressive_blue.jpg", [0, 0, 255], 12),
                      ("images/rgb_baseline_red.jpg", [255, 0, 0], 12)])
    func cmykAndProgressive(file: String, expected: [Int], tolerance: Int) throws {
        let decoded = try ImageDecoder.decode(contentsOf: intakeURL("01-jpeg-cmyk-progressive", file))
        #expect(decoded.format == .jpeg)
        #expect(decoded.image.width == 32 && decoded.image.height == 32)
        #expect(decoded.image.channels == 3)
        #expect(!decoded.isGrayscale)
        let centre = decoded.image.pixel(x: 16, y: 16)
        #expect(isClose(centre, expected, tolerance: tolerance), "\(file): centre \(centre)")
        if file.contains("cmyk") { #expect(decoded.sourceDescription.contains("CMYK (Adobe)")) }
        if file.contains("progressive") { #expect(decoded.sourceDescription.contains("progressive")) }
    }

    @Test("PNG controls of case 01 decode as RGB")
    func controls() throws {
        for name in ["ctrl_red_0.png", "ctrl_blue_0.png"] {
            let decoded = try ImageDecoder.decode(contentsOf: intakeURL("01-jpeg-cmyk-progressive", "images/\(name)"))
            #expect(decoded.format == .png)
            let centre = decoded.image.pixel(x: decoded.image.width / 2, y: decoded.image.height / 2)
            #expect(isClose(centre, name.contains("red") ? [255, 0, 0] : [0, 0, 255], tolerance: 40), "\(name): \(centre)")
        }
    }

    // 02-exif-orientation
    @Test("EXIF orientation is applied", arguments: [(1, 24, 40), (3, 24, 40), (6, 40, 24), (8, 40, 24)])
    func exifOrientation(orientation: Int, storedWidth: Int, storedHeight: Int) throws {
        let url = intakeURL("02-exif-orientation", "images/orient\(orientation)_red_top.jpg")
        let decoded = try ImageDecoder.decode(contentsOf: url)
        #expect(decoded.orientation == orientation)
        #expect(decoded.sourceWidth == storedWidth && decoded.sourceHeight == storedHeight)
        #expect(decoded.image.width == 24 && decoded.image.height == 40)
        let top = decoded.image.pixel(x: 12, y: 4)
        let bottom = decoded.image.pixel(x: 12, y: 35)
        #expect(isClose(top, [255, 0, 0], tolerance: 40), "orientation \(orientation): top \(top)")
        #expect(isClose(bottom, [0, 0, 255], tolerance: 40), "orientation \(orientation): bottom \(bottom)")
    }

    // 03-corrupt-truncated-empty
    @Test("truncated JPEG is an error, not a half-grey image")
    func truncatedJPEG() throws {
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(contentsOf: intakeURL("03-corrupt-truncated-empty", "images/cat_truncated.jpg"))
        }
        guard case .truncated(.jpeg, _) = error else {
            Issue.record("expected truncated JPEG, got \(String(describing: error))")
            return
        }
        #expect(error?.description == "truncated JPEG (premature end of data)")
    }

    @Test("zero-byte file")
    func emptyFile() {
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(contentsOf: intakeURL("03-corrupt-truncated-empty", "images/cat_empty.jpg"))
        }
        #expect(error == .emptyFile)
        #expect(error?.description == "zero-byte file")
    }

    @Test("truncated PNG (IDAT cut, no IEND)")
    func truncatedPNG() {
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(contentsOf: intakeURL("03-corrupt-truncated-empty", "images/dog_truncated.png"))
        }
        #expect(error == .truncated(.png, "IDAT cut, no IEND"), "\(String(describing: error))")
        #expect(error?.description == "truncated PNG (IDAT cut, no IEND)")
    }

    @Test("HTML saved as .jpg is not an image, and the message says HTML")
    func htmlAsJPEG() throws {
        let url = intakeURL("03-corrupt-truncated-empty", "images/dog_html_error_page.jpg")
        #expect(ImageFormat.sniff(try intakeBytes("03-corrupt-truncated-empty", "images/dog_html_error_page.jpg")) == .html)
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(contentsOf: url) }
        #expect(error == .notAnImage("HTML text"))
        #expect(error?.description == "not a PNG or JPEG image (detected: HTML text)")
    }

    @Test("missing file")
    func missingFile() {
        let url = intakeURL("03-corrupt-truncated-empty", "images/does_not_exist.jpg")
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(contentsOf: url) }
        #expect(error == .fileNotFound(path: url.path))
        #expect(error?.description.hasPrefix("file not found") == true)
    }

    @Test("directory instead of a file is unreadable")
    func directory() {
        let url = intakeURL("03-corrupt-truncated-empty", "images")
        let error = decodingError { () throws(ImageDecodingError) in try ImageDecoder.decode(contentsOf: url) }
        guard case .unreadable = error else {
            Issue.record("expected unreadable, got \(String(describing: error))")
            return
        }
    }

    // 05-gray-alpha-palette
    @Test("gray, gray+alpha, RGBA and palette+tRNS composite onto a white matte")
    func grayAlphaPalette() throws {
        let rgb = DecodeOptions(outputChannels: 3)
        func decode(_ name: String) throws -> DecodedImage {
            try ImageDecoder.decode(contentsOf: intakeURL("05-gray-alpha-palette", "images/\(name)"), options: rgb)
        }
        func centre(_ d: DecodedImage) -> [UInt8] { d.image.pixel(x: d.image.width / 2, y: d.image.height / 2) }

        let grayJPEG = try decode("gray_1ch.jpg")
        #expect(grayJPEG.isGrayscale && grayJPEG.image.channels == 3)
        #expect(isClose(centre(grayJPEG), [200, 200, 200], tolerance: 6), "\(centre(grayJPEG))")

        let grayPNG = try decode("gray_1ch.png")
        #expect(grayPNG.isGrayscale && !grayPNG.hadAlpha)
        #expect(isClose(centre(grayPNG), [200, 200, 200], tolerance: 2))

        let grayAlpha = try decode("gray_alpha.png")
        #expect(grayAlpha.isGrayscale && grayAlpha.hadAlpha)
        #expect(grayAlpha.image.pixel(x: 0, y: 0) == [255, 255, 255])
        #expect(isClose(centre(grayAlpha), [200, 200, 200], tolerance: 2), "\(centre(grayAlpha))")

        for name in ["rgba_hidden_green.png", "palette_trns_hidden_green.png"] {
            let d = try decode(name)
            #expect(d.hadAlpha && !d.isGrayscale)
            let image = d.image
            for (x, y) in [(0, 0), (image.width - 1, 0), (0, image.height - 1), (image.width - 1, image.height - 1)] {
                #expect(image.pixel(x: x, y: y) == [255, 255, 255], "\(name) corner (\(x),\(y))")
            }
            #expect(isClose(centre(d), [255, 0, 0], tolerance: 2), "\(name) centre \(centre(d))")
        }
        let plain = try decode("palette_plain_red.png")
        #expect(!plain.hadAlpha && plain.sourceDescription.contains("palette"))
        #expect(isClose(centre(plain), [255, 0, 0], tolerance: 2))
    }

    @Test("default output channels: 1 for gray sources, 3 for colour")
    func defaultChannels() throws {
        let expectations = ["gray_1ch.jpg": 1, "gray_1ch.png": 1, "gray_alpha.png": 1,
                            "rgba_hidden_green.png": 3, "palette_trns_hidden_green.png": 3]
        for (name, channels) in expectations {
            let d = try ImageDecoder.decode(contentsOf: intakeURL("05-gray-alpha-palette", "images/\(name)"))
            #expect(d.image.channels == channels, "\(name)")
        }
        let grayAlpha = try ImageDecoder.decode(contentsOf: intakeURL("05-gray-alpha-palette", "images/gray_alpha.png"))
        #expect(grayAlpha.image.pixel(x: 0, y: 0) == [255])
    }

    @Test("a different matte is used exactly for fully transparent pixels")
    func blackMatte() throws {
        let options = DecodeOptions(matte: RGBColor(red: 10, green: 20, blue: 30))
        let d = try ImageDecoder.decode(contentsOf: intakeURL("05-gray-alpha-palette", "images/rgba_hidden_green.png"),
                                        options: options)
        #expect(d.image.pixel(x: 0, y: 0) == [10, 20, 30])
    }

    // 07-decompression-bomb
    @Test("decompression bombs are rejected from the header",
          arguments: [("images/bomb_20000x20000_1bit.png", 20_000), ("images/huge_header_100000x100000_rgba.png", 100_000)])
    func bombs(file: String, side: Int) {
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(contentsOf: intakeURL("07-decompression-bomb", file))
        }
        #expect(error == .tooManyPixels(width: side, height: side, limit: 100_000_000))
    }

    @Test("bomb message names dimensions and limit")
    func bombMessage() {
        let error = ImageDecodingError.tooManyPixels(width: 20_000, height: 20_000, limit: 100_000_000)
        #expect(error.description == "image is 20000x20000 (400 Mpx); the limit is 100 Mpx (--max-pixels)")
    }

    @Test("the limit is configurable")
    func configurableLimit() throws {
        let url = intakeURL("07-decompression-bomb", "images/ctrl_cat_0.png")
        let control = try ImageDecoder.decode(contentsOf: url)
        let limit = control.image.width * control.image.height - 1
        let error = decodingError { () throws(ImageDecodingError) in
            try ImageDecoder.decode(contentsOf: url, options: DecodeOptions(maxPixels: limit))
        }
        #expect(error == .tooManyPixels(width: control.image.width, height: control.image.height, limit: limit))
    }
}
