/// Geometry on `Image`: crops, flips and antialiased resizing. Channel count is preserved (HWC, UInt8).
public enum ImageResize {
    /// The largest centred square: side `min(width, height)`, offset `((width − side) / 2, (height − side) / 2)`.
    public static func centerCropSquare(_ image: Image) -> Image {
        let side = min(image.width, image.height)
        return crop(image, x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side)
    }

    /// Fits the whole image into `width × height` without cropping: scales it (antialiased, with
    /// `resize`) so it is as large as possible while keeping its aspect ratio — for a square target,
    /// the longer side becomes the target side — and pads the remaining margin symmetrically (the
    /// odd pixel, if any, goes to the bottom/right).
    ///
    /// - Parameter fill: the padding colour, one value per channel. By default each channel is
    ///   filled with the mean of the scaled image's pixels on the edges that touch the padding
    ///   (top and bottom rows of a wide image, left and right columns of a tall one). Rationale:
    ///   the padding then continues the image's own border, so a product shot on white is padded
    ///   with white and a dark photo with dark, instead of a hard black (or gray) bar whose strong,
    ///   aspect-ratio-dependent edge the network could learn as a feature; zero/black, which many
    ///   tools use, would put that edge on every padded image. The fill depends only on the image,
    ///   so training and serving pad identically. Works for any channel count.
    /// - Precondition: source and target dimensions are positive; `fill`, if given, has one value per channel.
    public static func letterbox(_ image: Image, width: Int, height: Int, fill: [UInt8]? = nil) -> Image {
        precondition(width > 0 && height > 0, "letterbox target must be positive, got \(width)x\(height)")
        precondition(image.width > 0 && image.height > 0, "cannot letterbox an empty image")
        precondition(fill == nil || fill!.count == image.channels, "fill needs \(image.channels) value(s)")
        // Scale by the smaller ratio (integer arithmetic, rounded to nearest) so the result fits.
        let scaledWidth: Int, scaledHeight: Int
        if image.width * height >= image.height * width {
            scaledWidth = width
            scaledHeight = min(height, max(1, (2 * image.height * width + image.width) / (2 * image.width)))
        } else {
            scaledHeight = height
            scaledWidth = min(width, max(1, (2 * image.width * height + image.height) / (2 * image.height)))
        }
        let scaled = resize(image, width: scaledWidth, height: scaledHeight)
        if scaledWidth == width && scaledHeight == height { return scaled }

        let c = image.channels
        let fillValues: [UInt8]
        if let fill {
            fillValues = fill
        } else {
            var sums = [Int](repeating: 0, count: c)
            var count = 0
            func add(x: Int, y: Int) {
                let offset = scaled.offset(x: x, y: y)
                for k in 0..<c { sums[k] += Int(scaled.pixels[offset + k]) }
                count += 1
            }
            if scaledHeight < height {
                for x in 0..<scaledWidth { add(x: x, y: 0); add(x: x, y: scaledHeight - 1) }
            }
            if scaledWidth < width {
                for y in 0..<scaledHeight { add(x: 0, y: y); add(x: scaledWidth - 1, y: y) }
            }
            fillValues = sums.map { UInt8((2 * $0 + count) / (2 * count)) }
        }

        let left = (width - scaledWidth) / 2, top = (height - scaledHeight) / 2
        var out = [UInt8](repeating: 0, count: width * height * c)
        for i in 0..<(width * height) { for k in 0..<c { out[i * c + k] = fillValues[k] } }
        let rowLength = scaledWidth * c
        for y in 0..<scaledHeight {
            let destination = ((top + y) * width + left) * c
            out.replaceSubrange(destination..<(destination + rowLength), with: scaled.pixels[(y * rowLength)..<((y + 1) * rowLength)])
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }

    /// The `width × height` rectangle whose top-left pixel is `(x, y)`.
    /// - Precondition: the rectangle lies inside the image.
    public static func crop(_ image: Image, x: Int, y: Int, width: Int, height: Int) -> Image {
        precondition(x >= 0 && y >= 0 && width >= 0 && height >= 0
                     && x + width <= image.width && y + height <= image.height,
                     "crop \(width)x\(height)+\(x)+\(y) outside \(image.width)x\(image.height)")
        let c = image.channels
        var out = [UInt8]()
        out.reserveCapacity(width * height * c)
        for row in y..<(y + height) {
            let start = image.offset(x: x, y: row)
            out.append(contentsOf: image.pixels[start..<(start + width * c)])
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }

    /// Mirrors left to right.
    public static func flipHorizontal(_ image: Image) -> Image { image.applyingEXIFOrientation(2) }

    /// Resamples to `width × height` with a separable filter chosen per axis:
    /// downscaling uses area averaging (a box filter whose support is the scale factor, with fractional
    /// coverage at the edges — Pillow's `Image.reduce`/BOX, OpenCV's INTER_AREA), so every source pixel
    /// contributes and high frequencies do not alias; upscaling uses bilinear interpolation with
    /// half-pixel centres and clamped edges. Weights are normalised, so a constant image stays constant.
    ///
    /// - Precondition: source and target dimensions are positive.
    public static func resize(_ image: Image, width: Int, height: Int) -> Image {
        precondition(width > 0 && height > 0, "resize target must be positive, got \(width)x\(height)")
        precondition(image.width > 0 && image.height > 0, "cannot resize an empty image")
        if width == image.width && height == image.height { return image }
        let c = image.channels
        let horizontal = Taps(input: image.width, output: width)
        let vertical = Taps(input: image.height, output: height)

        // Pass 1: rows, input H × W × C → H × width × C (Float).
        var temp = [Float](repeating: 0, count: image.height * width * c)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { dst in
                for y in 0..<image.height {
                    let srcRow = y * image.width * c
                    let dstRow = y * width * c
                    for x in 0..<width {
                        let first = horizontal.start[x]
                        for k in 0..<c {
                            var sum: Float = 0
                            for t in 0..<horizontal.count[x] {
                                sum += horizontal.weight[x * horizontal.stride + t] * Float(src[srcRow + (first + t) * c + k])
                            }
                            dst[dstRow + x * c + k] = sum
                        }
                    }
                }
            }
        }

        // Pass 2: columns, H × width × C → height × width × C (UInt8, rounded and clamped).
        let rowLength = width * c
        let out = [UInt8](unsafeUninitializedCapacity: height * rowLength) { dst, initialized in
            temp.withUnsafeBufferPointer { src in
                var sums = [Float](repeating: 0, count: rowLength)
                for y in 0..<height {
                    for i in 0..<rowLength { sums[i] = 0 }
                    let first = vertical.start[y]
                    for t in 0..<vertical.count[y] {
                        let w = vertical.weight[y * vertical.stride + t]
                        let row = (first + t) * rowLength
                        for i in 0..<rowLength { sums[i] += w * src[row + i] }
                    }
                    for i in 0..<rowLength {
                        dst[y * rowLength + i] = UInt8(min(max(sums[i] + 0.5, 0), 255))
                    }
                }
            }
            initialized = height * rowLength
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }

    /// Per-output-index filter taps along one axis: `count[i]` weights starting at input `start[i]`.
    struct Taps {
        var start: [Int]
        var count: [Int]
        var weight: [Float]
        var stride: Int

        init(input: Int, output: Int) {
            let scale = Double(input) / Double(output)
            start = [Int](repeating: 0, count: output)
            count = [Int](repeating: 0, count: output)
            if scale > 1 {
                // Area averaging: output i covers input interval [i·scale, (i+1)·scale).
                stride = Int(scale.rounded(.up)) + 1
                weight = [Float](repeating: 0, count: output * stride)
                for i in 0..<output {
                    let lo = Double(i) * scale
                    let hi = min(Double(i + 1) * scale, Double(input))
                    let first = min(Int(lo.rounded(.down)), input - 1)
                    let last = max(min(Int(hi.rounded(.up)) - 1, input - 1), first)
                    var ws: [Double] = []
                    for j in first...last {
                        ws.append(max(0, min(hi, Double(j + 1)) - max(lo, Double(j))))
                    }
                    let total = ws.reduce(0, +)
                    start[i] = first
                    count[i] = ws.count
                    for (t, w) in ws.enumerated() { weight[i * stride + t] = Float(total > 0 ? w / total : 1 / Double(ws.count)) }
                }
            } else {
                // Bilinear: centre of output i maps to input coordinate (i + 0.5)·scale − 0.5.
                stride = 2
                weight = [Float](repeating: 0, count: output * stride)
                for i in 0..<output {
                    let centre = (Double(i) + 0.5) * scale - 0.5
                    let clamped = min(max(centre, 0), Double(input - 1))
                    let j0 = min(Int(clamped.rounded(.down)), input - 1)
                    let frac = clamped - Double(j0)
                    start[i] = j0
                    if j0 + 1 < input && frac > 0 {
                        count[i] = 2
                        weight[i * stride] = Float(1 - frac)
                        weight[i * stride + 1] = Float(frac)
                    } else {
                        count[i] = 1
                        weight[i * stride] = 1
                    }
                }
            }
        }
    }
}
