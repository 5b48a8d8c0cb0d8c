import Tensors

/// Max pooling over square windows, no padding (`H′ = (H − kernelSize) / stride + 1`).
///
/// Shapes: `[N, C, H, W]` → `[N, C, H′, W′]`. The position of each maximum is kept for the
/// backward pass (the first maximum wins ties, as PyTorch); inference keeps none. A 2×2/2 window runs
/// `DirectKernels.maxPool2x2` (training: with a byte per output for the position of its maximum, and
/// a backward that writes each window once instead of zeroing and scattering). Planes are split across workers.
public final class MaxPool2D: Layer {
    public let kernelSize: Int
    public let stride: Int
    private var inputShape: Shape = [0]
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var argmax = [Int32]()
    /// Training forward of a 2×2/2 window: the position of each maximum within its window.
    private var windowPositions = [UInt8]()
    /// Whether the last forward was a training one, whose `argmax` backward needs.
    private var hasArgmax = false

    /// - Parameters:
    ///   - kernelSize: window side.
    ///   - stride: step between windows; `kernelSize` by default.
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let shape = input.shape
        precondition(shape.rank == 4, "MaxPool2D expects [N, C, H, W], got \(shape)")
        let height = shape[2], width = shape[3]
        let outputHeight = (height - kernelSize) / stride + 1, outputWidth = (width - kernelSize) / stride + 1
        let planes = shape[0] * shape[1]
        output.resize(to: [shape[0], shape[1], outputHeight, outputWidth])
        let outputPlane = outputHeight * outputWidth
        inputShape = shape
        hasArgmax = training
        if kernelSize == 2 && stride == 2 {
            if training && windowPositions.count < planes * outputPlane {
                windowPositions = [UInt8](repeating: 0, count: planes * outputPlane)
            }
            input.withUnsafePointer { x in
                output.withUnsafeMutablePointer { y in
                    windowPositions.withUnsafeMutableBufferPointer { positionBuffer in
                        let positions = positionBuffer.baseAddress
                        Threading.parallelFor(planes, costPerItem: 4 * outputPlane) { range, _ in
                            let source = x + range.lowerBound * height * width, target = y + range.lowerBound * outputPlane
                            if training, let positions {
                                DirectKernels.maxPool2x2(
                                    source, output: target, positions: positions + range.lowerBound * outputPlane,
                                    planes: range.count, height: height, width: width)
                            } else {
                                DirectKernels.maxPool2x2(source, output: target, planes: range.count, height: height, width: width)
                            }
                        }
                    }
                }
            }
            return output
        }
        if argmax.count < planes * outputPlane { argmax = [Int32](repeating: 0, count: planes * outputPlane) }
        let k = kernelSize, s = stride
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                argmax.withUnsafeMutableBufferPointer { indexBuffer in
                    let indices = indexBuffer.baseAddress!
                    Threading.parallelFor(planes, costPerItem: outputPlane * k * k) { range, _ in
                        for p in range {
                            let source = x + p * height * width
                            let target = y + p * outputPlane
                            let targetIndex = indices + p * outputPlane
                            if k == 2 && s == 2 {
                                // The common 2×2/2 window, unrolled.
                                for oy in 0..<outputHeight {
                                    let top = 2 * oy * width
                                    for ox in 0..<outputWidth {
                                        let i0 = top + 2 * ox, i1 = i0 + 1, i2 = i0 + width, i3 = i2 + 1
                                        var best = source[i0], bestIndex = i0
                                        // A larger value or a NaN takes the place (PyTorch's `val > max || isnan(val)`).
                                        // Selects, not branches: which input wins is unpredictable.
                                        let v1 = source[i1], v2 = source[i2], v3 = source[i3]
                                        let take1 = v1 > best || v1.isNaN
                                        best = take1 ? v1 : best
                                        bestIndex = take1 ? i1 : bestIndex
                                        let take2 = v2 > best || v2.isNaN
                                        best = take2 ? v2 : best
                                        bestIndex = take2 ? i2 : bestIndex
                                        let take3 = v3 > best || v3.isNaN
                                        best = take3 ? v3 : best
                                        bestIndex = take3 ? i3 : bestIndex
                                        target[oy * outputWidth + ox] = best
                                        targetIndex[oy * outputWidth + ox] = Int32(truncatingIfNeeded: bestIndex)
                                    }
                                }
                                continue
                            }
                            for oy in 0..<outputHeight {
                                for ox in 0..<outputWidth {
                                    let first = (oy * s) * width + ox * s
                                    var best = source[first]
                                    var bestIndex = first
                                    for ky in 0..<k {
                                        let row = (oy * s + ky) * width + ox * s
                                        for kx in 0..<k where source[row + kx] > best || source[row + kx].isNaN {
                                            best = source[row + kx]
                                            bestIndex = row + kx
                                        }
                                    }
                                    target[oy * outputWidth + ox] = best
                                    targetIndex[oy * outputWidth + ox] = Int32(truncatingIfNeeded: bestIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(hasArgmax, "MaxPool2D.backward without a training forward")
        precondition(outputGradient.shape == output.shape, "MaxPool2D.backward: gradient \(outputGradient.shape) vs \(output.shape)")
        inputGradient.resize(to: inputShape)
        let planes = inputShape[0] * inputShape[1]
        let inputPlane = inputShape[2] * inputShape[3]
        let outputPlane = output.shape[2] * output.shape[3]
        if kernelSize == 2 && stride == 2 {
            let height = inputShape[2], width = inputShape[3]
            outputGradient.withUnsafePointer { dy in
                inputGradient.withUnsafeMutablePointer { dx in
                    windowPositions.withUnsafeBufferPointer { positionBuffer in
                        let positions = positionBuffer.baseAddress!
                        Threading.parallelFor(planes, costPerItem: inputPlane) { range, _ in
                            DirectKernels.maxPool2x2Backward(
                                dy + range.lowerBound * outputPlane, positions: positions + range.lowerBound * outputPlane,
                                inputGradient: dx + range.lowerBound * inputPlane, planes: range.count, height: height, width: width)
                        }
                    }
                }
            }
            return inputGradient
        }
        outputGradient.withUnsafePointer { dy in
            inputGradient.withUnsafeMutablePointer { dx in
                argmax.withUnsafeBufferPointer { indexBuffer in
                    let indices = indexBuffer.baseAddress!
                    Threading.parallelFor(planes, costPerItem: inputPlane) { range, _ in
                        for p in range {
                            let target = dx + p * inputPlane
                            target.update(repeating: 0, count: inputPlane)
                            for i in 0..<outputPlane { target[Int(indices[p * outputPlane + i])] += dy[p * outputPlane + i] }
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}

/// Average pooling over square windows, no padding. Shapes: `[N, C, H, W]` → `[N, C, H′, W′]`.
public final class AvgPool2D: Layer {
    public let kernelSize: Int
    public let stride: Int
    private var inputShape: Shape = [0]
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let shape = input.shape
        precondition(shape.rank == 4, "AvgPool2D expects [N, C, H, W], got \(shape)")
        let height = shape[2], width = shape[3]
        let outputHeight = (height - kernelSize) / stride + 1, outputWidth = (width - kernelSize) / stride + 1
        let planes = shape[0] * shape[1]
        output.resize(to: [shape[0], shape[1], outputHeight, outputWidth])
        let k = kernelSize, s = stride
        let factor = 1 / Float(k * k)
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                Threading.parallelFor(planes, costPerItem: outputHeight * outputWidth * k * k) { range, _ in
                    for p in range {
                        let source = x + p * height * width
                        let target = y + p * outputHeight * outputWidth
                        for oy in 0..<outputHeight {
                            for ox in 0..<outputWidth {
                                var sum: Float = 0
                                for ky in 0..<k {
                                    let row = source + (oy * s + ky) * width + ox * s
                                    for kx in 0..<k { sum += row[kx] }
                                }
                                target[oy * outputWidth + ox] = sum * factor
                            }
                        }
                    }
                }
            }
        }
        inputShape = shape
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(outputGradient.shape == output.shape, "AvgPool2D.backward: gradient \(outputGradient.shape) vs \(output.shape)")
        inputGradient.resize(to: inputShape)
        let height = inputShape[2], width = inputShape[3]
        let outputHeight = output.shape[2], outputWidth = output.shape[3]
        let planes = inputShape[0] * inputShape[1]
        let k = kernelSize, s = stride
        let factor = 1 / Float(k * k)
        outputGradient.withUnsafePointer { dy in
            inputGradient.withUnsafeMutablePointer { dx in
                Threading.parallelFor(planes, costPerItem: height * width) { range, _ in
                    for p in range {
                        let target = dx + p * height * width
                        target.update(repeating: 0, count: height * width)
                        let source = dy + p * outputHeight * outputWidth
                        for oy in 0..<outputHeight {
                            for ox in 0..<outputWidth {
                                let g = source[oy * outputWidth + ox] * factor
                                for ky in 0..<k {
                                    let row = target + (oy * s + ky) * width + ox * s
                                    for kx in 0..<k { row[kx] += g }
                                }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}

/// Mean over each channel's plane. Shapes: `[N, C, H, W]` → `[N, C]`.
public final class GlobalAvgPool2D: Layer {
    private var inputShape: Shape = [0]
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let shape = input.shape
        precondition(shape.rank == 4, "GlobalAvgPool2D expects [N, C, H, W], got \(shape)")
        let planes = shape[0] * shape[1], plane = shape[2] * shape[3]
        output.resize(to: [shape[0], shape[1]])
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                for p in 0..<planes { y[p] = sumOf(x + p * plane, count: plane) / Float(plane) }
            }
        }
        inputShape = shape
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(outputGradient.shape == output.shape, "GlobalAvgPool2D.backward: gradient \(outputGradient.shape)")
        inputGradient.resize(to: inputShape)
        let planes = inputShape[0] * inputShape[1], plane = inputShape[2] * inputShape[3]
        outputGradient.withUnsafePointer { dy in
            inputGradient.withUnsafeMutablePointer { dx in
                for p in 0..<planes { (dx + p * plane).update(repeating: dy[p] / Float(plane), count: plane) }
            }
        }
        return inputGradient
    }
}
