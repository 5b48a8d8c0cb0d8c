import ArgumentParser
import Foundation
import JobService
import ModelExport
import NN
import Tensors

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export a job's model to run elsewhere: ONNX, a Triton model repository, or Core ML.",
        discussion: """
            onnx: one file (opset 17); input `image`, uint8 [N, C, H, W] at the working resolution; output `probabilities` [N, classes]; \
            the labels are in the metadata (key `labels`). triton: a model repository folder, --output/JOB_ID/{config.pbtxt, labels.txt, \
            1/model.onnx}. coreml: a NeuralNetwork classifier (.mlmodel) with an image input. docs/export.md has the details.
            """)

    @Argument(help: "The job ID.") var jobID: String
    @Option(help: "onnx, triton or coreml.") var format = "onnx"
    @Option(help: "The file to write (default JOB_ID.onnx, JOB_ID.mlmodel); for triton the repository folder (default model_repository).")
    var output: String?
    @Option(help: "The job store folder.") var jobsDir = "Jobs"
    @Option(help: StoreLocation.help) var store: String?
    @Flag(help: "Print the files written as one line of JSON last.") var json = false

    struct Output: Encodable {
        var jobID: String
        var format: String
        var files: [String]
        enum CodingKeys: String, CodingKey { case jobID = "job_id", format, files }
    }

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else { throw ValidationError("\(ExportError.unknownFormat(format))") }
    }

    func run() throws {
        let format = ExportFormat(rawValue: format)!
        let jobs = URL(fileURLWithPath: jobsDir)
        let predictor = try store.map { try Predictor(store: StoreLocation.open($0, jobsDirectory: jobs), jobID: jobID) }
            ?? Predictor(folder: JobFolder(jobsDirectory: jobs, id: jobID))
        let model = ExportableModel(predictor: predictor, name: jobID)
        if model.network.precision == .bf16 {
            Console.log("note: \(jobID) trained and serves in bf16; the exported graph computes in fp32 with the same weights, "
                        + "so its probabilities differ slightly from the server's (docs/export.md#precision)")
        }
        let destination = URL(fileURLWithPath: output ?? defaultOutput(format))
        let files = try ModelExporter.write(model, format: format, to: destination).map(\.path)
        files.forEach { print($0) }
        if json { try Console.printJSON(Output(jobID: jobID, format: format.rawValue, files: files)) }
    }

    private func defaultOutput(_ format: ExportFormat) -> String {
        switch format {
        case .onnx: "\(jobID).onnx"
        case .coreml: "\(jobID).mlmodel"
        case .triton: "model_repository"
        }
    }
}
