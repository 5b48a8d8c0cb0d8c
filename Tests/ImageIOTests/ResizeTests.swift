import ImageIO
import Testing

@Suite("Resize and crop")
struct ResizeTests {
    static func checkerboard(width: Int, height: Int) -> Image {
        Image(width: width, height: height, channels: 1,
              pixels: (0..<(width * height)).map { ($0 % width + $0 / width) % 2 == 0 ? 0 : 255 })
    }

    @Test("2x downscale of a 1-pixel checkerboard is uniform mid-gray (antialiased, no aliasing)")
    func checkerboardDownscale() {
        let out = ImageResize.resize(Self.checkerboard(width: 32, height: 24), width: 16, height: 12)
        #expect(out.width == 16 && out.height == 12 && out.channels == 1)
        #expect(out.pixels.allSatisfy { $0 == 128 }, "\(Set(out.pixels))")
    }

    @Test("non-integer downscale of a checkerboard stays near mid-gray")
    func checkerboardFractional() {
        let out = ImageResize.resize(Self.checkerboard(width: 30, height: 30), width: 7, height: 11)
        #expect(out.pixels.allSatisfy { abs(Int($0) - 128) <= 20 }, "\(out.pixels.min()!)...\(out.pixels.max()!)")
    }

    @Test("constant images stay constant", arguments: [(10, 7), (3, 3), (25, 40), (64, 2), (1, 1)])
    func constant(width: Int, height: Int) {
        let image = Image(width: 13, height: 9, channels: 3, pixels: (0..<(13 * 9 * 3)).map { [37, 200, 91][$0 % 3] })
        let out = ImageResize.resize(image, width: width, height: height)
        #expect(out.width == width && out.height == height && out.channels == 3)
        for y in 0..<height { for x in 0..<width { #expect(out.pixel(x: x, y: y) == [37, 200, 91]) } }
    }

    @Test("bilinear upscale interpolates between neighbours")
    func upscale() {
        let image = Image(width: 2, height: 1, channels: 1, pixels: [0, 200])
        let out = ImageResize.resize(image, width: 4, height: 1)
        // centres map to −0.25, 0.25, 0.75, 1.25 → clamp, 0.25, 0.75, clamp
        #expect(out.pixels == [0, 50, 150, 200])
    }

    @Test("box downscale averages blocks exactly")
    func boxAverage() {
        let image = Image(width: 4, height: 2, channels: 1, pixels: [0, 10, 20, 30, 40, 50, 60, 70])
        let out = ImageResize.resize(image, width: 2, height: 1)
        #expect(out.pixels == [25, 45])
    }

    @Test("same size is identity")
    func identity() {
        let image = randomImage(width: 7, height: 5, channels: 3, seed: 1)
        #expect(ImageResize.resize(image, width: 7, height: 5) == image)
    }

    @Test("centerCropSquare picks the centre", arguments: [(10, 6), (6, 10), (5, 5), (7, 4)])
    func centerCrop(width: Int, height: Int) {
        // Each pixel stores its own x (channel 0) and y (channel 1).
        var image = Image(width: width, height: height, channels: 3)
        for y in 0..<height { for x in 0..<width { image[x: x, y: y, channel: 0] = UInt8(x); image[x: x, y: y, channel: 1] = UInt8(y) } }
        let side = min(width, height)
        let out = ImageResize.centerCropSquare(image)
        #expect(out.width == side && out.height == side)
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        #expect(out.pixel(x: 0, y: 0) == [UInt8(x0), UInt8(y0), 0])
        #expect(out.pixel(x: side - 1, y: side - 1) == [UInt8(x0 + side - 1), UInt8(y0 + side - 1), 0])
    }

    /// A `width × height` image of `background` with a `marker` block at `x..<x+4`, `y..<y+4`.
    static func marked(width: Int, height: Int, channels: Int, background: [UInt8], marker: [UInt8], x: Int, y: Int) -> Image {
        var image = Image(width: width, height: height, channels: channels)
        for py in 0..<height {
            for px in 0..<width {
                let value = (x..<x + 4).contains(px) && (y..<y + 4).contains(py) ? marker : background
                for k in 0..<channels { image[x: px, y: py, channel: k] = value[k] }
            }
        }
        return image
    }

    @Test("letterbox keeps a marker at the left edge of a wide image and pads top and bottom with the border mean",
          arguments: [1, 3])
    func letterboxWide(channels: Int) {
        let background: [UInt8] = Array([10, 120, 230].prefix(channels)), marker: [UInt8] = Array([255, 0, 255].prefix(channels))
        let image = Self.marked(width: 40, height: 20, channels: channels, background: background, marker: marker, x: 0, y: 8)
        #expect(ImageResize.centerCropSquare(image).pixels.allSatisfy { background.contains($0) }, "a centre crop loses the marker")

        let out = ImageResize.letterbox(image, width: 16, height: 16)
        #expect(out.width == 16 && out.height == 16 && out.channels == channels)
        // 40×20 → 16×8 content in rows 4..<12; source rows 8..<12 land on content rows 3 and 4 (80 % marker).
        for y in [7, 8] {
            let pixel = out.pixel(x: 0, y: y).map(Int.init)
            let expected = zip(marker, background).map { (8 * Int($0) + 2 * Int($1) + 5) / 10 }
            #expect(zip(pixel, expected).allSatisfy { abs($0 - $1) <= 1 }, "row \(y): \(pixel), expected ≈ \(expected)")
        }
        #expect(out.pixel(x: 15, y: 8) == background, "the right edge is background")
        for y in Array(0..<4) + Array(12..<16) {
            for x in 0..<16 { #expect(out.pixel(x: x, y: y) == background, "padding (\(x), \(y)) is the border mean") }
        }
    }

    @Test("letterbox of a tall image pads left and right with the mean of its left and right columns")
    func letterboxTall() {
        // Left column 0, right column 200, interior 90: fill = 100.
        var image = Image(width: 10, height: 30, channels: 1, repeating: 90)
        for y in 0..<30 { image[x: 0, y: y, channel: 0] = 0; image[x: 9, y: y, channel: 0] = 200 }
        let out = ImageResize.letterbox(image, width: 30, height: 30)
        #expect(out.width == 30 && out.height == 30)
        for y in 0..<30 {
            for x in Array(0..<10) + Array(20..<30) { #expect(out[x: x, y: y, channel: 0] == 100) }
            #expect(out[x: 10, y: y, channel: 0] == 0 && out[x: 15, y: y, channel: 0] == 90 && out[x: 19, y: y, channel: 0] == 200,
                    "the content is unscaled and centred")
        }
    }

    @Test("letterbox puts the odd padding pixel at the bottom and uses an explicit fill")
    func letterboxOddPadding() {
        let image = Image(width: 10, height: 5, channels: 3, repeating: 50)
        let out = ImageResize.letterbox(image, width: 7, height: 7, fill: [1, 2, 3])
        // 10×5 → 7×4 (3.5 rounds up), 3 rows of padding: 1 on top, 2 below.
        let fill: [UInt8] = [1, 2, 3], content: [UInt8] = [50, 50, 50]
        #expect((0..<7).map { out.pixel(x: 3, y: $0) } == [fill, content, content, content, content, fill, fill])
    }

    @Test("letterbox leaves square images as a plain resize (same as the centre crop)", arguments: [(20, 1), (16, 3), (9, 3)])
    func letterboxSquare(side: Int, channels: Int) {
        let image = randomImage(width: side, height: side, channels: channels, seed: UInt64(side))
        let resized = ImageResize.resize(image, width: 16, height: 16)
        #expect(ImageResize.letterbox(image, width: 16, height: 16) == resized)
        #expect(ImageResize.resize(ImageResize.centerCropSquare(image), width: 16, height: 16) == resized)
    }

    @Test("flipHorizontal mirrors rows")
    func flip() {
        let image = Image(width: 3, height: 1, channels: 1, pixels: [1, 2, 3])
        #expect(ImageResize.flipHorizontal(image).pixels == [3, 2, 1])
    }
}
