import Dispatch
import NN
import Tensors

/// `autovision bench convolutions`: each Conv2D of a reference model, one training step (forward,
/// then backward) on a batch, with `Winograd` on and off in alternating rounds of the same process on
/// the same inputs, so the two are compared under the same machine load. Prints the median of each.
public struct ConvolutionBenchmark {
    /// One layer's result: milliseconds per training step, median over the rounds.
    public struct Row: Sendable {
        public var layer: String
        public var winogradApplies: Bool
        public var im2colMilliseconds: Double
        public var winogradMilliseconds: Double
        public var ratio: Double { im2colMilliseconds / winogradMilliseconds }
    }

    public var model: String
    public var batchSize = 128
    public var rounds = 15

    public init(model: String) { self.model = model }

    public func run() throws -> [Row] {
        let network = try ArchitectureSpec.reference(named: model).build(seed: 1)
        var generator = SeededGenerator(seed: 2)
        var x = Tensor.uniform(shape: [batchSize, 1, 28, 28], in: 0...1, using: &generator)
        var rows: [Row] = []
        for layer in network.layers {
            defer { x = layer.forward(x, training: false) }
            guard let convolution = layer as? Conv2D else { continue }
            convolution.needsInputGradient = convolution.inputChannels > 1
            let output = convolution.forward(x, training: false)
            let dy = Tensor.uniform(shape: output.shape, in: -1...1, using: &generator)
            var times: [Bool: [Double]] = [true: [], false: []]
            for round in 0..<rounds {
                for winograd in round % 2 == 0 ? [true, false] : [false, true] {
                    convolution.winograd = winograd
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = convolution.forward(x, training: true)
                    _ = convolution.backward(dy)
                    times[winograd]!.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
            }
            convolution.winograd = true
            let geometry = ConvolutionGeometry(
                channels: convolution.inputChannels, height: x.shape[2], width: x.shape[3],
                kernelSize: convolution.kernelSize, stride: convolution.stride, padding: convolution.padding)
            rows.append(Row(
                layer: "\(convolution.inputChannels)→\(convolution.outputChannels) \(convolution.kernelSize)×\(convolution.kernelSize) at \(x.shape[2])×\(x.shape[3])",
                winogradApplies: Winograd.applies(to: geometry, outputs: convolution.outputChannels),
                im2colMilliseconds: Self.median(times[false]!), winogradMilliseconds: Self.median(times[true]!)))
        }
        return rows
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}
