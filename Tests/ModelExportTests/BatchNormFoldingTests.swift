import NN
import Tensors
import Testing
@testable import ModelExport

/// The folded layer against the two layers it replaces, on fixed inputs (inference: running statistics).
@Suite struct BatchNormFoldingTests {
    @Test(arguments: [(1, 1, 1, false), (3, 1, 1, true), (3, 2, 2, true), (1, 1, 2, false)])
    func foldedConvolutionMatchesConvolutionThenBatchNorm(kernelSize: Int, stride: Int, groups: Int, bias: Bool) throws {
        var generator = SeededGenerator(seed: 5)
        let convolution = Conv2D(inputChannels: 4, outputChannels: 6, kernelSize: kernelSize, stride: stride, groups: groups,
                                 useBias: bias, generator: &generator)
        let batchNorm = BatchNorm(channels: 6, epsilon: 1e-3)
        ExportFixtures.randomizeBatchNorms(batchNorm)
        let x = ExportFixtures.images([2, 4, 7, 7])
        let expected = batchNorm.forward(convolution.forward(x, training: false), training: false)

        let folded = try InferenceLowering.fold(convolution, batchNorm)
        let replacement = Conv2D(inputChannels: 4, outputChannels: 6, kernelSize: kernelSize, stride: stride, groups: groups,
                                 useBias: true, generator: &generator)
        replacement.weight.value = Tensor(shape: replacement.weight.value.shape, values: folded.weight)
        replacement.bias!.value = Tensor(shape: [6], values: folded.bias)
        let actual = replacement.forward(x, training: false)
        #expect(ExportFixtures.maxDifference(actual, expected) <= 1e-5)
    }

    @Test func foldedDenseMatchesDenseThenBatchNorm() throws {
        var generator = SeededGenerator(seed: 9)
        let dense = Dense(inputSize: 10, outputSize: 4, generator: &generator)
        let batchNorm = BatchNorm(channels: 4)
        ExportFixtures.randomizeBatchNorms(batchNorm, seed: 2)
        let x = ExportFixtures.images([3, 10])
        let expected = batchNorm.forward(dense.forward(x, training: false), training: false)

        let folded = try InferenceLowering.fold(dense, batchNorm)
        let replacement = Dense(inputSize: 10, outputSize: 4, generator: &generator)
        replacement.weight.value = Tensor(shape: [4, 10], values: folded.weight)
        replacement.bias!.value = Tensor(shape: [4], values: folded.bias)
        #expect(ExportFixtures.maxDifference(replacement.forward(x, training: false), expected) <= 1e-5)
    }

    @Test func foldingScalesEachOutputsWeightsAndShiftsItsBias() {
        let folded = BatchNormFolding.fold(weight: [1, 2, 3, 4], bias: [1, -1], scale: [2, 0.5], shift: [0.25, 3])
        #expect(folded.weight == [2, 4, 1.5, 2])
        #expect(folded.bias == [2.25, 2.5])
        #expect(BatchNormFolding.fold(weight: [1, 1], bias: nil, scale: [3, 4], shift: [1, 2]).bias == [1, 2])
    }

    @Test func batchNormMismatchIsAnError() throws {
        var generator = SeededGenerator(seed: 1)
        let convolution = Conv2D(inputChannels: 1, outputChannels: 2, kernelSize: 3, generator: &generator)
        #expect(throws: ExportError.self) { try InferenceLowering.fold(convolution, BatchNorm(channels: 3)) }
    }
}
