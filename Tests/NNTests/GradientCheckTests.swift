import NN
import Tensors
import TestSupport
import Testing

/// Central-difference checks of every layer's input and parameter gradients (tolerances are
/// justified in `TestSupport.gradientCheck`).
@Suite struct GradientCheckTests {
    func input(_ shape: Shape, seed: UInt64 = 3, awayFromZero: Bool = false) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        var x = Tensor.uniform(shape: shape, in: -1...1, using: &generator)
        if awayFromZero {
            // Keep |x| ≥ 0.05 > step so ReLU's kink is never crossed by a ±step perturbation.
            for i in 0..<x.count where abs(x[i]) < 0.05 { x[i] += x[i] < 0 ? -0.05 : 0.05 }
        }
        return x
    }

    @Test(arguments: [
        (1, 1, 1, 2), (3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 1, 1), (5, 2, 1, 1), (3, 1, 2, 1), (3, 1, 4, 1),
    ])
    func convolution(kernelSize: Int, stride: Int, groups: Int, extraPadding: Int) {
        var generator = SeededGenerator(seed: 11)
        let layer = Conv2D(
            inputChannels: 4, outputChannels: 4, kernelSize: kernelSize, stride: stride,
            padding: extraPadding == 2 ? .explicit(0) : .same, groups: groups, generator: &generator)
        // Non-zero bias so its gradient path is exercised with a non-trivial forward.
        for i in 0..<layer.bias!.value.count { layer.bias!.value[i] = 0.1 * Float(i) }
        let result = gradientCheck(layer: layer, input: input([2, 4, 7, 7]))
        #expect(result.passed, "\(result)")
    }

    @Test func dense() {
        var generator = SeededGenerator(seed: 12)
        let result = gradientCheck(layer: Dense(inputSize: 9, outputSize: 7, generator: &generator), input: input([5, 9]))
        #expect(result.passed, "\(result)")
    }

    @Test func batchNorm() {
        let layer = BatchNorm(channels: 3)
        for c in 0..<3 { layer.scale.value[c] = 0.5 + Float(c); layer.offset.value[c] = 0.1 * Float(c) }
        let result = gradientCheck(layer: layer, input: input([4, 3, 3, 3]), step: 1e-2)
        #expect(result.passed, "\(result)")
        let flat = gradientCheck(layer: BatchNorm(channels: 6), input: input([8, 6]))
        #expect(flat.passed, "\(flat)")
    }

    @Test func activations() {
        for layer in [ReLU(), SiLU(), GELU()] as [any Layer] {
            let result = gradientCheck(layer: layer, input: input([3, 2, 4, 4], awayFromZero: true), maximumElementsPerTensor: 96)
            #expect(result.passed, "\(type(of: layer)): \(result)")
        }
    }

    @Test func pooling() {
        // A permutation of well-separated values: no ties, and ±step never changes the argmax.
        var generator = SeededGenerator(seed: 5)
        let order = generator.permutation(2 * 3 * 6 * 6)
        let x = Tensor(shape: [2, 3, 6, 6], values: order.map { Float($0) * 0.05 })
        for layer in [MaxPool2D(kernelSize: 2), MaxPool2D(kernelSize: 3, stride: 2), AvgPool2D(kernelSize: 2), AvgPool2D(kernelSize: 3, stride: 1), GlobalAvgPool2D()] as [any Layer] {
            let result = gradientCheck(layer: layer, input: x, maximumElementsPerTensor: 216)
            #expect(result.passed, "\(type(of: layer)): \(result)")
        }
    }

    @Test func dropoutWithFixedMask() {
        let layer = Dropout(rate: 0.4, seed: 9)
        let saved = layer.generator
        let result = gradientCheck(layer: layer, input: input([4, 10])) { x in
            layer.generator = saved  // the same mask on every pass
            return layer.forward(x, training: true)
        }
        #expect(result.passed, "\(result)")
        // Inference is the identity.
        let x = input([4, 10])
        #expect(layer.forward(x, training: false) == x)
    }

    @Test func flattenAndSequential() {
        var generator = SeededGenerator(seed: 13)
        let network = Sequential(
            Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, generator: &generator),
            BatchNorm(channels: 3),
            SiLU(),
            AvgPool2D(kernelSize: 2),
            Flatten(),
            Dense(inputSize: 3 * 3 * 3, outputSize: 4, generator: &generator))
        let result = gradientCheck(layer: network, input: input([3, 2, 6, 6]))
        #expect(result.passed, "\(result)")
    }

    @Test func residual() {
        var generator = SeededGenerator(seed: 14)
        let identity = Residual(body: Sequential(
            Conv2D(inputChannels: 3, outputChannels: 3, kernelSize: 3, generator: &generator),
            BatchNorm(channels: 3), GELU(),
            Conv2D(inputChannels: 3, outputChannels: 3, kernelSize: 3, generator: &generator)))
        let result = gradientCheck(layer: identity, input: input([2, 3, 5, 5]))
        #expect(result.passed, "\(result)")
        let projected = Residual(
            body: Sequential(Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 2, generator: &generator), SiLU()),
            shortcut: Sequential(Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 1, stride: 2, useBias: false, generator: &generator)))
        let projectedResult = gradientCheck(layer: projected, input: input([2, 3, 6, 6]))
        #expect(projectedResult.passed, "\(projectedResult)")
    }

    @Test func ensemble() {
        var generator = SeededGenerator(seed: 15)
        let members = (0..<3).map { _ in
            Sequential(Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, generator: &generator), SiLU(), Flatten(),
                       Dense(inputSize: 3 * 4 * 4, outputSize: 5, generator: &generator))
        }
        let result = gradientCheck(layer: Ensemble(members: members), input: input([2, 2, 4, 4]))
        #expect(result.passed, "\(result)")
    }

    @Test(arguments: [(Float(0), false), (0.1, false), (0, true), (0.2, true)])
    func softmaxCrossEntropy(labelSmoothing: Float, weighted: Bool) {
        let loss = SoftmaxCrossEntropy(labelSmoothing: labelSmoothing, classWeights: weighted ? [0.5, 2, 1, 1.5, 0.7] : nil)
        let result = lossGradientCheck(loss: loss, logits: input([6, 5]), labels: [0, 3, 4, 1, 1, 2])
        #expect(result.passed, "\(result)")
    }
}

@Suite struct ConvolutionPathTests {
    /// Backward with cached im2col columns and with columns recomputed strip by strip give the same
    /// gradients; inference (strips) gives the training output. The 40×40 case has 16·5·5 = 400
    /// column rows, so a strip holds 64 K / (400·W′) rows and an image spans several strips.
    @Test(arguments: [(1, 4, 3, 2, 9), (2, 4, 3, 2, 9), (1, 16, 5, 1, 40), (2, 16, 5, 2, 40), (1, 16, 3, 1, 40)])
    func cachedAndRecomputedColumnsAgree(groups: Int, channels: Int, kernelSize: Int, stride: Int, side: Int) {
        var g1 = SeededGenerator(seed: 3), g2 = SeededGenerator(seed: 3)
        let cached = Conv2D(inputChannels: channels, outputChannels: 6, kernelSize: kernelSize, stride: stride, groups: groups, generator: &g1)
        let recomputed = Conv2D(inputChannels: channels, outputChannels: 6, kernelSize: kernelSize, stride: stride, groups: groups, generator: &g2)
        recomputed.columnCacheLimit = 0
        var generator = SeededGenerator(seed: 4)
        let x = Tensor.uniform(shape: [3, channels, side, side], in: -1...1, using: &generator)
        let inference = cached.forward(x, training: false)
        let a = cached.forward(x, training: true), b = recomputed.forward(x, training: true)
        // Whole-image and strip GEMMs may block the sums differently (BLAS kernels differ): equal up to rounding.
        #expect(maxDifference(a, b) < 1e-5)
        #expect(maxDifference(inference, a) < 1e-5)
        let dy = Tensor.uniform(shape: a.shape, in: -1...1, using: &generator)
        // Strips sum dW in a different order than the whole-image GEMM: equal up to rounding.
        #expect(maxDifference(cached.backward(dy), recomputed.backward(dy)) < 1e-4)
        #expect(maxDifference(cached.weight.gradient, recomputed.weight.gradient) < 1e-3)
        #expect(cached.bias!.gradient == recomputed.bias!.gradient)
    }
}

extension GradientCheckTests {
    /// The flipped-kernel input gradient (an option of Conv2D), checked by finite differences.
    @Test(arguments: [3, 5])
    func convolutionWithFlippedKernelGradient(kernelSize: Int) {
        var generator = SeededGenerator(seed: 17)
        let layer = Conv2D(inputChannels: 3, outputChannels: 5, kernelSize: kernelSize, generator: &generator)
        layer.flippedKernelGradient = true
        var inputs = SeededGenerator(seed: 18)
        let result = gradientCheck(layer: layer, input: Tensor.uniform(shape: [2, 3, 9, 9], in: -1...1, using: &inputs))
        #expect(result.passed, "\(result)")
    }

    /// The strip-by-strip recompute path of Conv2D, checked by finite differences on its own.
    @Test func convolutionWithoutColumnCache() {
        var generator = SeededGenerator(seed: 15)
        let layer = Conv2D(inputChannels: 8, outputChannels: 3, kernelSize: 5, stride: 1, generator: &generator)
        layer.columnCacheLimit = 0
        var inputs = SeededGenerator(seed: 16)
        let result = gradientCheck(layer: layer, input: Tensor.uniform(shape: [2, 8, 30, 30], in: -1...1, using: &inputs))
        #expect(result.passed, "\(result)")
    }
}

extension ConvolutionPathTests {
    /// Inference fuses Conv2D → BatchNorm → ReLU (and Conv2D → ReLU) into one pass: same outputs
    /// as running the layers one by one.
    @Test func fusedInferenceMatchesLayerByLayer() throws {
        var generator = SeededGenerator(seed: 31)
        let conv1 = Conv2D(inputChannels: 3, outputChannels: 5, kernelSize: 3, generator: &generator)
        let bn = BatchNorm(channels: 5)
        let conv2 = Conv2D(inputChannels: 5, outputChannels: 4, kernelSize: 3, useBias: false, generator: &generator)
        for c in 0..<5 {
            bn.scale.value[c] = 0.5 + Float(c) * 0.3
            bn.offset.value[c] = -0.2 + Float(c) * 0.1
            bn.runningMean.value[c] = Float(c) * 0.05
            bn.runningVariance.value[c] = 0.7 + Float(c) * 0.2
            conv1.bias!.value[c] = 0.1 * Float(c) - 0.2
        }
        let layers: [any Layer] = [conv1, bn, ReLU(), conv2, ReLU(), MaxPool2D(kernelSize: 2), Flatten()]
        let network = Sequential(layers)
        let x = Tensor.uniform(shape: [3, 3, 8, 8], in: -1...1, using: &generator)
        var expected = x
        for layer in layers { expected = layer.forward(expected, training: false) }
        let fused = network.forward(x, training: false)
        #expect(maxDifference(fused, expected) < 1e-5)
    }
}
