/// Geometry of a square-kernel 2-D convolution or pooling window over one `[C, H, W]` image.
public struct ConvolutionGeometry: Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int

    public init(channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int, padding: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public var outputHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    /// Rows of the column matrix: `channels · kernelSize²`.
    public var columnRows: Int { channels * kernelSize * kernelSize }
    /// Columns of the column matrix: output pixels `H′ · W′`.
    public var columnColumns: Int { outputHeight * outputWidth }
}

/// Unfolds one image `[C, H, W]` into the column matrix `[C·k·k, H′·W′]` (zero padding), so a
/// convolution becomes `W[O, C·k·k] · col`. Row `(c, ky, kx)` holds input pixel
/// `(c, oy·s − p + ky, ox·s − p + kx)` at column `oy·W′ + ox`.
public func im2col(_ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>) {
    let outputHeight = g.outputHeight, outputWidth = g.outputWidth
    let k = g.kernelSize, s = g.stride, p = g.padding
    var row = columns
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for ky in 0..<k {
            for kx in 0..<k {
                // Output columns ox with 0 <= ox·s − p + kx < width.
                let firstValid = max(0, (p - kx + s - 1) / s)
                let lastValid = min(outputWidth, (g.width + p - kx + s - 1) / s)  // exclusive
                for oy in 0..<outputHeight {
                    let iy = oy * s - p + ky
                    let out = row + oy * outputWidth
                    if iy < 0 || iy >= g.height || firstValid >= lastValid {
                        out.update(repeating: 0, count: outputWidth)
                        continue
                    }
                    if firstValid > 0 { out.update(repeating: 0, count: firstValid) }
                    let source = plane + iy * g.width - p + kx
                    if s == 1 {
                        (out + firstValid).update(from: source + firstValid, count: lastValid - firstValid)
                    } else {
                        for ox in firstValid..<lastValid { out[ox] = source[ox * s] }
                    }
                    if lastValid < outputWidth { (out + lastValid).update(repeating: 0, count: outputWidth - lastValid) }
                }
                row += outputHeight * outputWidth
            }
        }
    }
}

/// Folds a column matrix `[C·k·k, H′·W′]` back onto an image `[C, H, W]`, adding overlapping
/// contributions (the adjoint of `im2col`). `image` must be zeroed (or hold values to add to).
public func col2im(_ columns: UnsafePointer<Float>, geometry g: ConvolutionGeometry, image: UnsafeMutablePointer<Float>) {
    let outputHeight = g.outputHeight, outputWidth = g.outputWidth
    let k = g.kernelSize, s = g.stride, p = g.padding
    var row = columns
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for ky in 0..<k {
            for kx in 0..<k {
                let firstValid = max(0, (p - kx + s - 1) / s)
                let lastValid = min(outputWidth, (g.width + p - kx + s - 1) / s)
                if firstValid < lastValid {
                    for oy in 0..<outputHeight {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= g.height { continue }
                        let input = row + oy * outputWidth
                        let target = plane + iy * g.width - p + kx
                        if s == 1 {
                            for ox in firstValid..<lastValid { target[ox] += input[ox] }
                        } else {
                            for ox in firstValid..<lastValid { target[ox * s] += input[ox] }
                        }
                    }
                }
                row += outputHeight * outputWidth
            }
        }
    }
}
