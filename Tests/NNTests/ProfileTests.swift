import NN
import Tensors
import TestSupport
import Testing

/// `Profile` (behind `bench train --profile`) counts what runs while it is on, and nothing while off.
/// Its counters are process-wide and other suites run beside this one, so counts are lower bounds
/// while it is on; only this suite turns it on.
@Suite(.serialized) struct ProfileTests {
    @Test func countsTheGEMMsOfATrainingStepWhileOn() throws {
        let spec = ArchitectureSpec(name: "profiled", inputShape: [1, 8, 8], classes: 4, layers: [
            .conv2d(filters: 8, kernelSize: 3), .batchNorm(), .relu, .conv2d(filters: 8, kernelSize: 3), .relu, .maxPool(size: 2),
            .flatten, .dense(units: 4),
        ])
        let network = try spec.build(seed: 1)
        let (images, labels) = syntheticImages(count: 16, side: 8, classes: 4, seed: 3)
        let loss = SoftmaxCrossEntropy()
        Profile.reset()
        Profile.setEnabled(true)
        _ = loss.forward(logits: network.forward(images, training: true), labels: labels)
        _ = network.backward(loss.backward())
        Profile.setEnabled(false)
        // Conv2D 8→8, 3×3 same, 8×8: forward, weight gradient and input gradient, 2·8·72·64 each per
        // image; Dense 128→4: forward, weight gradient and input gradient. The first layer's GEMMs
        // count too, but the bound leaves them out: which path a one-channel layer takes is not this test's.
        let convolution = 16 * 3 * (2 * 8 * 72 * 64), dense = 3 * (2 * 16 * 128 * 4)
        #expect(Profile.gemmOperations >= Double(convolution + dense))
        #expect(Profile.seconds(.gemm) > 0 && Profile.seconds(.convolution) > 0 && Profile.seconds(.batchNorm) > 0)
        #expect(Profile.seconds(.pooling) > 0 && Profile.seconds(.dense) > 0 && Profile.seconds(.im2col) > 0)

        Profile.reset()
        #expect(Profile.gemmOperations == 0 && Profile.seconds(.convolution) == 0)
        _ = network.forward(images, training: false)
        #expect(Profile.gemmOperations == 0, "counted while off")
    }

    @Test func peakProbeMeasuresSomething() {
        let peak = Profile.peakGFLOPs(seconds: 0.05)
        #expect(peak.fp32 > 1)
        if Precision.hardwareSupportsBF16 { #expect((peak.bf16 ?? 0) > 1) } else { #expect(peak.bf16 == nil) }
    }
}
