import NN
import Tensors
import TestSupport
import Testing

/// The layers' direct paths (`DirectKernels`): a one-channel convolution without im2col and inference
/// max pooling without argmax give what the general paths give, and gradients still check.
@Suite struct DirectPathTests {
    /// A gray image's first layer still passes the gradient check (training unfolds columns).
    @Test(arguments: [(3, Padding.same), (5, .same), (3, .valid), (3, .explicit(2))])
    func oneChannelConvolutionGradients(kernelSize: Int, padding: Padding) {
        var generator = SeededGenerator(seed: 5)
        let layer = Conv2D(inputChannels: 1, outputChannels: 3, kernelSize: kernelSize, padding: padding, generator: &generator)
        for i in 0..<layer.bias!.value.count { layer.bias!.value[i] = 0.1 * Float(i) }
        let x = Tensor.uniform(shape: [2, 1, 9, 11], in: -1...1, using: &generator)
        let result = gradientCheck(layer: layer, input: x)
        #expect(result.passed, "\(result)")
    }

    /// The direct forward equals the GEMM path's: a two-channel layer whose second channel's
    /// weights are zero computes the same convolution through im2col.
    @Test(arguments: [1, 4])
    func oneChannelConvolutionMatchesTheGEMMPath(batch: Int) {
        var generator = SeededGenerator(seed: 6)
        let direct = Conv2D(inputChannels: 1, outputChannels: 8, kernelSize: 3, generator: &generator)
        let general = Conv2D(inputChannels: 2, outputChannels: 8, kernelSize: 3, generator: &generator)
        for o in 0..<8 {
            for tap in 0..<9 {
                general.weight.value[(o * 2) * 9 + tap] = direct.weight.value[o * 9 + tap]
                general.weight.value[(o * 2 + 1) * 9 + tap] = 0
            }
            general.bias!.value[o] = direct.bias!.value[o]
        }
        let gray = Tensor.uniform(shape: [batch, 1, 28, 28], in: 0...1, using: &generator)
        var twoChannels = Tensor(shape: [batch, 2, 28, 28])
        for n in 0..<batch {
            for i in 0..<784 { twoChannels[n * 1568 + i] = gray[n * 784 + i] }
        }
        let expected = general.forward(twoChannels, training: false)
        #expect(maxDifference(direct.forward(gray, training: false), expected) < 1e-5)
        #expect(maxDifference(direct.forward(gray, training: true), expected) < 1e-5)
    }

    /// Inference pooling (no argmax) gives the training forward's output, NaNs included.
    @Test(arguments: [(28, 28), (7, 7), (5, 8)])
    func maxPoolInferenceMatchesTraining(height: Int, width: Int) {
        var generator = SeededGenerator(seed: 7)
        var x = Tensor.uniform(shape: [3, 4, height, width], in: -1...1, using: &generator)
        for i in stride(from: 2, to: x.count, by: 29) { x[i] = .nan }
        let pool = MaxPool2D(kernelSize: 2)
        let inference = pool.forward(x, training: false)
        let training = pool.forward(x, training: true)
        #expect(inference.shape == training.shape)
        for i in 0..<training.count {
            #expect(inference[i] == training[i] || (inference[i].isNaN && training[i].isNaN), "output \(i)")
        }
    }

    /// Training runs ReLU → MaxPool2D as MaxPool2D → ReLU: the output, the input gradient and the
    /// parameter gradients equal, bit for bit, those of the layers run one by one in their written order,
    /// with zeros, ties and all-negative windows in the pooled input.
    @Test func reluBeforePoolingRunsAfterItWithTheSameResults() {
        var generator = SeededGenerator(seed: 8)
        let conv = Conv2D(inputChannels: 2, outputChannels: 4, kernelSize: 3, generator: &generator)
        let layers: [any Layer] = [conv, ReLU(), MaxPool2D(kernelSize: 2), Flatten()]
        var x = Tensor.uniform(shape: [3, 2, 10, 9], in: -1...1, using: &generator)
        for i in stride(from: 0, to: x.count, by: 13) { x[i] = 0 }
        let outputGradient = Tensor.uniform(shape: [3, 4 * 5 * 4], in: -1...1, using: &generator)
        _ = expectTrainingMatchesTheLayersOneByOne(layers, input: x, outputGradient: outputGradient)
    }

    /// Trains `Sequential(layers)` one step and expects its output, input gradient and parameter
    /// gradients to equal, bit for bit, those of `layers` run one by one in their written order.
    /// - Returns: the `Sequential`'s output.
    func expectTrainingMatchesTheLayersOneByOne(_ layers: [any Layer], input x: Tensor, outputGradient: Tensor) -> Tensor {
        let network = Sequential(layers)
        let output = network.forward(x, training: true)
        let inputGradient = network.backward(outputGradient)
        let parameterGradients = network.parameters.map(\.gradient)

        var y = x
        for layer in layers { y = layer.forward(y, training: true) }
        var gradient = outputGradient
        for layer in layers.reversed() { gradient = layer.backward(gradient) }
        #expect(output.storage == y.storage)
        #expect(inputGradient.storage == gradient.storage)
        for (together, separate) in zip(parameterGradients, network.parameters.map(\.gradient)) {
            #expect(together.storage == separate.storage)
        }
        return output
    }

    /// Training runs BatchNorm → ReLU as one pass: the output, the input gradient and the parameter
    /// gradients equal, bit for bit, those of the layers run one by one in their written order, on
    /// feature maps (before a MaxPool2D, which then no longer trades places with the ReLU) and on
    /// `[N, C]` features.
    @Test(arguments: [false, true])
    func batchNormBeforeReLURunsAsOnePassWithTheSameResults(flat: Bool) {
        var generator = SeededGenerator(seed: 9)
        let batchNorm = BatchNorm(channels: 4)
        for c in 0..<4 { batchNorm.scale.value[c] = 0.5 + 0.3 * Float(c); batchNorm.offset.value[c] = 0.2 * Float(c) - 0.3 }
        let layers: [any Layer]
        let x: Tensor, outputGradient: Tensor
        if flat {
            let dense = Dense(inputSize: 6, outputSize: 4, generator: &generator)
            layers = [dense, batchNorm, ReLU()]
            x = Tensor.uniform(shape: [16, 6], in: -1...1, using: &generator)
            outputGradient = Tensor.uniform(shape: [16, 4], in: -1...1, using: &generator)
        } else {
            let conv = Conv2D(inputChannels: 2, outputChannels: 4, kernelSize: 3, useBias: false, generator: &generator)
            layers = [conv, batchNorm, ReLU(), MaxPool2D(kernelSize: 2), Flatten()]
            x = Tensor.uniform(shape: [3, 2, 10, 9], in: -1...1, using: &generator)
            outputGradient = Tensor.uniform(shape: [3, 4 * 5 * 4], in: -1...1, using: &generator)
        }
        let output = expectTrainingMatchesTheLayersOneByOne(layers, input: x, outputGradient: outputGradient)
        // Some outputs were cut by the ReLU, some passed.
        #expect(output.storage.contains(0) && output.storage.contains { $0 > 0 })
    }
}
