import Datasets
import Foundation

/// One image's answer in a batch prediction: its best predictions, or why it has none.
public struct ImagePrediction: Encodable, Sendable {
    /// The image as the user named it (a command-line argument or a manifest row's path).
    public var image: String
    /// The best predictions, highest score first; `nil` when the image failed.
    public var predictions: [Prediction]?
    /// A multi-label model's answer: every label whose score reaches its threshold, highest score
    /// first (`Predictor.predictedLabels`); `nil` for a single-label model or a failed image.
    public var labels: [Prediction]?
    /// Why the image has no predictions (unreadable file, undecodable image); `nil` when it has.
    public var error: String?

    public init(image: String, predictions: [Prediction]? = nil, labels: [Prediction]? = nil, error: String? = nil) {
        self.image = image
        self.predictions = predictions
        self.labels = labels
        self.error = error
    }
}

/// Prediction of many image files with one job's model (`autovision predict JOB_ID --manifest`).
public enum BatchPrediction {
    /// An image file to predict: `shown` as the user named it, `path` where it is.
    public typealias ImageFile = (shown: String, path: String)

    /// The images of a manifest (every row, whatever its partition and labels), paths resolved as
    /// the import resolves them.
    /// - Parameters:
    ///   - extraRoots: folders besides the manifest's own that paths may point into (`--allow-root`).
    ///   - bucketMap: the local folder of each `gs://` bucket (`--map`).
    /// - Returns: the images in row order, and for each row whose path does not resolve a sentence
    ///   `line N: PATH: REASON`.
    /// - Throws: `ManifestError` when the manifest cannot be read (over 64 MiB, missing) or parsed.
    public static func images(inManifest url: URL, extraRoots: [URL] = [], bucketMap: [String: URL] = [:]) throws
        -> (images: [ImageFile], skipped: [String]) {
        let resolver = PathResolver(manifestDirectory: url.deletingLastPathComponent(), extraRoots: extraRoots, bucketMap: bucketMap)
        let parsed = try ManifestParser(multiLabel: true, isImageReference: { resolver.namesImage($0) })
            .parse(try FileReading.read(url.path, maxBytes: 64 << 20).mapError { ManifestError.unreadable(path: url.path, reason: $0.description) }.get())
        var images: [ImageFile] = [], skipped: [String] = []
        for row in parsed.rows {
            switch resolver.resolvePath(row.path) {
            case let .success(path): images.append((row.path, path))
            case let .failure(error): skipped.append("line \(row.line): \(row.path): \(error)")
            }
        }
        return (images, skipped)
    }

    /// The `topK` best predictions of each file, one at a time; a file that cannot be read
    /// (`FileReading`, at most `FileReading.defaultMaxImageBytes`) or decoded gets its error instead.
    /// - Parameters:
    ///   - topK: predictions kept per image; at least 1 are.
    ///   - threshold: for a multi-label model, the score every label must reach to be in `labels`
    ///     (instead of each label's own threshold).
    public static func predict(_ files: [ImageFile], with predictor: Predictor, topK: Int, threshold: Double? = nil) -> [ImagePrediction] {
        files.map { shown, path in
            do {
                let data = try FileReading.read(path, maxBytes: FileReading.defaultMaxImageBytes).mapError { JobError.invalidImage($0.description) }.get()
                let scores = try predictor.predict(images: [data])[0]
                let labels = predictor.multiLabel ? predictor.predictedLabels(scores, threshold: threshold) : nil
                return ImagePrediction(image: shown, predictions: Array(scores.prefix(max(1, topK))), labels: labels)
            } catch {
                return ImagePrediction(image: shown, error: "\(error)")
            }
        }
    }

    /// `image,label,score` CSV of the best prediction of each image — a multi-label model's: one row
    /// per label in `labels` — (label and score empty for a failed image, or one with no label over
    /// its threshold), score with 6 decimals, fields escaped as CSV.
    public static func csv(_ results: [ImagePrediction]) -> String {
        var csv = "image,label,score\n"
        for result in results {
            let rows: [Prediction?] = result.labels.map { labels in labels.isEmpty ? [nil] : labels.map { Optional($0) } } ?? [result.predictions?.first]
            for row in rows {
                csv += "\(csvEscaped(result.image)),\(csvEscaped(row?.label ?? "")),\(row.map { String(format: "%.6f", $0.score) } ?? "")\n"
            }
        }
        return csv
    }
}
