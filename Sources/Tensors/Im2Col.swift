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
///
/// With `outputRows`, only that band of output rows is unfolded, into `[C·k·k, rows·W′]` (a strip
/// small enough to stay in cache while the GEMM consumes it).
public func im2col(
    _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>,
    outputRows: Range<Int>? = nil
) {
    Profile.measure(.im2col) { im2colBody(image, geometry: g, columns: columns, outputRows: outputRows) }
}

private func im2colBody(
    _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>,
    outputRows: Range<Int>?
) {
    let rows = outputRows ?? 0..<g.outputHeight
    let outputHeight = rows.count, outputWidth = g.outputWidth, firstRow = rows.lowerBound
    let k = g.kernelSize, s = g.stride, p = g.padding
    if s == 1 && outputWidth == g.width {
        im2colSameStrideOne(image, geometry: g, columns: columns, outputRows: rows)
        return
    }
    var row = columns
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for ky in 0..<k {
            for kx in 0..<k {
                // Output columns ox with 0 <= ox·s − p + kx < width.
                let firstValid = max(0, (p - kx + s - 1) / s)
                let lastValid = min(outputWidth, (g.width + p - kx + s - 1) / s)  // exclusive
                for oy in 0..<outputHeight {
                    let iy = (firstRow + oy) * s - p + ky
                    let out = row + oy * outputWidth
                    if iy < 0 || iy >= g.height || firstValid >= lastValid {
                        zeroFloats(out, count: outputWidth)
                        continue
                    }
                    for ox in 0..<firstValid { out[ox] = 0 }
                    let source = plane + iy * g.width - p + kx
                    if s == 1 {
                        copyFloats(out + firstValid, source + firstValid, count: lastValid - firstValid)
                    } else {
                        for ox in firstValid..<lastValid { out[ox] = source[ox * s] }
                    }
                    for ox in lastValid..<outputWidth { out[ox] = 0 }
                }
                row += outputHeight * outputWidth
            }
        }
    }
}

/// `im2col` for stride 1 with "same" width (`W′ = W`, e.g. 3×3 pad 1): row `(c, ky, kx)` is then
/// the input plane shifted by `(ky − p)·W + (kx − p)`, so each row is one contiguous block copy plus
/// zeroed padding rows and the `|kx − p|` edge columns that the shift wraps into the next row.
private func im2colSameStrideOne(
    _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>, outputRows rows: Range<Int>
) {
    let width = g.width, height = g.height, k = g.kernelSize, p = g.padding
    let rowLength = rows.count * width
    var row = columns
    for c in 0..<g.channels {
        let plane = image + c * height * width
        for ky in 0..<k {
            // Output rows whose input row oy + ky − p lies inside the image.
            let firstValid = max(rows.lowerBound, p - ky)
            let validRows = firstValid..<max(firstValid, min(rows.upperBound, height + p - ky))
            for kx in 0..<k {
                let shift = kx - p
                if validRows.isEmpty {
                    zeroFloats(row, count: rowLength)
                    row += rowLength
                    continue
                }
                let before = (validRows.lowerBound - rows.lowerBound) * width
                let count = validRows.count * width
                zeroFloats(row, count: before)
                zeroFloats(row + before + count, count: rowLength - before - count)
                // Block copy; the first/last element may fall outside the plane (then it is padding).
                let sourceStart = (validRows.lowerBound + ky - p) * width + shift
                let first = max(0, -sourceStart), last = min(count, height * width - sourceStart)
                let target = row + before
                for j in 0..<first { target[j] = 0 }
                copyFloats(target + first, plane + sourceStart + first, count: last - first)
                for j in last..<count { target[j] = 0 }
                // Columns that wrapped around a row edge are padding.
                if shift != 0 {
                    var line = target
                    for _ in 0..<validRows.count {
                        if shift < 0 {
                            for ox in 0..<(-shift) { line[ox] = 0 }
                        } else {
                            for ox in (width - shift)..<width { line[ox] = 0 }
                        }
                        line += width
                    }
                }
                row += rowLength
            }
        }
    }
}

/// Folds a column matrix `[C·k·k, H′·W′]` back onto an image `[C, H, W]`, adding overlapping
/// contributions (the adjoint of `im2col`). `image` must be zeroed (or hold values to add to).
/// With `outputRows`, `columns` holds only that band (`[C·k·k, rows·W′]`), as from `im2col`.
public func col2im(
    _ columns: UnsafePointer<Float>, geometry g: ConvolutionGeometry, image: UnsafeMutablePointer<Float>,
    outputRows: Range<Int>? = nil
) {
    Profile.measure(.im2col) { col2imBody(columns, geometry: g, image: image, outputRows: outputRows) }
}

private func col2imBody(
    _ columns: UnsafePointer<Float>, geometry g: ConvolutionGeometry, image: UnsafeMutablePointer<Float>,
    outputRows: Range<Int>?
) {
    let rows = outputRows ?? 0..<g.outputHeight
    let outputHeight = rows.count, outputWidth = g.outputWidth, firstRow = rows.lowerBound
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
                        let iy = (firstRow + oy) * s - p + ky
                        if iy < 0 || iy >= g.height { continue }
                        let input = row + oy * outputWidth
                        let target = plane + iy * g.width - p + kx
                        if s == 1 {
                            addFloats(target + firstValid, input + firstValid, count: lastValid - firstValid)
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

// Short-row helpers: im2col rows are one output row long (often 7–56 floats), where a call to
// memmove/memset costs more than the copy. Explicit SIMD keeps LLVM from turning them back into calls.

@inline(__always)
func copyFloats(_ target: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] = source[i]
        i += 1
    }
}

@inline(__always)
func addFloats(_ target: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let sum = UnsafeRawPointer(target + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(target + i).storeBytes(of: sum, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] += source[i]
        i += 1
    }
}

@inline(__always)
func zeroFloats(_ target: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] = 0
        i += 1
    }
}
