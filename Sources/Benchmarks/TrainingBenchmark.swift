import Datasets
import Foundation
import NN
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// The measurements of one `bench train` run.
public struct TrainingBenchmarkResult: Encodable, Sendable {
    /// The reference model's name (`ArchitectureSpec.referenceNames`).
    public var model: String
    public var parameters: Int
    public var forwardFLOPsPerImage: Int
    /// `Threading.policy`'s description.
    public var threading: String
    /// OpenBLAS's kernel family (`BLASRuntime.coreName`).
    public var blasKernels: String
    /// The arithmetic of the matrix products (`Precision`: fp32 or bf16).
    public var precision: String
    public var batchSize: Int
    /// Median over the timed batches of the first epoch.
    public var trainImagesPerSecond: Double
    /// Best of five passes over TEST at batch 256.
    public var inferenceImagesPerSecond: Double
    /// The epochs trained; `nil` in throughput mode (no `epochs`), as are the next three.
    public var epochs: Int?
    /// TEST accuracy, a fraction.
    public var testAccuracy: Double?
    /// Mean loss of the last epoch.
    public var finalTrainLoss: Double?
    /// Wall-clock seconds of each epoch.
    public var epochSeconds: [Double]?
    /// Peak resident set size of the process, MB.
    public var peakResidentMegabytes: Double
    /// With `--profile`: where the timed training steps' time went.
    public var profile: StepProfile?

    enum CodingKeys: String, CodingKey {
        case model, parameters, threading, epochs, precision
        case blasKernels = "blas_kernels"
        case forwardFLOPsPerImage = "forward_flops_per_image"
        case batchSize = "batch_size"
        case trainImagesPerSecond = "train_images_per_second"
        case inferenceImagesPerSecond = "inference_images_per_second"
        case testAccuracy = "test_accuracy"
        case finalTrainLoss = "final_train_loss"
        case epochSeconds = "epoch_seconds"
        case peakResidentMegabytes = "peak_rss_mb", profile
    }
}

/// `bench train`: the reference recipe on Fashion-MNIST, measuring our own engine.
///
/// The recipe (`shared/reference/README.md`): Fashion-MNIST from the Debian package's IDX files,
/// TRAIN = first 50,000 training images, TEST = the official 10,000, pixels / 255 (no
/// normalisation or augmentation), batch 128, PyTorch default initialisation, mean cross-entropy,
/// Adam lr 1e-3.
/// - Training images/s: median over batches 2…`timedBatches` of the first epoch (per-batch time:
///   gather, forward, loss, backward, optimizer step).
/// - Inference images/s: best of 5 passes over TEST at batch 256 (after one warm-up pass).
/// - With `epochs`: trains that many full epochs and reports TEST accuracy.
public struct TrainingBenchmark {
    public var model: String
    public var epochs: Int?
    public var seed: UInt64
    public var timedBatches: Int
    /// With `epochs`: where the trained model's checkpoint is written.
    public var checkpoint: URL?
    /// The arithmetic of the network's matrix products.
    public var precision = Precision.fp32
    /// Whether to measure where the timed training steps' time goes (`StepProfile`).
    public var profile = false
    /// Progress lines (data loaded, each epoch, the median batch, the checkpoint written).
    public var log: (String) -> Void

    public static let batchSize = 128
    public static let inferenceBatchSize = 256
    public static let trainCount = 50_000
    static let pixels = 28 * 28

    /// - Parameters:
    ///   - model: one of `ArchitectureSpec.referenceNames`.
    ///   - timedBatches: batches timed in throughput mode, at least 3.
    public init(model: String, epochs: Int?, seed: UInt64, timedBatches: Int, checkpoint: URL?, log: @escaping (String) -> Void) {
        self.model = model
        self.epochs = epochs
        self.seed = seed
        self.timedBatches = timedBatches
        self.checkpoint = checkpoint
        self.log = log
    }

    /// Loads Fashion-MNIST, trains and measures.
    /// - Throws: `FashionMNIST`'s errors when the Debian package's files are missing; `NNError` for
    ///   an unknown model or a checkpoint that cannot be written.
    public func run() throws -> TrainingBenchmarkResult {
        let loadStart = Date()
        let train = try FashionMNIST.load(.train)
        let test = try FashionMNIST.load(.test)
        let trainCount = min(Self.trainCount, train.count)
        log(String(format: "data: %d train, %d test images loaded in %.2f s", trainCount, test.count, Date().timeIntervalSince(loadStart)))

        let spec = try ArchitectureSpec.reference(named: model)
        let network = try spec.build(seed: seed, precision: precision)
        let peak = profile ? Profile.peakGFLOPs() : nil
        Profile.reset()
        let training = trainNetwork(network, on: train, count: trainCount, test: test)
        let stepProfile = peak.map { StepProfile.measured(steps: training.timedSeconds, peak: $0) }
        let testAccuracy = epochs == nil ? nil : evaluate(network, test)
        if let checkpoint, let testAccuracy { try write(network, spec: spec, testAccuracy: testAccuracy, to: checkpoint) }
        // Inference: one warm-up pass, then the best of five.
        var passes = [Double]()
        for pass in 0..<6 {
            let start = monotonicSeconds()
            _ = evaluate(network, test)
            if pass > 0 { passes.append(monotonicSeconds() - start) }
        }
        let inferenceThroughput = Double(test.count) / passes.min()!
        return TrainingBenchmarkResult(
            model: model, parameters: network.parameterCount, forwardFLOPsPerImage: try spec.forwardFLOPsPerImage(),
            threading: Threading.policy.description, blasKernels: BLASRuntime.coreName, precision: precision.rawValue, batchSize: Self.batchSize,
            trainImagesPerSecond: training.imagesPerSecond, inferenceImagesPerSecond: inferenceThroughput,
            epochs: epochs, testAccuracy: testAccuracy, finalTrainLoss: epochs == nil ? nil : training.finalLoss,
            epochSeconds: epochs == nil ? nil : training.epochSeconds, peakResidentMegabytes: peakResidentMegabytes(),
            profile: stepProfile)
    }

    /// Trains `network` for `epochs` (or the timed batches of one epoch); returns the median-batch
    /// throughput (images/s), each epoch's seconds and the last epoch's mean loss.
    func trainNetwork(_ network: Sequential, on train: FashionMNIST.Samples, count trainCount: Int,
                      test: FashionMNIST.Samples) -> (imagesPerSecond: Double, epochSeconds: [Double], finalLoss: Double, timedSeconds: [Double]) {
        let parameters = network.parameters
        let loss = SoftmaxCrossEntropy()
        let optimizer = Adam(learningRate: 1e-3)
        var generator = SeededGenerator(seed: seed &+ 1)
        var batch = Tensor(shape: [Self.batchSize, 1, 28, 28])
        var labels = [Int](repeating: 0, count: Self.batchSize)
        var batchSeconds = [Double](), epochSeconds = [Double](), finalLoss = 0.0
        let batchesPerEpoch = (trainCount + Self.batchSize - 1) / Self.batchSize
        for epoch in 1...(epochs ?? 1) {
            let order = generator.permutation(trainCount)
            let limit = epochs == nil ? min(timedBatches, batchesPerEpoch) : batchesPerEpoch
            let epochStart = monotonicSeconds()
            var lossSum = 0.0, seen = 0
            for b in 0..<limit {
                let indices = order[(b * Self.batchSize)..<min((b + 1) * Self.batchSize, trainCount)]
                let timed = epoch == 1 && b >= 1 && b < timedBatches && indices.count == Self.batchSize
                Profile.setEnabled(profile && timed)
                let start = monotonicSeconds()
                Profile.measure(.data) { gather(train.images, train.labels, indices: indices, into: &batch, labels: &labels) }
                let logits = network.forward(batch, training: true)
                let value = Profile.measure(.loss) { loss.forward(logits: logits, labels: labels) }
                let gradient = Profile.measure(.loss) { loss.backward() }
                _ = network.backward(gradient)
                Profile.measure(.optimizer) { optimizer.step(parameters) }
                let elapsed = monotonicSeconds() - start
                Profile.setEnabled(false)
                if timed { batchSeconds.append(elapsed) }
                lossSum += Double(value) * Double(indices.count)
                seen += indices.count
            }
            let seconds = monotonicSeconds() - epochStart
            epochSeconds.append(seconds)
            finalLoss = lossSum / Double(seen)
            if epochs != nil {
                log(String(format: "epoch %d: loss %.4f, %.1f s, TEST accuracy %.4f", epoch, finalLoss, seconds, evaluate(network, test)))
            }
        }
        let timedSeconds = batchSeconds
        batchSeconds.sort()
        let medianBatch = batchSeconds[batchSeconds.count / 2]
        let throughput = Double(Self.batchSize) / medianBatch
        log(String(format: "train: median batch %.2f ms over %d batches → %.0f img/s", medianBatch * 1e3, batchSeconds.count, throughput))
        return (throughput, epochSeconds, finalLoss, timedSeconds)
    }

    func write(_ network: Sequential, spec: ArchitectureSpec, testAccuracy: Double, to checkpoint: URL) throws {
        try Checkpoint(
            network: network, architecture: spec, labelNames: FashionMNIST.classNames,
            metadata: [
                "dataset": "fashion-mnist", "recipe": "bench train: Adam 1e-3, batch 128, pixels/255",
                "epochs": "\(epochs ?? 0)", "seed": "\(seed)", "testAccuracy": String(format: "%.4f", testAccuracy),
            ]
        ).write(to: checkpoint)
        log("checkpoint written to \(checkpoint.path)")
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

/// Copies images `indices` of `images` (`[N, 28, 28]` UInt8) into `batch` as `[n, 1, 28, 28]`
/// floats in `[0, 1]` (`Preprocessing.writeScaledCHW`), and their labels into `labels`, reusing
/// both buffers' storage.
func gather(_ images: [UInt8], _ sourceLabels: [UInt8], indices: ArraySlice<Int>, into batch: inout Tensor, labels: inout [Int]) {
    let pixels = TrainingBenchmark.pixels
    batch.resize(to: [indices.count, 1, 28, 28])
    if labels.count != indices.count { labels = [Int](repeating: 0, count: indices.count) }
    images.withUnsafeBufferPointer { source in
        batch.withUnsafeMutablePointer { target in
            for (row, index) in indices.enumerated() {
                let image = UnsafeBufferPointer(rebasing: source[(index * pixels)..<((index + 1) * pixels)])
                Preprocessing.writeScaledCHW(image, channels: 1, plane: pixels, to: target + row * pixels)
                labels[row] = Int(sourceLabels[index])
            }
        }
    }
}

/// Seconds of `CLOCK_MONOTONIC`.
func monotonicSeconds() -> Double {
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
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    return Double(usage.ru_maxrss) / 1024
}
