import Foundation
import NN
import Tensors
import TestSupport
import Testing

/// A network in bf16: every matrix product of training and inference rounds its operands, the
/// network trains, and the checkpoint carries the precision to the served model.
@Suite struct PrecisionTests {
    static let spec = ArchitectureSpec(name: "mixed", inputShape: [1, 8, 8], classes: 4, layers: [
        .conv2d(filters: 8, kernelSize: 3), .batchNorm(), .relu,
        .residual(body: [.conv2d(filters: 8, kernelSize: 3, bias: false), .batchNorm(), .relu]),
        .maxPool(size: 2), .flatten, .dense(units: 16), .relu, .dense(units: 4),
    ])

    @Test func buildSetsEveryLayer() throws {
        let network = try Self.spec.build(seed: 1, precision: .bf16)
        #expect(network.precision == .bf16)
        func layers(_ sequential: Sequential) -> [any Layer] {
            sequential.layers.flatMap { layer -> [any Layer] in
                if let residual = layer as? Residual { return layers(residual.body) }
                return [layer]
            }
        }
        let products = layers(network).filter { $0 is Conv2D || $0 is Dense }
        #expect(products.count == 4 && products.allSatisfy { $0.precision == .bf16 })
        #expect(try Self.spec.build(seed: 1).precision == .fp32)
    }

    /// bf16 and fp32 networks with the same weights answer alike, but not identically: the bf16 one
    /// rounds (inference and training forward both, as the first layer's direct fp32 kernel is off).
    @Test func bf16OutputsStayCloseToFP32() throws {
        let fp32 = try Self.spec.build(seed: 3), bf16 = try Self.spec.build(seed: 3, precision: .bf16)
        let (images, _) = syntheticImages(count: 6, side: 8, classes: 4, seed: 5)
        for training in [false, true] {
            let reference = fp32.forward(images, training: training).storage
            let mixed = bf16.forward(images, training: training).storage
            let scale = reference.map(abs).max() ?? 1
            let worst = zip(reference, mixed).map { abs($0 - $1) }.max() ?? 0
            #expect(worst > 0, "training \(training): bf16 gave fp32's outputs exactly")
            #expect(worst < 0.05 * scale, "training \(training): largest difference \(worst) of \(scale)")
        }
    }

    /// Dense's bf16 forward (`yᵀ = W · xᵀ`, W packed once per weight version) equals the product of the
    /// bf16-rounded operands summed in Double, at batches below, at and above a kernel tile; and it
    /// follows every change to the weights (an optimizer step, an assignment, a write through a
    /// pointer), so a packed copy is never used stale.
    @Test func bf16DenseMatchesTheRoundedProductAndFollowsTheWeights() throws {
        var generator = SeededGenerator(seed: 17)
        let dense = Dense(inputSize: 70, outputSize: 19, generator: &generator)
        dense.precision = .bf16
        func rounded(_ x: Float) -> Float {
            let bits = x.bitPattern
            return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
        }
        func expectMatches(_ input: Tensor, _ context: String) {
            let batch = input.shape[0]
            let output = dense.forward(input, training: false).storage
            let w = dense.weight.value.storage, b = dense.bias!.value.storage, x = input.storage
            for row in 0..<batch {
                for j in 0..<19 {
                    var sum = 0.0
                    for i in 0..<70 { sum += Double(rounded(x[row * 70 + i])) * Double(rounded(w[j * 70 + i])) }
                    let expected = Float(sum) + b[j]
                    #expect(abs(output[row * 19 + j] - expected) <= 1e-4 * max(1, abs(expected)), "\(context): [\(row), \(j)]")
                }
            }
        }
        for batch in [1, 5, 33] {
            expectMatches(Tensor.normal(shape: [batch, 70], using: &generator), "batch \(batch)")
        }
        let input = Tensor.normal(shape: [4, 70], using: &generator)
        expectMatches(input, "before any change")
        let before = dense.forward(input, training: false)
        _ = dense.forward(input, training: true)
        _ = dense.backward(Tensor.normal(shape: [4, 19], using: &generator))
        SGD(learningRate: 0.5).step(dense.parameters)
        #expect(dense.forward(input, training: false) != before, "the step changed nothing")
        expectMatches(input, "after an optimizer step")
        dense.weight.value = Tensor.normal(shape: [19, 70], using: &generator)
        expectMatches(input, "after an assignment")
        dense.weight.value.withUnsafeMutablePointer { $0[0] += 3 }
        expectMatches(input, "after a write through a pointer")
    }

    @Test func bf16NetworkOverfitsOneBatch() throws {
        let (images, labels) = syntheticImages(count: 16, side: 8, classes: 4, seed: 21)
        let network = try Self.spec.build(seed: 5, precision: .bf16)
        let loss = SoftmaxCrossEntropy()
        let optimizer = Adam(learningRate: 0.01)
        var lastLoss: Float = .infinity
        for _ in 0..<60 {
            lastLoss = loss.forward(logits: network.forward(images, training: true), labels: labels)
            _ = network.backward(loss.backward())
            optimizer.step(network.parameters)
        }
        #expect(network.forward(images, training: false).argmaxRows() == labels, "loss \(lastLoss)")
    }

    @Test func checkpointKeepsThePrecision() throws {
        let network = try Self.spec.build(seed: 2, precision: .bf16)
        let checkpoint = Checkpoint(network: network, architecture: Self.spec, labelNames: ["a", "b", "c", "d"])
        #expect(checkpoint.precision == .bf16)
        let decoded = try Checkpoint.decode(try checkpoint.encoded())
        #expect(decoded.precision == .bf16)
        let restored = try decoded.makeNetwork()
        #expect(restored.precision == .bf16)
        let (images, _) = syntheticImages(count: 3, side: 8, classes: 4, seed: 6)
        #expect(restored.forward(images, training: false) == network.forward(images, training: false))
        // An fp32 checkpoint writes no precision, so files from before it read as fp32, as they trained.
        let plain = Checkpoint(network: try Self.spec.build(seed: 2), architecture: Self.spec, labelNames: ["a", "b", "c", "d"])
        let header = String(decoding: try plain.encoded(), as: UTF8.self)
        #expect(!header.contains("\"precision\""))
        #expect(try Checkpoint.decode(try plain.encoded()).precision == .fp32)
    }

    /// The bf16 gradients of every path of Conv2D's backward (packed Wᵀ, the flipped kernel, 1×1 with
    /// the input as columns, groups, stride 2, columns cached or recomputed) stay within bf16's rounding
    /// of the fp32 ones, and are not them.
    @Test(arguments: [
        (3, 1, 1, false, true), (3, 1, 1, true, true), (1, 1, 1, false, true), (3, 2, 1, false, true),
        (3, 1, 2, false, true), (3, 1, 1, false, false),
    ])
    func bf16ConvolutionGradientsFollowFP32(kernelSize: Int, stride: Int, groups: Int, flipped: Bool, cached: Bool) {
        func gradients(_ precision: Precision) -> (input: [Float], weight: [Float]) {
            var generator = SeededGenerator(seed: 17)
            let layer = Conv2D(inputChannels: 8, outputChannels: 16, kernelSize: kernelSize, stride: stride, groups: groups,
                               generator: &generator)
            layer.precision = precision
            layer.flippedKernelGradient = flipped
            if !cached { layer.columnCacheLimit = 0 }
            let input = Tensor.uniform(shape: [3, 8, 9, 9], in: -1...1, using: &generator)
            let output = layer.forward(input, training: true)
            let upstream = Tensor.uniform(shape: output.shape, in: -1...1, using: &generator)
            let inputGradient = layer.backward(upstream).storage
            return (inputGradient, layer.weight.gradient.storage)
        }
        let fp32 = gradients(.fp32), bf16 = gradients(.bf16)
        for (name, reference, mixed) in [("input", fp32.input, bf16.input), ("weight", fp32.weight, bf16.weight)] {
            let error = Self.relativeError(reference, mixed)
            #expect(error > 0, "\(name) gradient: bf16 gave fp32's exactly")
            #expect(error < 1e-2, "\(name) gradient: relative error \(error)")
        }
    }

    /// ‖reference − other‖₂ / ‖reference‖₂, in Double.
    private static func relativeError(_ reference: [Float], _ other: [Float]) -> Double {
        let error = zip(reference, other).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        return error / reference.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    /// A bf16 layer that runs by Winograd (3×3, 32 channels) rounds its 16 products' operands (the
    /// transformed weights and input) to bf16: forward and input gradient stay within bf16's rounding of
    /// fp32 Winograd, within 3× the error of bf16 im2col on the same layer, and follow a weight change.
    @Test func bf16WinogradStaysWithinBF16Rounding() {
        func layer(_ precision: Precision, winograd: Bool) -> Conv2D {
            var generator = SeededGenerator(seed: 29)
            let layer = Conv2D(inputChannels: 32, outputChannels: 32, kernelSize: 3, generator: &generator)
            layer.precision = precision
            layer.winograd = winograd
            return layer
        }
        var generator = SeededGenerator(seed: 31)
        let input = Tensor.uniform(shape: [3, 32, 11, 14], in: -1...1, using: &generator)
        let upstream = Tensor.uniform(shape: [3, 32, 11, 14], in: -1...1, using: &generator)
        let fp32 = layer(.fp32, winograd: true), winograd = layer(.bf16, winograd: true), im2col = layer(.bf16, winograd: false)
        func passes(_ layer: Conv2D) -> (output: [Float], inputGradient: [Float]) {
            let output = layer.forward(input, training: true).storage
            return (output, layer.backward(upstream).storage)
        }
        let reference = passes(fp32), mixed = passes(winograd), unfolded = passes(im2col)
        for (name, r, w, u) in [("output", reference.output, mixed.output, unfolded.output),
                                ("input gradient", reference.inputGradient, mixed.inputGradient, unfolded.inputGradient)] {
            let error = Self.relativeError(r, w), im2colError = Self.relativeError(r, u)
            #expect(error > 0, "\(name): bf16 Winograd gave fp32's exactly")
            #expect(error < 1e-2 && error < 3 * im2colError, "\(name): relative error \(error), bf16 im2col's \(im2colError)")
        }
        for layer in [fp32, winograd] {
            for i in stride(from: 0, to: layer.weight.value.count, by: 5) { layer.weight.value[i] += 0.25 }
        }
        let changed = Self.relativeError(fp32.forward(input, training: false).storage, winograd.forward(input, training: false).storage)
        #expect(changed < 1e-2, "after a weight change: relative error \(changed)")
    }
}
