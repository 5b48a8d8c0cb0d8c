import ArgumentParser
import Benchmarks
import Foundation
import JobService
import Tensors

/// `autovision bench predict JOB_ID IMAGE`: the in-process rate the HTTP service is compared with.
struct PredictBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "In-process batched prediction rate of a job's model (decode + preprocess + network), the reference for the HTTP benchmark.")

    @Argument(help: "The job ID.") var jobID: String
    @Argument(help: "An image to predict repeatedly (PNG or JPEG).") var image: String
    @Option(help: "Images per batch.") var batchSize = 64
    @Option(help: "Seconds to run.") var seconds = 10.0
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Flag(help: "Print one JSON line.") var json = false

    func validate() throws {
        try Validate.range(batchSize, 1...4096, "--batch-size")
        try Validate.range(seconds, 0.1...86_400, "--seconds")
    }

    func run() throws {
        BLASRuntime.relaunchWithFastestKernelsIfNeeded()
        let predictor = try Predictor(folder: JobFolder(jobsDirectory: URL(fileURLWithPath: jobsDir), id: jobID))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image)))
        let rate = try PredictionBenchmark.imagesPerSecond(predictor, image: bytes, batchSize: batchSize, seconds: seconds)
        if json {
            try Console.printJSON(["images_per_second": rate, "batch_size": Double(batchSize)])
        } else {
            print(String(format: "in-process prediction, batch %d: %.0f images/s", batchSize, rate))
        }
    }
}
