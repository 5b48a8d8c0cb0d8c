import ArgumentParser
import Foundation
import JobService

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Predict labels for images with a job's model.",
        discussion: "Images are decoded exactly as at import (EXIF orientation, white matte, working resolution).")

    @Argument(help: "The job ID.") var jobID: String
    @Argument(help: "PNG or JPEG files.") var images: [String] = []
    @Option(help: "Predict every image of this manifest (batch prediction).") var manifest: String?
    @OptionGroup var paths: ImagePathArguments
    @Option(help: "With --manifest: write path,label,score rows here (CSV).") var output: String?
    @Option(help: "Labels shown per image.") var topK = 3
    @Option(help: "Multi-label models: the score every label must reach (default: each label's threshold, chosen on VALIDATION).")
    var threshold: Double?
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?
    @Flag(help: "Print the predictions as one line of JSON last.") var json = false

    struct Output: Encodable { var jobID: String; var results: [ImagePrediction]
        enum CodingKeys: String, CodingKey { case jobID = "job_id", results }
    }

    func validate() throws {
        try Validate.range(topK, 1...10_000, "--top-k")
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be from 0 to 1, got \(threshold)") }
    }

    func run() throws {
        let jobs = URL(fileURLWithPath: jobsDir)
        let predictor = try store.map { try Predictor(store: StoreLocation.open($0, jobsDirectory: jobs), jobID: jobID) }
            ?? Predictor(folder: JobFolder(jobsDirectory: jobs, id: jobID))
        var files: [BatchPrediction.ImageFile] = images.map { ($0, $0) }
        if let manifest {
            let listed = try BatchPrediction.images(inManifest: URL(fileURLWithPath: manifest), extraRoots: paths.extraRoots,
                                                    bucketMap: try paths.bucketMap())
            listed.skipped.forEach(Console.log)
            if listed.images.isEmpty && !listed.skipped.isEmpty && images.isEmpty {
                throw ValidationError("no row of \(manifest) names an image that can be read: see the reasons above")
            }
            files += listed.images
        }
        guard !files.isEmpty else { throw ValidationError("give image files or --manifest") }
        let results = BatchPrediction.predict(files, with: predictor, topK: topK, threshold: threshold)
        if let output {
            try Data(BatchPrediction.csv(results).utf8).write(to: URL(fileURLWithPath: output))
            print("wrote \(results.count) predictions to \(output)")
        } else {
            for result in results {
                if let error = result.error {
                    print("\(result.image): error: \(error)")
                } else if let labels = result.labels {
                    let answer = labels.isEmpty ? "no label over its threshold" : labels.map { String(format: "%@ %.4f", $0.label, $0.score) }.joined(separator: ", ")
                    print("\(result.image): \(answer) (top scores: "
                        + result.predictions!.map { String(format: "%@ %.4f", $0.label, $0.score) }.joined(separator: ", ") + ")")
                } else {
                    print("\(result.image): " + result.predictions!.map { String(format: "%@ %.4f", $0.label, $0.score) }.joined(separator: ", "))
                }
            }
        }
        if json { try Console.printJSON(Output(jobID: jobID, results: results)) }
        if results.allSatisfy({ $0.error != nil }) { throw ExitCode.failure }
    }
}
