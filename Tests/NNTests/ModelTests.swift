import Foundation
import NN
import Tensors
import TestSupport
import Testing

@Suite struct ArchitectureTests {
    /// Parameter counts and FLOPs of the reference models, from `shared/reference/README.md`
    /// (0.27 M, 0.42 M, 0.87 M parameters; small 8.5 MFLOP and medium 38 MFLOP per image).
    @Test func referenceModelsMatchTheReadme() throws {
        let mlp = try ArchitectureSpec.reference(named: "mlp")
        let small = try ArchitectureSpec.reference(named: "small")
        let medium = try ArchitectureSpec.reference(named: "medium")
        #expect(try mlp.parameterCount() == 784 * 256 + 256 + 256 * 256 + 256 + 2_570)
        #expect(try small.parameterCount() == 421_642)
        #expect(try medium.parameterCount() == 870_826)
        #expect(try small.forwardFLOPsPerImage() == 8_482_304)
        #expect(abs(Double(try medium.forwardFLOPsPerImage()) / 1e6 - 38.2) < 0.1)
        for spec in [mlp, small, medium] {
            let network = try spec.build(seed: 1)
            #expect(network.parameterCount == (try spec.parameterCount()))
            let output = network(Tensor(shape: [2, 1, 28, 28], repeating: 0.5))
            #expect(output.shape == [2, 10])
        }
        #expect(throws: NNError.unknownModel("large")) { try ArchitectureSpec.reference(named: "large") }
    }

    @Test func jsonRoundTripAndValidation() throws {
        let spec = ArchitectureSpec(name: "resnetish", inputShape: [3, 16, 16], classes: 5, layers: [
            .conv2d(filters: 8, kernelSize: 3), .batchNorm(), .relu,
            .residual(body: [.conv2d(filters: 8, kernelSize: 3, bias: false), .batchNorm(), .silu, .conv2d(filters: 8, kernelSize: 3)]),
            .residual(body: [.conv2d(filters: 16, kernelSize: 3, stride: 2), .gelu]),
            .conv2d(filters: 16, kernelSize: 3, groups: 16), .conv2d(filters: 16, kernelSize: 1),
            .avgPool(size: 2), .maxPool(size: 3, stride: 1), .globalAvgPool, .dropout(rate: 0.2), .dense(units: 5),
        ])
        let json = try spec.jsonData()
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"type\":\"residual\"") && text.contains("\"version\":1"))
        let decoded = try ArchitectureSpec.decode(json: json)
        #expect(decoded == spec)
        let network = try decoded.build(seed: 3)
        #expect(network.parameterCount == (try spec.parameterCount()))
        // The strided residual block got an automatic 1×1 projection + BatchNorm shortcut.
        let projection = 8 * 16 + 2 * 16
        #expect(try spec.parameterCount() > projection)
        let output = network.forward(Tensor(shape: [2, 3, 16, 16], repeating: 0.1), training: true)
        #expect(output.shape == [2, 5])
        _ = network.backward(Tensor(shape: [2, 5], repeating: 0.1))

        var bad = spec
        bad.classes = 7
        #expect(throws: NNError.self) { try bad.validate() }
        let future = text.replacingOccurrences(of: "\"version\":1", with: "\"version\":99")
        #expect(throws: NNError.self) { try ArchitectureSpec.decode(json: Data(future.utf8)) }
        let unknown = text.replacingOccurrences(of: "\"gelu\"", with: "\"swish9\"")
        #expect(throws: NNError.self) { try ArchitectureSpec.decode(json: Data(unknown.utf8)) }
    }

    /// A CNN built from a spec, with PyTorch's weights, gives PyTorch's logits (BatchNorm in eval mode).
    @Test func builtNetworkMatchesPyTorch() throws {
        let f = try fixture("cnn_forward")
        let spec = ArchitectureSpec(name: "cnn", inputShape: [1, 12, 12], classes: 5, layers: [
            .conv2d(filters: 4, kernelSize: 3), .relu, .maxPool(size: 2),
            .conv2d(filters: 8, kernelSize: 3, bias: false), .batchNorm(), .relu, .maxPool(size: 2),
            .flatten, .dense(units: 5),
        ])
        let network = try spec.build()
        let parameters = network.parameters, buffers = network.buffers
        // state_dict order: conv w, conv b, conv w, bn w, bn b, bn running mean, bn running var, dense w, dense b.
        for (i, parameter) in parameters[0..<5].enumerated() { assign(f.tensor(String(format: "p%02d", i)), to: parameter) }
        buffers[0].value = f.tensor("p05")
        buffers[1].value = f.tensor("p06")
        assign(f.tensor("p07"), to: parameters[5])
        assign(f.tensor("p08"), to: parameters[6])
        let output = network.forward(f.tensor("input"), training: false)
        #expect(maxDifference(output, f.tensor("output")) < 1e-4)
    }
}

@Suite struct TrainingTests {
    /// A tiny CNN reaches 100 % training accuracy on one small batch.
    @Test(arguments: ["sgd", "adam"])
    func overfitsOneBatch(optimizerName: String) throws {
        let (images, labels) = syntheticImages(count: 16, side: 8, classes: 4, seed: 21)
        let spec = ArchitectureSpec(name: "tiny", inputShape: [1, 8, 8], classes: 4, layers: [
            .conv2d(filters: 8, kernelSize: 3), .batchNorm(), .relu, .maxPool(size: 2), .flatten, .dense(units: 16), .relu, .dense(units: 4),
        ])
        let network = try spec.build(seed: 5)
        let loss = SoftmaxCrossEntropy()
        let optimizer: any Optimizer = optimizerName == "sgd" ? SGD(learningRate: 0.05, momentum: 0.9) : Adam(learningRate: 0.01)
        let parameters = network.parameters
        var lastLoss: Float = .infinity
        for _ in 0..<60 {
            let logits = network.forward(images, training: true)
            lastLoss = loss.forward(logits: logits, labels: labels)
            _ = network.backward(loss.backward())
            optimizer.step(parameters)
        }
        let predictions = network.forward(images, training: false).argmaxRows()
        #expect(predictions == labels, "loss \(lastLoss)")
        #expect(lastLoss < 0.1)
    }

    /// The same seed gives bit-identical weights after training (fixed worker split).
    @Test func trainingIsReproducible() throws {
        func train() throws -> [Float] {
            let (images, labels) = syntheticImages(count: 8, side: 8, classes: 4, seed: 2)
            let spec = ArchitectureSpec(name: "tiny", inputShape: [1, 8, 8], classes: 4, layers: [
                .conv2d(filters: 4, kernelSize: 3), .relu, .dropout(rate: 0.2), .flatten, .dense(units: 4),
            ])
            let network = try spec.build(seed: 9)
            let loss = SoftmaxCrossEntropy(labelSmoothing: 0.1)
            let optimizer = AdamW(learningRate: 0.01)
            for _ in 0..<5 {
                _ = loss.forward(logits: network.forward(images, training: true), labels: labels)
                _ = network.backward(loss.backward())
                optimizer.step(network.parameters)
            }
            return network.parameters.flatMap(\.value.storage)
        }
        #expect(try train() == train())
    }
}

@Suite struct CheckpointTests {
    func trainedSmallNetwork() throws -> (ArchitectureSpec, Sequential) {
        let spec = ArchitectureSpec(name: "ck", inputShape: [1, 8, 8], classes: 4, layers: [
            .conv2d(filters: 4, kernelSize: 3, bias: false), .batchNorm(), .relu, .maxPool(size: 2), .dense(units: 4),
        ])
        let network = try spec.build(seed: 4)
        let (images, labels) = syntheticImages(count: 8, side: 8, classes: 4)
        let loss = SoftmaxCrossEntropy()
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        for _ in 0..<3 {
            _ = loss.forward(logits: network.forward(images, training: true), labels: labels)
            _ = network.backward(loss.backward())
            optimizer.step(network.parameters)
        }
        return (spec, network)
    }

    @Test func saveLoadGivesIdenticalOutputs() throws {
        let (spec, network) = try trainedSmallNetwork()
        let normalization = ChannelNormalization(mean: [0.3], standardDeviation: [0.2])
        let checkpoint = Checkpoint(network: network, architecture: spec, normalization: normalization,
                                    labelNames: ["a", "b", "c", "d"], metadata: ["epochs": "3"])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-checkpoint-\(UUID().uuidString).avck")
        defer { try? FileManager.default.removeItem(at: url) }
        try checkpoint.write(to: url)
        let loaded = try Checkpoint.read(from: url)
        #expect(loaded == checkpoint)
        let (images, _) = syntheticImages(count: 5, side: 8, classes: 4, seed: 8)
        let expected = network.forward(images, training: false)
        let restored = try loaded.makeNetwork()
        #expect(restored.forward(images, training: false) == expected)

        let classifier = try Classifier(contentsOf: url)
        #expect(classifier.labelNames == ["a", "b", "c", "d"])
        var normalized = images
        normalization.apply(to: &normalized)
        let predictions = classifier.predict(images)
        #expect(predictions.map(\.label) == network.forward(normalized, training: false).argmaxRows())
        #expect(predictions.allSatisfy { $0.probability > 0.25 && $0.probability <= 1 })
    }

    /// An ensemble's checkpoint serves the mean of its members' class scores.
    @Test func anEnsembleCheckpointAveragesItsMembers() throws {
        let (spec, first) = try trainedSmallNetwork()
        let second = try spec.build(seed: 99)
        let ensembleSpec = try ArchitectureSpec.ensemble([spec, spec], name: "ensemble")
        #expect(try ensembleSpec.parameterCount() == 2 * (try spec.parameterCount()))
        #expect(try ensembleSpec.forwardFLOPsPerImage() == 2 * (try spec.forwardFLOPsPerImage()))
        let network = Sequential(Ensemble(members: [first, second]))
        let checkpoint = Checkpoint(network: network, architecture: ensembleSpec, labelNames: ["a", "b", "c", "d"])
        let loaded = try Checkpoint.decode(try checkpoint.encoded())
        #expect(try ArchitectureSpec.decode(json: try ensembleSpec.jsonData()) == ensembleSpec)
        let (images, _) = syntheticImages(count: 5, side: 8, classes: 4, seed: 9)
        let a = first.forward(images, training: false), b = second.forward(images, training: false)
        let restored = try loaded.makeNetwork().forward(images, training: false)
        #expect(restored.shape == a.shape)
        for i in 0..<a.count { #expect(abs(restored[i] - (a[i] + b[i]) / 2) < 1e-5) }
        var other = spec
        other.classes = 3
        #expect(throws: NNError.self) { try ArchitectureSpec.ensemble([spec, other], name: "mixed") }
        #expect(throws: NNError.self) { try ArchitectureSpec.ensemble(Array(repeating: spec, count: 65), name: "crowd") }
        var empty = ensembleSpec
        empty.layers = [.ensemble(members: [])]
        #expect(throws: NNError.self) { try empty.validate() }
    }

    @Test func truncatedOrCorruptFilesFailClearly() throws {
        let (spec, network) = try trainedSmallNetwork()
        let data = try Checkpoint(network: network, architecture: spec, labelNames: ["a", "b", "c", "d"]).encoded()
        for length in [0, 5, 12, 40, data.count / 2, data.count - 1] {
            #expect(throws: NNError.self, "length \(length)") { try Checkpoint.decode(data.prefix(length)) }
        }
        do {
            _ = try Checkpoint.decode(data.prefix(data.count - 10), path: "model.avck")
            Issue.record("truncated file decoded")
        } catch let error as NNError {
            guard case let .checkpointTruncated(path, expected, actual) = error else { throw error }
            #expect(path == "model.avck" && expected == data.count && actual == data.count - 10)
            #expect(error.description.contains("truncated"))
        }
        var flipped = data
        flipped[data.count - 20] ^= 0x40
        #expect { try Checkpoint.decode(flipped) } throws: { error in
            guard case .checkpointCorrupt = error as? NNError else { return false }
            return "\(error)".contains("checksum")
        }
        var wrongMagic = data
        wrongMagic[0] = 0x50
        #expect(throws: NNError.checkpointNotACheckpoint(path: "checkpoint")) { try Checkpoint.decode(wrongMagic) }
        var future = data
        future[8] = 9
        #expect(throws: NNError.checkpointUnsupportedVersion(found: 9, supported: 1)) { try Checkpoint.decode(future) }
        // Weights of another architecture do not load.
        let other = try ArchitectureSpec(name: "x", inputShape: [1, 8, 8], classes: 4, layers: [.flatten, .dense(units: 4)]).build()
        #expect(throws: NNError.self) { try Checkpoint.decode(data).load(into: other) }
    }
}

@Suite struct InputPipelineTests {
    @Test func normalizationUsesPerChannelStatistics() {
        var generator = SeededGenerator(seed: 1)
        var images = Tensor(shape: [50, 2, 4, 4])
        for i in 0..<images.count {
            let channel = (i / 16) % 2
            images[i] = channel == 0 ? 3 + 2 * generator.nextGaussian() : -1 + 0.5 * generator.nextGaussian()
        }
        let normalization = ChannelNormalization.fit(images: images)
        #expect(abs(normalization.mean[0] - 3) < 0.2 && abs(normalization.mean[1] + 1) < 0.05)
        #expect(abs(normalization.standardDeviation[0] - 2) < 0.2 && abs(normalization.standardDeviation[1] - 0.5) < 0.05)
        normalization.apply(to: &images)
        let refit = ChannelNormalization.fit(images: images)
        #expect(refit.mean.allSatisfy { abs($0) < 1e-4 } && refit.standardDeviation.allSatisfy { abs($0 - 1) < 1e-3 })
    }

    /// A constant or nearly constant channel is divided by at least `minimumDeviation`, so one white
    /// pixel at prediction time normalises to 10 in it, not to 10,000 (intake 16's kind of fault).
    @Test func aChannelThatBarelyVariesInTrainIsDividedByAtLeastTheFloor() {
        let constant = ChannelNormalization(channelSums: [0], squares: [0], count: 4, scale: 255)
        #expect(constant.mean == [0] && constant.standardDeviation == [Float(ChannelNormalization.minimumDeviation)])
        var white = Tensor(shape: [1, 1, 1, 1], values: [1])
        constant.apply(to: &white)
        #expect(abs(white[0] - 10) < 1e-4)
        // 26 grey levels apart (std 13/255 ≈ 0.05, intake 16's green): the floor. 80 apart (std ≈ 0.157): its own.
        let faint = ChannelNormalization(channelSums: [36 + 62], squares: [36 * 36 + 62 * 62], count: 2, scale: 255)
        #expect(faint.standardDeviation == [Float(ChannelNormalization.minimumDeviation)])
        let visible = ChannelNormalization(channelSums: [0 + 80], squares: [0 + 6400], count: 2, scale: 255)
        #expect(abs(visible.standardDeviation[0] - Float(40.0 / 255)) < 1e-6)
    }

    @Test func augmentationsAreSeededAndSwitchable() {
        let base = Tensor(shape: [4, 1, 6, 6], values: (0..<144).map { Float($0 % 36) + 1 })
        var unchanged = base
        Augmenter(options: .none, seed: 1).apply(to: &unchanged)
        #expect(unchanged == base)

        var flipped = base
        let flipper = Augmenter(options: AugmentationOptions(horizontalFlip: true), seed: 3)
        flipper.apply(to: &flipped)
        for n in 0..<4 {
            let row = (0..<6).map { flipped[n * 36 + $0] }
            #expect(row == [1, 2, 3, 4, 5, 6] || row == [6, 5, 4, 3, 2, 1])
        }

        var shifted = base
        Augmenter(options: AugmentationOptions(cropPadding: 2), seed: 4).apply(to: &shifted)
        // Shifting keeps values from the image or zero fill, and only drops pixels.
        #expect((0..<144).allSatisfy { shifted[$0] == 0 || (1...36).contains(shifted[$0]) })
        #expect(shifted.sum() <= base.sum())

        var erased = base
        Augmenter(options: AugmentationOptions(erasingProbability: 1), seed: 5).apply(to: &erased)
        let zeros = (0..<144).filter { erased[$0] == 0 }.count
        #expect(zeros >= 4 && zeros <= 4 * 12)

        var again = base, twice = base
        let options = AugmentationOptions(cropPadding: 1, horizontalFlip: true, erasingProbability: 0.5)
        Augmenter(options: options, seed: 9).apply(to: &again)
        Augmenter(options: options, seed: 9).apply(to: &twice)
        #expect(again == twice)
    }
}

extension TrainingTests {
    /// Ten whole training steps (forward, loss, backward, Adam) of a CNN in the reference layer order
    /// replay PyTorch's: the same losses and final weights from the same start.
    @Test func trainingStepsMatchPyTorch() throws {
        let f = try fixture("training_steps")
        let spec = ArchitectureSpec(name: "steps", inputShape: [1, 12, 12], classes: 10, layers: [
            .conv2d(filters: 8, kernelSize: 3), .relu, .maxPool(size: 2),
            .conv2d(filters: 16, kernelSize: 3), .relu, .maxPool(size: 2),
            .flatten, .dense(units: 32), .relu, .dense(units: 10),
        ])
        let network = try spec.build()
        let parameters = network.parameters
        for (i, parameter) in parameters.enumerated() { assign(f.tensor("initial\(i)"), to: parameter) }
        let loss = SoftmaxCrossEntropy()
        let optimizer = Adam(learningRate: 3e-3)
        for step in 0..<10 {
            let value = loss.forward(
                logits: network.forward(f.tensor("batch\(step % 4)"), training: true), labels: f.integers["labels\(step % 4)"]!)
            #expect(abs(Double(value) - f.number("loss\(step)")) < 1e-4, "step \(step)")
            _ = network.backward(loss.backward())
            optimizer.step(parameters)
        }
        for (i, parameter) in parameters.enumerated() {
            // Adam normalises steps, so rounding differences of 1e-7 in a gradient can move a weight by
            // up to ~lr·1e-3 over ten steps; 1e-4 is far below a real discrepancy (lr = 3e-3 per step).
            #expect(maxDifference(parameter.value, f.tensor("final\(i)")) < 1e-4, "parameter \(i)")
        }
    }
}
