extension Image {
    /// The upright image for an EXIF Orientation value (EXIF 2.32 §4.6.4, tag 0x0112): the transform a
    /// viewer applies to display the stored pixels. Values outside 1–8 return the image unchanged.
    ///
    /// 1 identity · 2 mirror horizontally · 3 rotate 180° · 4 mirror vertically · 5 transpose
    /// (mirror + 90° CCW) · 6 rotate 90° CW · 7 transverse (mirror + 90° CW) · 8 rotate 90° CCW.
    /// Orientations 5–8 swap width and height.
    public func applyingEXIFOrientation(_ orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height, c = channels
        let swaps = orientation >= 5
        let outW = swaps ? h : w
        let outH = swaps ? w : h
        // For output (x, y), the source coordinate.
        let source: (Int, Int) -> (Int, Int)
        switch orientation {
        case 2: source = { x, y in (w - 1 - x, y) }
        case 3: source = { x, y in (w - 1 - x, h - 1 - y) }
        case 4: source = { x, y in (x, h - 1 - y) }
        case 5: source = { x, y in (y, x) }
        case 6: source = { x, y in (y, h - 1 - x) }
        case 7: source = { x, y in (w - 1 - y, h - 1 - x) }
        default: source = { x, y in (w - 1 - y, x) }  // 8
        }
        let src = pixels
        let out = [UInt8](unsafeUninitializedCapacity: outW * outH * c) { buffer, initialized in
            var o = 0
            for y in 0..<outH {
                for x in 0..<outW {
                    let (sx, sy) = source(x, y)
                    let s = (sy * w + sx) * c
                    for k in 0..<c { buffer[o + k] = src[s + k] }
                    o += c
                }
            }
            initialized = outW * outH * c
        }
        return Image(width: outW, height: outH, channels: c, pixels: out)
    }
}
