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

    @Test("flipHorizontal mirrors rows")
    func flip() {
        let image = Image(width: 3, height: 1, channels: 1, pixels: [1, 2, 3])
        #expect(ImageResize.flipHorizontal(image).pixels == [3, 2, 1])
    }
}
