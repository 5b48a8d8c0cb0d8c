import NN
import Tensors
import TestSupport
import Testing

/// Conv2D's Winograd F(2×2, 3×3) forward pass and input gradient against its plain reference, the im2col path of the
/// same layer with `winograd` off: outputs in training and inference (odd sides, batches that split
/// into uneven chunks, channel counts not a multiple of 8, the fused BatchNorm → ReLU epilogue), weights changed between passes, and the
/// gradients by finite differences.
@Suite struct WinogradTests {
    /// Two layers with the same weights, one on each path.
    private func pair(inputs: Int, outputs: Int, bias: Bool = true) -> (winograd: Conv2D, im2col: Conv2D) {
        var g1 = SeededGenerator(seed: 21), g2 = SeededGenerator(seed: 21)
        let winograd = Conv2D(inputChannels: inputs, outputChannels: outputs, kernelSize: 3, useBias: bias, generator: &g1)
        let im2col = Conv2D(inputChannels: inputs, outputChannels: outputs, kernelSize: 3, useBias: bias, generator: &g2)
        im2col.winograd = false
        return (winograd, im2col)
    }

    /// Relative to the largest output: the sums are reassociated (Bᵀ d B, G g Gᵀ), so they differ by rounding.
    private func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
        let scale = (0..<b.count).reduce(Float(0)) { max($0, abs(b[$1])) }
        return maxDifference(a, b) / max(scale, 1e-6)
    }

    /// 36 input channels: the channel-last copy's eight-channel blocks end in a remainder of 4. The
    /// output rows go in blocks of 8 tiles (widths 28, 35: two and an overlapping third), of 4 (widths
    /// 14, 11), or one at a time (7, 6, 3), and an odd width ends in a half tile.
    @Test(arguments: [(32, 32, 28, 28, 5), (32, 64, 14, 14, 3), (64, 32, 7, 7, 9), (48, 40, 5, 6, 2), (32, 32, 1, 3, 1), (36, 32, 9, 11, 2),
                      (32, 32, 4, 35, 1)])
    func forwardMatchesTheIm2colPath(inputs: Int, outputs: Int, height: Int, width: Int, batch: Int) {
        let (winograd, im2col) = pair(inputs: inputs, outputs: outputs)
        var generator = SeededGenerator(seed: UInt64(height * 10 + batch))
        for o in 0..<outputs { winograd.bias!.value[o] = 0.01 * Float(o); im2col.bias!.value[o] = 0.01 * Float(o) }
        let x = Tensor.uniform(shape: [batch, inputs, height, width], in: -1...1, using: &generator)
        let expected = im2col.forward(x, training: false)
        let inference = winograd.forward(x, training: false)
        // Reassociated sums round differently somewhere: equal bits would mean Winograd did not run.
        #expect(inference.storage != expected.storage)
        #expect(relativeDifference(inference, expected) < 1e-5)
        #expect(relativeDifference(winograd.forward(x, training: true), expected) < 1e-5)
    }

    /// The input gradient by Winograd (the flipped kernel over dY) and the weight gradient from
    /// columns recomputed in backward, against the im2col path's cached columns and `Wᵀ·dY` + col2im.
    @Test(arguments: [(32, 32, 28, 28, 5), (64, 32, 7, 7, 3), (32, 48, 5, 6, 2)])
    func backwardMatchesTheIm2colPath(inputs: Int, outputs: Int, height: Int, width: Int, batch: Int) {
        let (winograd, im2col) = pair(inputs: inputs, outputs: outputs)
        var generator = SeededGenerator(seed: UInt64(width * 10 + batch))
        let x = Tensor.uniform(shape: [batch, inputs, height, width], in: -1...1, using: &generator)
        let dy = Tensor.uniform(shape: [batch, outputs, height, width], in: -1...1, using: &generator)
        _ = winograd.forward(x, training: true)
        _ = im2col.forward(x, training: true)
        let expected = im2col.backward(dy)
        let inputGradient = winograd.backward(dy)
        #expect(inputGradient.storage != expected.storage)
        #expect(relativeDifference(inputGradient, expected) < 1e-5)
        #expect(relativeDifference(winograd.weight.gradient, im2col.weight.gradient) < 1e-5)
    }

    /// An optimizer step changes the weights: the next pass transforms them again.
    @Test func changedWeightsAreTransformedAgain() {
        let (winograd, im2col) = pair(inputs: 32, outputs: 32)
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.uniform(shape: [2, 32, 6, 6], in: -1...1, using: &generator)
        _ = winograd.forward(x, training: false)
        for i in stride(from: 0, to: winograd.weight.value.count, by: 7) {
            winograd.weight.value[i] += 0.5
            im2col.weight.value[i] += 0.5
        }
        #expect(relativeDifference(winograd.forward(x, training: false), im2col.forward(x, training: false)) < 1e-5)
    }

    /// Conv2D → BatchNorm → ReLU in inference (the fused epilogue) on the Winograd path.
    @Test func fusedInferenceMatchesTheIm2colPath() {
        let (winograd, im2col) = pair(inputs: 32, outputs: 32, bias: false)
        let batchNorms = (BatchNorm(channels: 32), BatchNorm(channels: 32))
        for c in 0..<32 {
            for bn in [batchNorms.0, batchNorms.1] {
                bn.scale.value[c] = 0.5 + Float(c) * 0.03
                bn.offset.value[c] = -0.2 + Float(c) * 0.01
                bn.runningVariance.value[c] = 0.7 + Float(c) * 0.02
            }
        }
        let a = Sequential([winograd, batchNorms.0, ReLU()]), b = Sequential([im2col, batchNorms.1, ReLU()])
        var generator = SeededGenerator(seed: 6)
        let x = Tensor.uniform(shape: [3, 32, 9, 9], in: -1...1, using: &generator)
        #expect(relativeDifference(a.forward(x, training: false), b.forward(x, training: false)) < 1e-5)
    }

    /// Finite differences through the Winograd forward and input gradient.
    @Test func gradientsCheck() {
        let (layer, _) = pair(inputs: 32, outputs: 32)
        var generator = SeededGenerator(seed: 7)
        let result = gradientCheck(layer: layer, input: Tensor.uniform(shape: [2, 32, 5, 4], in: -1...1, using: &generator))
        #expect(result.passed, "\(result)")
    }

    /// Below 32 channels, or off 3×3 stride-1 'same', the layer keeps im2col.
    @Test func appliesOnlyWhereMeasuredFaster() {
        let g = ConvolutionGeometry(channels: 32, height: 14, width: 14, kernelSize: 3, stride: 1, padding: 1)
        #expect(Winograd.applies(to: g, outputs: 64))
        #expect(!Winograd.applies(to: g, outputs: 16))
        var strided = g
        strided.stride = 2
        #expect(!Winograd.applies(to: strided, outputs: 64))
        var five = g
        five.kernelSize = 5
        five.padding = 2
        #expect(!Winograd.applies(to: five, outputs: 64))
    }
}
