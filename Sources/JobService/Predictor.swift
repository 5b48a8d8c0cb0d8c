import Datasets
import Foundation
import ImageIO
import NN
import Tensors

/// One class and its probability.
public struct Prediction: Codable, Sendable, Equatable {
    public var label: String
    public var score: Double
}

/// Serves a job's trained model: prepares an image by `Preprocessing`, the function that made the
/// training pixels, at the working resolution stored in the checkpoint (an image of another size is
/// letterboxed; centre-cropped for models trained before letterboxing, whose `working_resolution`
/// has no `fit`), then runs the network. Not thread-safe: the network reuses
/// its buffers; use one per thread or a queue.
public final class Predictor {
    public let classifier: Classifier
    public let resolution: WorkingResolution
    /// Each label's score threshold for a multi-label model (chosen on VALIDATION to maximise that
    /// label's F1), in label order; `nil` for a single-label model.
    public let thresholds: [Double]?
    /// The checkpoint metadata key of `thresholds`: a JSON array of numbers.
    public static let thresholdsKey = "label_thresholds"
    public var maxPixels = 100_000_000

    /// Loads `model.ckpt` of a job.
    /// - Throws: `JobError.noModel` when the job has none yet, `NNError` for a corrupt or inconsistent
    ///   file, `JobError.failed` when its working resolution is missing or is not the network's input.
    public convenience init(folder: JobFolder) throws {
        guard FileManager.default.fileExists(atPath: folder.modelURL.path) else { throw JobError.noModel(folder.id) }
        try self.init(checkpoint: folder.modelURL, jobID: folder.id)
    }

    /// Loads the job's model from the store (`JobStore.artifactFile`, artifact `model.ckpt`): wherever
    /// the store keeps it, this machine's copy.
    /// - Throws: as `init(folder:)`; `StoreError` when the store cannot be read.
    public convenience init(store: any JobStore, jobID: String) throws {
        guard let file = try store.artifactFile(jobID: jobID, name: JobFolder.modelName) else { throw JobError.noModel(jobID) }
        try self.init(checkpoint: file, jobID: jobID)
    }

    private init(checkpoint url: URL, jobID: String) throws {
        let checkpoint = try Checkpoint.read(from: url)
        guard let json = checkpoint.metadata["working_resolution"],
              let resolution = try? JSONDecoder().decode(WorkingResolution.self, from: Data(json.utf8))
        else { throw JobError.failed("\(JobFolder.modelName) of job \(jobID) has no working resolution: retrain the job") }
        let classifier = try Classifier(checkpoint: checkpoint)
        guard classifier.architecture.inputShape == [resolution.channels, resolution.height, resolution.width] else {
            throw JobError.failed("\(JobFolder.modelName) of job \(jobID) is inconsistent: its working resolution "
                + "\(resolution.width)x\(resolution.height)x\(resolution.channels) is not the network's input \(classifier.architecture.inputShape); retrain the job")
        }
        self.resolution = resolution
        self.classifier = classifier
        if classifier.output == .sigmoid {
            guard let json = checkpoint.metadata[Self.thresholdsKey],
                  let thresholds = try? JSONDecoder().decode([Double].self, from: Data(json.utf8)),
                  thresholds.count == classifier.labelNames.count, thresholds.allSatisfy({ $0.isFinite })
            else { throw JobError.failed("\(JobFolder.modelName) of job \(jobID) is multi-label but has no score threshold per label: retrain the job") }
            self.thresholds = thresholds
        } else {
            thresholds = nil
        }
    }

    /// Whether the model scores each label on its own (a sigmoid per label).
    public var multiLabel: Bool { thresholds != nil }

    /// The labels of one image's `predictions` whose score reaches the label's threshold, or
    /// `threshold` for every label when given: a multi-label model's answer, highest score first.
    /// A single-label model's answer is its first prediction.
    public func predictedLabels(_ predictions: [Prediction], threshold: Double? = nil) -> [Prediction] {
        guard let thresholds else { return Array(predictions.prefix(1)) }
        return predictions.filter { prediction in
            let index = labels.firstIndex(of: prediction.label) ?? 0
            return prediction.score >= (threshold ?? thresholds[index])
        }
    }

    public var labels: [String] { classifier.labelNames }

    /// Class probabilities (multi-label: each label's probability) for each image (encoded PNG or
    /// JPEG bytes), sorted by score, highest first.
    /// - Throws: `ImageDecodingError` for bytes that are not a decodable image within `maxPixels`.
    public func predict(images: [[UInt8]]) throws -> [[Prediction]] {
        predict(inputs: try images.map { try input(for: $0) })
    }

    /// The network input of one image: `Preprocessing.pixels` (the import's decode and fit) scaled to
    /// `[0, 1]`, `[C, H, W]` with the working resolution's sizes. Any decodable size, channel count,
    /// alpha, bit depth or EXIF orientation is accepted. Thread-safe (it does not touch the network).
    /// - Throws: `ImageDecodingError` for bytes that are not a decodable image within `maxPixels`.
    public func input(for bytes: [UInt8]) throws -> [Float] {
        let r = resolution
        let plane = r.width * r.height
        let image = try Preprocessing.pixels(encoded: bytes, resolution: r, maxPixels: maxPixels)
        return [Float](unsafeUninitializedCapacity: r.channels * plane) { out, initialized in
            image.pixels.withUnsafeBufferPointer { Preprocessing.writeScaledCHW($0, channels: r.channels, plane: plane, to: out.baseAddress!) }
            initialized = r.channels * plane
        }
    }

    /// Class probabilities for inputs made by `input(for:)`, in one batch, each sorted by score.
    public func predict(inputs: [[Float]]) -> [[Prediction]] {
        guard !inputs.isEmpty else { return [] }
        let r = resolution
        let size = r.channels * r.width * r.height
        var batch = Tensor(shape: Shape([inputs.count, r.channels, r.height, r.width]))
        batch.withUnsafeMutablePointer { x in
            for (n, input) in inputs.enumerated() {
                input.withUnsafeBufferPointer { (x + n * size).update(from: $0.baseAddress!, count: size) }
            }
        }
        let probabilities = classifier.probabilities(for: batch)
        let classes = labels.count
        return (0..<inputs.count).map { n in
            (0..<classes).map { Prediction(label: labels[$0], score: Double(probabilities[n * classes + $0])) }
                .sorted { $0.score > $1.score }
        }
    }
}
