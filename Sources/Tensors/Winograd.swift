import CKernels

/// 3×3 convolutions at stride 1 with one pixel of zero padding by Winograd's minimal filtering
/// F(2×2, 3×3) (Lavin & Gray 2016, https://arxiv.org/abs/1509.09308): each 2×2 output tile takes
/// 16 multiplications per channel pair instead of 36, as 16 GEMMs `M[ξ] = U[ξ] · V[ξ]` of
/// `[outputs, channels] · [tiles, channels]ᵀ` between C transforms of the weights (`U`), the input
/// (`V`) and the output (`M`). Sums are reassociated, so results differ from im2col's by rounding
/// (about 1e-6 relative on these networks' values). The plain reference is the im2col path, which
/// the tests check this against.
public enum Winograd {
    /// Whether `geometry` (one group of one image) with `outputs` filters runs here: 3×3, stride 1,
    /// padding 1, and at least `minimumChannels` input and output channels, below which the GEMMs'
    /// reduction (`channels`) is too short to repay the transforms (docs/decisions/0035-winograd.md).
    public static func applies(to geometry: ConvolutionGeometry, outputs: Int) -> Bool {
        geometry.kernelSize == 3 && geometry.stride == 1 && geometry.padding == 1
            && geometry.channels >= minimumChannels && outputs >= minimumChannels
    }

    /// Fewest input and output channels a Winograd layer has (see `applies`).
    public static let minimumChannels = 32

    /// Output tiles of one image: `⌈H/2⌉ · ⌈W/2⌉`.
    public static func tiles(_ g: ConvolutionGeometry) -> Int { ((g.height + 1) / 2) * ((g.width + 1) / 2) }

    /// Images transformed and multiplied together, so each GEMM has a few hundred columns.
    public static func imagesPerChunk(_ g: ConvolutionGeometry) -> Int { max(1, 400 / tiles(g)) }

    /// Floats of `U` for `outputs` filters of `channels` channels: `16 · outputs · channels`.
    public static func transformedWeightCount(outputs: Int, channels: Int) -> Int { 16 * outputs * channels }

    /// Floats of scratch one worker needs for `imagesPerChunk(g)` images: `V`, `M` and the transforms' own.
    public static func scratchCount(_ g: ConvolutionGeometry, outputs: Int) -> Int {
        let columns = imagesPerChunk(g) * tiles(g)
        return 16 * (g.channels + outputs) * columns + av_winograd_scratch_floats(g.channels, g.height, g.width)
    }

    /// A layer's transformed weights `U[16][outputs][channels]`, and for bf16 products each `U[ξ]`
    /// packed once (`PackedOperand`), so a batch's GEMMs do not round and pack them again.
    public final class Weights: @unchecked Sendable {
        private let transformed = Workspace()
        private var packed = [PackedOperand]()
        public private(set) var outputs = 0
        public private(set) var channels = 0
        public private(set) var precision = Precision.fp32

        public init() {}

        /// Transforms OIHW weights `[outputs, channels, 3, 3]` for products in `precision`.
        public func transform(_ weights: UnsafePointer<Float>, outputs: Int, channels: Int, precision: Precision) {
            let u = transformed.reserve(transformedWeightCount(outputs: outputs, channels: channels))
            av_winograd_weights(weights, outputs, channels, u)
            (self.outputs, self.channels, self.precision) = (outputs, channels, precision)
            guard precision == .bf16 else { return }
            while packed.count < 16 { packed.append(PackedOperand(side: .left)) }
            for element in 0..<16 {
                packed[element].pack(transpose: false, rows: outputs, columns: channels, u + element * outputs * channels, stride: channels)
            }
        }

        /// `U[ξ]`, `[outputs, channels]`, and its bf16 packing when `precision` is bf16.
        fileprivate func element(_ element: Int) -> (UnsafePointer<Float>, PackedOperand?) {
            (UnsafePointer(transformed.pointer + element * outputs * channels), precision == .bf16 ? packed[element] : nil)
        }
    }

    /// Convolves `count` images `[channels, H, W]` (`imageStride` floats apart) with `weights`,
    /// writing `count` outputs `[outputs, H, W]` (`outputStride` floats apart), `imagesPerChunk(g)`
    /// images at a time; the 16 products in the precision the weights were transformed for.
    /// - Precondition: `applies(to: g, outputs: weights.outputs)`, `weights.channels == g.channels`;
    ///   `scratch` holds `scratchCount(g, outputs:)` floats.
    public static func convolve(
        _ images: UnsafePointer<Float>, count: Int, imageStride: Int, geometry g: ConvolutionGeometry,
        weights u: Weights,
        output: UnsafeMutablePointer<Float>, outputStride: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let outputs = u.outputs
        precondition(applies(to: g, outputs: outputs) && u.channels == g.channels, "Winograd does not apply to \(g) with \(outputs) outputs")
        let chunk = imagesPerChunk(g)
        for first in stride(from: 0, to: count, by: chunk) {
            convolveChunk(
                images + first * imageStride, count: min(chunk, count - first), imageStride: imageStride, geometry: g,
                weights: u, output: output + first * outputStride, outputStride: outputStride, scratch: scratch)
        }
    }

    /// One chunk of at most `imagesPerChunk(g)` images: their transforms side by side in `V`, so each
    /// of the 16 GEMMs covers all their tiles.
    private static func convolveChunk(
        _ images: UnsafePointer<Float>, count: Int, imageStride: Int, geometry g: ConvolutionGeometry,
        weights u: Weights,
        output: UnsafeMutablePointer<Float>, outputStride: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let outputs = u.outputs
        let tiles = tiles(g), columns = imagesPerChunk(g) * tiles, channels = g.channels
        let v = scratch, m = v + 16 * channels * columns, transformScratch = m + 16 * outputs * columns
        Profile.measure(.im2col) {
            for image in 0..<count {
                av_winograd_input(images + image * imageStride, channels, g.height, g.width, v + image * tiles * channels, columns, transformScratch)
            }
        }
        for element in 0..<16 {
            // M[ξ][outputs, tiles] = U[ξ][outputs, channels] · V[ξ][tiles, channels]ᵀ
            let (a, packed) = u.element(element)
            GEMM.multiply(
                transposeB: true, m: outputs, n: count * tiles, k: channels,
                a: a, lda: channels,
                b: v + element * columns * channels, ldb: channels,
                beta: 0, c: m + element * outputs * columns, ldc: columns, precision: u.precision, packedA: packed)
        }
        Profile.measure(.im2col) {
            for image in 0..<count {
                av_winograd_output(m + image * tiles, outputs, g.height, g.width, columns, output + image * outputStride, transformScratch)
            }
        }
    }
}
