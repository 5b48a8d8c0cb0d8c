import Tensors
import Testing

/// The C kernels of `DirectKernels` against their plain references, on shapes that exercise every
/// partial run of eight, padding wider than the kernel's reach, odd sides and NaNs.
@Suite struct DirectKernelsTests {
    @Test(arguments: [
        (28, 28, 3, 1, 32), (13, 17, 3, 1, 5), (9, 5, 5, 2, 3), (7, 7, 3, 0, 2), (1, 1, 3, 1, 4), (40, 33, 3, 1, 1),
        (6, 6, 5, 0, 2), (8, 3, 1, 0, 3), (4, 4, 3, 3, 2),
    ])
    func oneChannelConvolutionMatchesReference(height: Int, width: Int, kernelSize: Int, padding: Int, filters: Int) {
        let g = ConvolutionGeometry(channels: 1, height: height, width: width, kernelSize: kernelSize, stride: 1, padding: padding)
        var generator = SeededGenerator(seed: UInt64(height * 100 + width))
        let image = Tensor.uniform(shape: [height * width], in: -1...1, using: &generator)
        let weights = Tensor.uniform(shape: [filters * kernelSize * kernelSize], in: -1...1, using: &generator)
        let count = filters * g.outputHeight * g.outputWidth
        // Filled with NaN, so an output the kernel forgets to write fails the comparison.
        var output = Tensor(shape: [count], repeating: .nan), expected = Tensor(shape: [count], repeating: .nan)
        var scratch = Tensor(shape: [DirectKernels.oneChannelScratchCount(g)], repeating: .nan)
        image.withUnsafePointer { x in
            weights.withUnsafePointer { w in
                output.withUnsafeMutablePointer { y in
                    scratch.withUnsafeMutablePointer { s in
                        DirectKernels.convolveOneChannel(x, geometry: g, weights: w, filters: filters, output: y, scratch: s)
                    }
                }
                expected.withUnsafeMutablePointer { y in
                    DirectKernels.convolveOneChannelReference(x, geometry: g, weights: w, filters: filters, output: y)
                }
            }
        }
        // Sums of k² products in another order (and fused multiply-adds): equal up to rounding.
        #expect(output.maximumAbsoluteDifference(to: expected) < 1e-5)
    }

    @Test(arguments: [(28, 28, 32), (14, 14, 64), (7, 9, 3), (2, 2, 1), (1, 5, 2), (33, 31, 2)])
    func maxPoolMatchesReference(height: Int, width: Int, planes: Int) {
        var generator = SeededGenerator(seed: UInt64(height * 100 + width))
        var input = Tensor.uniform(shape: [planes * height * width], in: -1...1, using: &generator)
        // Ties (a rounded copy of the neighbour), NaNs at every window position, infinities.
        for i in stride(from: 0, to: input.count - 1, by: 7) { input[i + 1] = input[i] }
        for i in stride(from: 3, to: input.count, by: 37) { input[i] = .nan }
        for i in stride(from: 5, to: input.count, by: 41) { input[i] = -.infinity }
        let count = planes * (height / 2) * (width / 2)
        var output = Tensor(shape: [count], repeating: 7), expected = Tensor(shape: [count], repeating: 7)
        input.withUnsafePointer { x in
            output.withUnsafeMutablePointer { y in
                DirectKernels.maxPool2x2(x, output: y, planes: planes, height: height, width: width)
            }
            expected.withUnsafeMutablePointer { y in
                DirectKernels.maxPool2x2Reference(x, output: y, planes: planes, height: height, width: width)
            }
        }
        for i in 0..<count {
            #expect(output[i] == expected[i] || (output[i].isNaN && expected[i].isNaN), "output \(i)")
        }
    }

    /// The training pooling's output and the gradient its recorded positions route, against the plain
    /// loops: ties (the first maximum wins), NaNs, infinities, odd sides (whose last row or column gets 0).
    @Test(arguments: [(28, 28, 32), (14, 14, 64), (7, 9, 3), (2, 2, 1), (1, 5, 2), (33, 31, 2)])
    func trainingMaxPoolAndItsGradientMatchReference(height: Int, width: Int, planes: Int) {
        var generator = SeededGenerator(seed: UInt64(height * 100 + width + 1))
        var input = Tensor.uniform(shape: [planes * height * width], in: -1...1, using: &generator)
        for i in stride(from: 0, to: input.count - 1, by: 5) { input[i + 1] = input[i] }
        for i in stride(from: 3, to: input.count, by: 37) { input[i] = .nan }
        for i in stride(from: 5, to: input.count, by: 41) { input[i] = -.infinity }
        let count = planes * (height / 2) * (width / 2)
        let outputGradient = Tensor.uniform(shape: [max(count, 1)], in: 0.5...1, using: &generator)
        var output = Tensor(shape: [max(count, 1)], repeating: 7), expected = Tensor(shape: [max(count, 1)], repeating: 7)
        var positions = [UInt8](repeating: 9, count: max(count, 1))
        // NaN-filled, so an element the kernel forgets to write fails the comparison.
        var gradient = Tensor(shape: [planes * height * width], repeating: .nan)
        var expectedGradient = Tensor(shape: [planes * height * width])
        input.withUnsafePointer { x in
            positions.withUnsafeMutableBufferPointer { where_ in
                output.withUnsafeMutablePointer { y in
                    DirectKernels.maxPool2x2(x, output: y, positions: where_.baseAddress!, planes: planes, height: height, width: width)
                }
                outputGradient.withUnsafePointer { dy in
                    gradient.withUnsafeMutablePointer { dx in
                        DirectKernels.maxPool2x2Backward(
                            dy, positions: where_.baseAddress!, inputGradient: dx, planes: planes, height: height, width: width)
                    }
                    expectedGradient.withUnsafeMutablePointer { dx in
                        DirectKernels.maxPool2x2BackwardReference(
                            x, outputGradient: dy, inputGradient: dx, planes: planes, height: height, width: width)
                    }
                }
            }
            expected.withUnsafeMutablePointer { y in
                DirectKernels.maxPool2x2Reference(x, output: y, planes: planes, height: height, width: width)
            }
        }
        for i in 0..<count {
            #expect(output[i] == expected[i] || (output[i].isNaN && expected[i].isNaN), "output \(i)")
            #expect(positions[i] < 4, "position \(i)")
        }
        // One term per element in both (no sums of several): equal exactly, and a NaN left in fails.
        let mismatches = (0..<gradient.count).filter { gradient[$0] != expectedGradient[$0] }
        #expect(mismatches.isEmpty, "gradient differs at \(mismatches.prefix(5))")
    }
}
