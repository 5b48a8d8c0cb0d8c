import CKernels

/// Kernels that skip a general path where its set-up costs more than the arithmetic: the first
/// convolution of a gray image (one input channel, `K = k²` is too short for a GEMM) and inference
/// max pooling (no argmax to keep). Each calls a C kernel (`CKernels`, AVX2 + FMA where the CPU has
/// them) and has its plain reference beside it, which the tests check it against.
public enum DirectKernels {
    /// Whether the C kernels run their AVX2 + FMA versions on this CPU.
    public static var usesAVX2: Bool { av_kernels_use_avx2() != 0 }

    /// Floats of scratch `convolveOneChannel` needs for geometry `g`.
    public static func oneChannelScratchCount(_ g: ConvolutionGeometry) -> Int {
        (g.height + 2 * g.padding) * (g.width + 2 * g.padding) + 32
    }

    /// Whether `convolveOneChannel` computes geometry `g`: one input channel, stride 1.
    public static func convolvesOneChannel(_ g: ConvolutionGeometry) -> Bool {
        g.channels == 1 && g.stride == 1 && g.outputHeight > 0 && g.outputWidth > 0
    }

    /// `y[o] = Σ_{ky,kx} w[o, ky, kx] · x[oy + ky − p, ox + kx − p]` (zero outside the image), without im2col.
    /// - Parameters:
    ///   - image: `[H, W]`, one channel.
    ///   - weights: `[filters, k, k]`.
    ///   - output: `[filters, H′, W′]`.
    ///   - scratch: `oneChannelScratchCount(g)` floats.
    /// - Precondition: `convolvesOneChannel(g)`.
    public static func convolveOneChannel(
        _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, weights: UnsafePointer<Float>, filters: Int,
        output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        precondition(convolvesOneChannel(g), "convolveOneChannel needs one channel and stride 1, got \(g)")
        av_conv_one_channel(image, g.height, g.width, weights, filters, g.kernelSize, g.padding, output, scratch)
    }

    /// The plain loops `convolveOneChannel` is checked against.
    public static func convolveOneChannelReference(
        _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, weights: UnsafePointer<Float>, filters: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let k = g.kernelSize, p = g.padding, outputWidth = g.outputWidth, outputHeight = g.outputHeight
        for o in 0..<filters {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    var sum: Float = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let iy = oy + ky - p, ix = ox + kx - p
                            guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { continue }
                            sum += weights[(o * k + ky) * k + kx] * image[iy * g.width + ix]
                        }
                    }
                    output[(o * outputHeight + oy) * outputWidth + ox] = sum
                }
            }
        }
    }

    /// Max pooling with a 2×2 window and stride 2, without argmax (inference).
    /// - Parameters:
    ///   - input: `planes` planes of `[height, width]`.
    ///   - output: `planes` planes of `[height / 2, width / 2]` (a last odd row or column is dropped).
    /// A NaN anywhere in a window is that window's output, as in PyTorch.
    public static func maxPool2x2(
        _ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, height: Int, width: Int
    ) {
        av_max_pool_2x2(input, output, planes, height, width)
    }

    /// The plain loops `maxPool2x2` is checked against.
    public static func maxPool2x2Reference(
        _ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, height: Int, width: Int
    ) {
        let outputHeight = height / 2, outputWidth = width / 2
        for p in 0..<planes {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let window = [0, 1, width, width + 1].map { input[p * height * width + 2 * oy * width + 2 * ox + $0] }
                    output[(p * outputHeight + oy) * outputWidth + ox] = window.contains(where: \.isNaN) ? .nan : window.max()!
                }
            }
        }
    }

    /// Max pooling with a 2×2 window and stride 2 for training: `maxPool2x2`, plus the position of each
    /// window's maximum in `positions` (one byte per output: 0 top left, 1 top right, 2 bottom left,
    /// 3 bottom right; the first maximum wins ties, a NaN wins), which `maxPool2x2Backward` reads.
    public static func maxPool2x2(
        _ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, positions: UnsafeMutablePointer<UInt8>,
        planes: Int, height: Int, width: Int
    ) {
        av_max_pool_2x2_argmax(input, output, positions, planes, height, width)
    }

    /// The gradient of the training `maxPool2x2`: every element of `inputGradient` (`planes` planes of
    /// `[height, width]`) is written, with each output's gradient at its window's recorded position and
    /// 0 elsewhere (a last odd row or column too).
    public static func maxPool2x2Backward(
        _ outputGradient: UnsafePointer<Float>, positions: UnsafePointer<UInt8>, inputGradient: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int
    ) {
        av_max_pool_2x2_backward(outputGradient, positions, inputGradient, planes, height, width)
    }

    /// The plain loops the training `maxPool2x2` and `maxPool2x2Backward` are checked against: the
    /// positions of the window maxima (first maximum wins, a NaN wins), then the gradient they route.
    public static func maxPool2x2BackwardReference(
        _ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int
    ) {
        let outputHeight = height / 2, outputWidth = width / 2
        inputGradient.update(repeating: 0, count: planes * height * width)
        for p in 0..<planes {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let offsets = [0, 1, width, width + 1].map { p * height * width + 2 * oy * width + 2 * ox + $0 }
                    var winner = offsets[0]
                    for offset in offsets.dropFirst() where input[offset] > input[winner] || input[offset].isNaN { winner = offset }
                    inputGradient[winner] += outputGradient[(p * outputHeight + oy) * outputWidth + ox]
                }
            }
        }
    }
}
