import ArgumentParser
import Datasets
import Foundation
import ImageIO
import JobService

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Predict labels for images with a job's model.",
        discussion: "Images are decoded exactly as at import (EXIF orientation, white matte, working resolution).")

    @Argument(help: "The job ID.") var jobID: String
    @Argument(help: "PNG or JPEG files.") var images: [String] = []
    @Option(help: "Predict every image of this manifest (batch prediction).") var manifest: String?
    @Option(help: "With --manifest: write path,label,score rows here (CSV).") var output: String?
    @Option(help: "Labels shown per image.") var topK = 3
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Flag(help: "Print the predictions as one line of JSON last.") var json = false

    struct ImageResult: Encodable {
        var image: String
        var predictions: [Prediction]?
        var error: String?
    }

    struct Output: Encodable { var jobID: String; var results: [ImageResult]
        enum CodingKeys: String, CodingKey { case jobID = "job_id", results }
    }

    func validate() throws {
        try Validate.range(topK, 1...10_000, "--top-k")
    }

    func run() throws {
        let predictor = try Predictor(folder: JobFolder(jobsDirectory: URL(fileURLWithPath: jobsDir), id: jobID))
        var paths: [(shown: String, path: String)] = images.map { ($0, $0) }
        if let manifest {
            let url = URL(fileURLWithPath: manifest)
            let resolver = PathResolver(manifestDirectory: url.deletingLastPathComponent())
            let parsed = try ManifestParser(multiLabel: true, isImageReference: { resolver.namesImage($0) })
                .parse(try FileReading.read(url.path, maxBytes: 64 << 20).mapError { ManifestError.unreadable(path: url.path, reason: $0.description) }.get())
            for row in parsed.rows {
                switch resolver.resolvePath(row.path) {
                case let .success(path): paths.append((row.path, path))
                case let .failure(error): Console.log("line \(row.line): \(row.path): \(error)")
                }
            }
        }
        guard !paths.isEmpty else { throw ValidationError("give image files or --manifest") }
        var results: [ImageResult] = []
        for (shown, path) in paths {
            do {
                let data = try FileReading.read(path, maxBytes: FileReading.defaultMaxImageBytes).mapError { JobError.invalidImage($0.description) }.get()
                let top = try predictor.predict(images: [data])[0].prefix(max(1, topK))
                results.append(ImageResult(image: shown, predictions: Array(top)))
            } catch {
                results.append(ImageResult(image: shown, error: "\(error)"))
            }
        }
        if let output {
            var csv = "image,label,score\n"
            for result in results {
                let top = result.predictions?.first
                csv += "\(csvEscaped(result.image)),\(csvEscaped(top?.label ?? "")),\(top.map { String(format: "%.6f", $0.score) } ?? "")\n"
            }
            try Data(csv.utf8).write(to: URL(fileURLWithPath: output))
            print("wrote \(results.count) predictions to \(output)")
        } else {
            for result in results {
                if let error = result.error {
                    print("\(result.image): error: \(error)")
                } else {
                    print("\(result.image): " + result.predictions!.map { String(format: "%@ %.4f", $0.label, $0.score) }.joined(separator: ", "))
                }
            }
        }
        if json { try Console.printJSON(Output(jobID: jobID, results: results)) }
        if results.allSatisfy({ $0.error != nil }) { throw ExitCode.failure }
    }
}
