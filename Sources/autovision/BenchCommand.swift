import ArgumentParser
import Datasets
import Foundation
import NN
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// `autovision bench …`: measurements of our own engine (not tests).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the training engine.",
        subcommands: [TrainBenchmark.self, PredictBenchmark.self, CalibrationBenchmark.self])

    /// `autovision bench train --model small|medium|mlp [--epochs N] [--json]`
    ///
    /// Follows the reference recipe of `shared/reference/README.md`: Fashion-MNIST from the Debian
    /// package's IDX files, TRAIN = first 50,000 training images, TEST = the official 10,000,
    /// pixels / 255 (no normalisation or augmentation), batch 128, PyTorch default initialisation,
    /// mean cross-entropy, Adam lr 1e-3.
    /// - Training images/s: median over batches 2–120 of the first epoch (per-batch time: gather,
    ///   forward, loss, backward, optimizer step).
    /// - Inference images/s: best of 5 passes over TEST at batch 256 (after one warm-up pass).
    /// - With `--epochs N`: trains N full epochs and reports TEST accuracy.
    struct TrainBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Training and inference throughput (and, with --epochs, TEST accuracy) of a reference model.")

        @Option(help: "Reference model: \(ArchitectureSpec.referenceNames.joined(separator: ", ")).")
        var model: String = "small"

        @Option(help: "Train this many full epochs (Adam 1e-3) and report TEST accuracy.")
        var epochs: Int?

        @Flag(help: "Print one JSON line instead of text.")
        var json = false

        @Option(help: "Threading policy: 'batch' (batch-parallel, 1-thread BLAS) or 'blas' (threaded BLAS). Default: the engine's.")
        var threading: String?

        @Option(help: "Worker / BLAS thread count (default: all cores).")
        var threads: Int?

        @Option(help: "Seed for initialisation and shuffling.")
        var seed: UInt64 = 0

        @Option(help: "Batches timed in throughput mode (the median is over batches 2…this).")
        var timedBatches: Int = 120

        @Option(help: "With --epochs: write the trained model to this checkpoint file.")
        var checkpoint: String?

        func validate() throws {
            guard ArchitectureSpec.referenceNames.contains(model) else {
                throw ValidationError("unknown model '\(model)'; choose one of \(ArchitectureSpec.referenceNames.joined(separator: ", "))")
            }
            if let epochs { try Validate.range(epochs, 1...10_000, "--epochs") }
            if let threads { try Validate.range(threads, 1...1024, "--threads") }
            if let threading, !["batch", "blas"].contains(threading) { throw ValidationError("--threading must be 'batch' or 'blas'") }
            try Validate.range(timedBatches, 3...100_000, "--timed-batches")
            if checkpoint != nil && epochs == nil { throw ValidationError("--checkpoint needs --epochs") }
        }

        func run() throws {
            // Debian's OpenBLAS picks AVX2 kernels on Zen 4; re-exec once with the AVX-512 ones
            // (AUTOVISION_BLAS_KERNELS=auto keeps OpenBLAS's own choice).
            BLASRuntime.relaunchWithFastestKernelsIfNeeded()
            let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
            switch threading {
            case "batch": Threading.configure(.batchParallel(workers: cores))
            case "blas": Threading.configure(.threadedBLAS(threads: cores))
            default: if threads != nil { Threading.configure(.batchParallel(workers: cores)) }
            }
            let log: (String) -> Void = { message in
                if !json { print(message) } else { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            }
            let checkpointURL = checkpoint.map { URL(fileURLWithPath: $0) }
            let result = try TrainingBenchmark(
                model: model, epochs: epochs, seed: seed, timedBatches: timedBatches, checkpoint: checkpointURL, log: log
            ).run()
            if json {
                print(String(decoding: try result.jsonLine(), as: UTF8.self))
            } else {
                print(result.summary)
            }
        }
    }
}

/// The measurements of one `bench train` run.
fileprivate struct TrainingBenchmarkResult: Encodable {
    var model: String
    var parameters: Int
    var forwardFLOPsPerImage: Int
    var threading: String
    var blasKernels: String
    var batchSize: Int
    var trainImagesPerSecond: Double
    var inferenceImagesPerSecond: Double
    var epochs: Int?
    var testAccuracy: Double?
    var finalTrainLoss: Double?
    var epochSeconds: [Double]?
    var peakResidentMegabytes: Double

    enum CodingKeys: String, CodingKey {
        case model, parameters, threading, epochs
        case blasKernels = "blas_kernels"
        case forwardFLOPsPerImage = "forward_flops_per_image"
        case batchSize = "batch_size"
        case trainImagesPerSecond = "train_images_per_second"
        case inferenceImagesPerSecond = "inference_images_per_second"
        case testAccuracy = "test_accuracy"
        case finalTrainLoss = "final_train_loss"
        case epochSeconds = "epoch_seconds"
        case peakResidentMegabytes = "peak_rss_mb"
    }

    func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    var summary: String {
        var lines = [
            "model \(model): \(parameters) parameters, \(String(format: "%.1f", Double(forwardFLOPsPerImage) / 1e6)) MFLOP/image forward; \(threading); OpenBLAS \(blasKernels) kernels",
            String(format: "train: %.0f img/s (median, batches 2-%@ of batch %d, ≈ %.1f GFLOP/s at 3× forward)",
                   trainImagesPerSecond, "\(batchSize == 128 ? "120" : "?")", batchSize,
                   trainImagesPerSecond * 3 * Double(forwardFLOPsPerImage) / 1e9),
            String(format: "inference: %.0f img/s (best of 5 passes over TEST, batch 256)", inferenceImagesPerSecond),
        ]
        if let testAccuracy, let epochs {
            lines.append(String(format: "TEST accuracy after %d epochs (Adam 1e-3): %.4f", epochs, testAccuracy))
        }
        lines.append(String(format: "peak RSS: %.0f MB", peakResidentMegabytes))
        return lines.joined(separator: "\n")
    }
}

/// Runs the reference recipe on Fashion-MNIST.
fileprivate struct TrainingBenchmark {
    var model: String
    var epochs: Int?
    var seed: UInt64
    var timedBatches: Int
    var checkpoint: URL?
    var log: (String) -> Void

    static let batchSize = 128
    static let inferenceBatchSize = 256
    static let trainCount = 50_000
    static let pixels = 28 * 28

    func run() throws -> TrainingBenchmarkResult {
        let loadStart = Date()
        let train = try FashionMNIST.load(.train)
        let test = try FashionMNIST.load(.test)
        let trainCount = min(Self.trainCount, train.count)
        log(String(format: "data: %d train, %d test images loaded in %.2f s", trainCount, test.count, Date().timeIntervalSince(loadStart)))

        let spec = try ArchitectureSpec.reference(named: model)
        let network = try spec.build(seed: seed)
        let parameters = network.parameters
        let loss = SoftmaxCrossEntropy()
        let optimizer = Adam(learningRate: 1e-3)
        var generator = SeededGenerator(seed: seed &+ 1)
        var batch = Tensor(shape: [Self.batchSize, 1, 28, 28])
        var labels = [Int](repeating: 0, count: Self.batchSize)

        /// One training step on `indices`; returns the loss.
        func step(_ indices: ArraySlice<Int>) -> Float {
            gather(train.images, train.labels, indices: indices, into: &batch, labels: &labels)
            let logits = network.forward(batch, training: true)
            let value = loss.forward(logits: logits, labels: labels)
            _ = network.backward(loss.backward())
            optimizer.step(parameters)
            return value
        }

        var batchSeconds = [Double]()
        var epochSeconds = [Double]()
        var finalLoss: Double?
        let totalEpochs = epochs ?? 1
        let batchesPerEpoch = (trainCount + Self.batchSize - 1) / Self.batchSize
        for epoch in 1...totalEpochs {
            let order = generator.permutation(trainCount)
            let limit = epochs == nil ? min(timedBatches, batchesPerEpoch) : batchesPerEpoch
            let epochStart = monotonicSeconds()
            var lossSum = 0.0
            var seen = 0
            for b in 0..<limit {
                let indices = order[(b * Self.batchSize)..<min((b + 1) * Self.batchSize, trainCount)]
                let start = monotonicSeconds()
                let value = step(indices)
                let elapsed = monotonicSeconds() - start
                if epoch == 1 && b >= 1 && b < timedBatches && indices.count == Self.batchSize { batchSeconds.append(elapsed) }
                lossSum += Double(value) * Double(indices.count)
                seen += indices.count
            }
            let seconds = monotonicSeconds() - epochStart
            epochSeconds.append(seconds)
            finalLoss = lossSum / Double(seen)
            if epochs != nil {
                let accuracy = evaluate(network, test)
                log(String(format: "epoch %d: loss %.4f, %.1f s, TEST accuracy %.4f", epoch, finalLoss!, seconds, accuracy))
            }
        }
        batchSeconds.sort()
        let medianBatch = batchSeconds[batchSeconds.count / 2]
        let trainThroughput = Double(Self.batchSize) / medianBatch
        log(String(format: "train: median batch %.2f ms over %d batches → %.0f img/s", medianBatch * 1e3, batchSeconds.count, trainThroughput))

        // Inference: one warm-up pass, then the best of five.
        let testAccuracy = epochs == nil ? nil : evaluate(network, test)
        if let checkpoint, let testAccuracy {
            try Checkpoint(
                network: network, architecture: spec, labelNames: FashionMNIST.classNames,
                metadata: [
                    "dataset": "fashion-mnist", "recipe": "bench train: Adam 1e-3, batch 128, pixels/255",
                    "epochs": "\(epochs ?? 0)", "seed": "\(seed)", "testAccuracy": String(format: "%.4f", testAccuracy),
                ]
            ).write(to: checkpoint)
            log("checkpoint written to \(checkpoint.path)")
        }
        var passes = [Double]()
        for pass in 0..<6 {
            let start = monotonicSeconds()
            _ = evaluate(network, test)
            if pass > 0 { passes.append(monotonicSeconds() - start) }
        }
        let inferenceThroughput = Double(test.count) / passes.min()!
        return TrainingBenchmarkResult(
            model: model, parameters: network.parameterCount, forwardFLOPsPerImage: try spec.forwardFLOPsPerImage(),
            threading: Threading.policy.description, blasKernels: BLASRuntime.coreName, batchSize: Self.batchSize,
            trainImagesPerSecond: trainThroughput, inferenceImagesPerSecond: inferenceThroughput,
            epochs: epochs, testAccuracy: testAccuracy, finalTrainLoss: epochs == nil ? nil : finalLoss,
            epochSeconds: epochs == nil ? nil : epochSeconds, peakResidentMegabytes: peakResidentMegabytes())
    }

    /// Fraction of `samples` classified correctly, at batch 256 in inference mode.
    func evaluate(_ network: Sequential, _ samples: FashionMNIST.Samples) -> Double {
        var correct = 0
        var batch = Tensor(shape: [Self.inferenceBatchSize, 1, 28, 28])
        var labels = [Int](repeating: 0, count: Self.inferenceBatchSize)
        var start = 0
        let all = Array(0..<samples.count)
        while start < samples.count {
            let indices = all[start..<min(start + Self.inferenceBatchSize, samples.count)]
            gather(samples.images, samples.labels, indices: indices, into: &batch, labels: &labels)
            let predictions = network.forward(batch, training: false).argmaxRows()
            for (prediction, label) in zip(predictions, labels) where prediction == label { correct += 1 }
            start += indices.count
        }
        return Double(correct) / Double(samples.count)
    }
}

/// Copies images `indices` into `batch` as `[n, 1, 28, 28]` floats in [0, 1] (pixels / 255), reusing its storage.
fileprivate func gather(_ images: [UInt8], _ sourceLabels: [UInt8], indices: ArraySlice<Int>, into batch: inout Tensor, labels: inout [Int]) {
    let pixels = TrainingBenchmark.pixels
    batch.resize(to: [indices.count, 1, 28, 28])
    if labels.count != indices.count { labels = [Int](repeating: 0, count: indices.count) }
    images.withUnsafeBufferPointer { source in
        batch.withUnsafeMutablePointer { target in
            for (row, index) in indices.enumerated() {
                let from = source.baseAddress! + index * pixels, to = target + row * pixels
                for i in 0..<pixels { to[i] = Float(from[i]) * (1 / 255) }
                labels[row] = Int(sourceLabels[index])
            }
        }
    }
}

fileprivate func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

#if canImport(Glibc)
private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// Peak resident set size of this process in MB (`getrusage`, kilobytes on Linux).
fileprivate func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    return Double(usage.ru_maxrss) / 1024
}
