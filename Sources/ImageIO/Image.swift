/// An 8-bit raster image: row-major HWC bytes, `channels` 1 (gray) or 3 (RGB).
///
/// Layout: the sample for channel `c` of pixel `(x, y)` is `pixels[(y * width + x) * channels + c]`.
/// Rows are tightly packed (no padding), top row first, as decoders and `PNGEncoder` use them.
public struct Image: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Samples per pixel: 1 (gray) or 3 (RGB).
    public var channels: Int
    /// `height * width * channels` samples, HWC order.
    public var pixels: [UInt8]

    /// Wraps existing HWC samples.
    ///
    /// - Precondition: `width, height >= 0`, `channels` is 1 or 3 and
    ///   `pixels.count == width * height * channels` (programmer errors, not data errors).
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "Image dimensions must be non-negative")
        precondition(channels == 1 || channels == 3, "Image channels must be 1 or 3, got \(channels)")
        precondition(pixels.count == width * height * channels,
                     "Image expects \(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every sample set to `value`.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: value, count: width * height * channels))
    }

    /// Index of the first sample of pixel `(x, y)` in `pixels`.
    @inlinable
    public func offset(x: Int, y: Int) -> Int { (y * width + x) * channels }

    /// One sample: channel `channel` of pixel `(x, y)`. Out-of-range coordinates trap.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels)
            return pixels[offset(x: x, y: y) + channel]
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels)
            pixels[offset(x: x, y: y) + channel] = newValue
        }
    }

    /// The `channels` samples of pixel `(x, y)` (`[gray]` or `[r, g, b]`). Out-of-range coordinates trap.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let start = offset(x: x, y: y)
        return Array(pixels[start..<start + channels])
    }
}

/// An opaque sRGB colour, used as the matte that transparent pixels are composited onto.
public struct RGBColor: Sendable, Equatable, Hashable, Codable {
    /// Red component, 0–255.
    public var red: UInt8
    /// Green component, 0–255.
    public var green: UInt8
    /// Blue component, 0–255.
    public var blue: UInt8

    /// A colour from its 8-bit sRGB components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// (255, 255, 255): the default matte.
    public static let white = RGBColor(red: 255, green: 255, blue: 255)
    /// (0, 0, 0).
    public static let black = RGBColor(red: 0, green: 0, blue: 0)

    /// ITU-R BT.601 luma of this colour, `(299R + 587G + 114B + 500) / 1000`.
    public var luma: UInt8 { PixelMath.luma(red, green, blue) }
}

/// Shared per-pixel arithmetic (ITU-R BT.601 luma, alpha compositing).
enum PixelMath {
    /// `(299R + 587G + 114B + 500) / 1000` (ITU-R BT.601 weights, rounded).
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: (299 * Int(r) + 587 * Int(g) + 114 * Int(b) + 500) / 1000)
    }

    /// `(c·a + m·(255−a) + 127) / 255`: straight alpha over an opaque matte; a = 0 gives exactly m.
    @inline(__always)
    static func over(_ c: UInt8, _ a: UInt8, _ m: UInt8) -> UInt8 {
        let a = Int(a)
        return UInt8(truncatingIfNeeded: (Int(c) * a + Int(m) * (255 - a) + 127) / 255)
    }

    /// Gray → RGB by replication.
    static func grayToRGB(_ gray: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: gray.count * 3) { out, count in
            for i in 0..<gray.count {
                let v = gray[i]
                out[3 * i] = v
                out[3 * i + 1] = v
                out[3 * i + 2] = v
            }
            count = gray.count * 3
        }
    }

    /// RGB → BT.601 luma.
    static func rgbToLuma(_ rgb: [UInt8]) -> [UInt8] {
        let n = rgb.count / 3
        return [UInt8](unsafeUninitializedCapacity: n) { out, count in
            for i in 0..<n { out[i] = luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) }
            count = n
        }
    }
}
