import Datasets
import Foundation

/// One image's answer in a batch prediction: its best predictions, or why it has none.
public struct ImagePrediction: Encodable, Sendable {
    /// The image as the user named it (a command-line argument or a manifest row's path).
    public var image: String
    /// The best predictions, highest score first; `nil` when the image failed.
    public var predictions: [Prediction]?
    /// Why the image has no predictions (unreadable file, undecodable image); `nil` when it has.
    public var error: String?

    public init(image: String, predictions: [Prediction]? = nil, error: String? = nil) {
        self.image = image
        self.predictions = predictions
        self.error = error
    }
}

/// Prediction of many image files with one job's model (`autovision predict JOB_ID --manifest`).
public enum BatchPrediction {
    /// An image file to predict: `shown` as the user named it, `path` where it is.
    public typealias ImageFile = (shown: String, path: String)

    /// The images of a manifest (every row, whatever its partition and labels), paths resolved as
    /// the import resolves them.
    /// - Returns: the images in row order, and for each row whose path does not resolve a sentence
    ///   `line N: PATH: REASON`.
    /// - Throws: `ManifestError` when the manifest cannot be read (over 64 MiB, missing) or parsed.
    public static func images(inManifest url: URL) throws -> (images: [ImageFile], skipped: [String]) {
        let resolver = PathResolver(manifestDirectory: url.deletingLastPathComponent())
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
    /// - Parameter topK: predictions kept per image; at least 1 are.
    public static func predict(_ files: [ImageFile], with predictor: Predictor, topK: Int) -> [ImagePrediction] {
        files.map { shown, path in
            do {
                let data = try FileReading.read(path, maxBytes: FileReading.defaultMaxImageBytes).mapError { JobError.invalidImage($0.description) }.get()
                let top = try predictor.predict(images: [data])[0].prefix(max(1, topK))
                return ImagePrediction(image: shown, predictions: Array(top))
            } catch {
                return ImagePrediction(image: shown, error: "\(error)")
            }
        }
    }

    /// `image,label,score` CSV of the best prediction of each image (label and score empty for a
    /// failed one), score with 6 decimals, fields escaped as CSV.
    public static func csv(_ results: [ImagePrediction]) -> String {
        var csv = "image,label,score\n"
        for result in results {
            let top = result.predictions?.first
            csv += "\(csvEscaped(result.image)),\(csvEscaped(top?.label ?? "")),\(top.map { String(format: "%.6f", $0.score) } ?? "")\n"
        }
        return csv
    }
}
