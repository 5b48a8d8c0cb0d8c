import Foundation
import NN
import Tensors
import TestSupport
import Testing

/// Forward outputs and gradients against PyTorch (`Scripts/make_fixtures.py`), within 1e-4.
@Suite struct GoldenLayerTests {
    static let tolerance: Float = 1e-4

    /// Runs forward and backward(R) and compares output, input gradient and parameter gradients.
    func check(_ layer: any Layer, _ f: Fixture, parameterNames: [String]) {
        let output = layer.forward(f.tensor("input"), training: true)
        #expect(output.shape == f.tensor("output").shape)
        #expect(maxDifference(output, f.tensor("output")) < Self.tolerance, "output")
        let inputGradient = layer.backward(f.tensor("projection"))
        #expect(maxDifference(inputGradient, f.tensor("inputGradient")) < Self.tolerance, "input gradient")
        for (parameter, name) in zip(layer.parameters, parameterNames) {
            let difference = maxDifference(parameter.gradient, f.tensor(name + "Gradient"))
            #expect(difference < Self.tolerance, "\(name) gradient differs by \(difference)")
        }
    }

    @Test(arguments: ["conv_k3_s1", "conv_k1_s1_nobias", "conv_k5_s2", "conv_k3_s2", "conv_k1_s2", "conv_grouped", "conv_depthwise"])
    func convolution(name: String) throws {
        let f = try fixture(name)
        let config = f.integers["config"]!
        var generator = SeededGenerator(seed: 1)
        let layer = Conv2D(
            inputChannels: config[0], outputChannels: config[1], kernelSize: config[2], stride: config[3],
            groups: config[4], useBias: config[5] == 1, generator: &generator)
        assign(f.tensor("weight"), to: layer.weight)
        if let bias = layer.bias { assign(f.tensor("bias"), to: bias) }
        check(layer, f, parameterNames: config[5] == 1 ? ["weight", "bias"] : ["weight"])
    }

    @Test func dense() throws {
        let f = try fixture("dense")
        var generator = SeededGenerator(seed: 1)
        let layer = Dense(inputSize: 6, outputSize: 5, generator: &generator)
        assign(f.tensor("weight"), to: layer.weight)
        assign(f.tensor("bias"), to: layer.bias!)
        check(layer, f, parameterNames: ["weight", "bias"])
    }

    @Test func batchNormTraining() throws {
        let f = try fixture("batchnorm_train")
        let layer = BatchNorm(channels: 3)
        assign(f.tensor("scale"), to: layer.scale)
        assign(f.tensor("offset"), to: layer.offset)
        check(layer, f, parameterNames: ["scale", "offset"])
        #expect(maxDifference(layer.runningMean.value, f.tensor("runningMeanAfter")) < Self.tolerance)
        #expect(maxDifference(layer.runningVariance.value, f.tensor("runningVarianceAfter")) < Self.tolerance)
    }

    @Test func batchNormOneDimensional() throws {
        let f = try fixture("batchnorm_1d")
        let layer = BatchNorm(channels: 5)
        assign(f.tensor("scale"), to: layer.scale)
        assign(f.tensor("offset"), to: layer.offset)
        check(layer, f, parameterNames: ["scale", "offset"])
    }

    @Test func batchNormInferenceUsesRunningStatistics() throws {
        let f = try fixture("batchnorm_eval")
        let layer = BatchNorm(channels: 3)
        assign(f.tensor("scale"), to: layer.scale)
        assign(f.tensor("offset"), to: layer.offset)
        layer.runningMean.value = f.tensor("runningMean")
        layer.runningVariance.value = f.tensor("runningVariance")
        let output = layer.forward(f.tensor("input"), training: false)
        #expect(maxDifference(output, f.tensor("output")) < Self.tolerance)
        // Inference leaves the running statistics alone.
        #expect(layer.runningMean.value == f.tensor("runningMean"))
        // And differs from normalising with the batch's own statistics.
        let trainingOutput = BatchNorm(channels: 3).forward(f.tensor("input"), training: true)
        #expect(maxDifference(trainingOutput, f.tensor("output")) > 0.01)
    }

    @Test(arguments: ["relu", "silu", "gelu"])
    func activation(name: String) throws {
        let f = try fixture(name)
        let layer: any Layer = switch name {
        case "relu": ReLU()
        case "silu": SiLU()
        default: GELU()
        }
        check(layer, f, parameterNames: [])
    }

    @Test(arguments: ["maxpool_k2", "maxpool_k3_s2", "avgpool_k2", "avgpool_k3_s1"])
    func pooling(name: String) throws {
        let f = try fixture(name)
        let config = f.integers["config"]!
        let layer: any Layer = name.hasPrefix("max")
            ? MaxPool2D(kernelSize: config[0], stride: config[1])
            : AvgPool2D(kernelSize: config[0], stride: config[1])
        check(layer, f, parameterNames: [])
    }

    @Test func globalAveragePooling() throws {
        check(GlobalAvgPool2D(), try fixture("globalavgpool"), parameterNames: [])
    }

    @Test(arguments: ["ce_plain", "ce_smoothing", "ce_weights", "ce_smoothing_weights"])
    func crossEntropy(name: String) throws {
        let f = try fixture(name)
        let weights = f.tensors["classWeights"].map { $0.values }
        let loss = SoftmaxCrossEntropy(labelSmoothing: Float(f.number("labelSmoothing")), classWeights: weights)
        let value = loss.forward(logits: f.tensor("logits"), labels: f.integers["labels"]!)
        #expect(abs(Double(value) - f.number("loss")) < 1e-5)
        #expect(maxDifference(loss.backward(), f.tensor("logitsGradient")) < 1e-6)
    }
}
