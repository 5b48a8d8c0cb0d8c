import Foundation
import JobService

extension ExportableModel {
    /// A job's model as its predictor serves it: network, labels, normalisation, test-time
    /// augmentation and working resolution of the checkpoint.
    public init(predictor: Predictor, name: String) {
        let classifier = predictor.classifier
        self.init(name: name, network: classifier.network, labels: classifier.labelNames, resolution: predictor.resolution,
                  normalization: classifier.normalization, testTimeAugmentation: classifier.testTimeAugmentation, output: classifier.output)
    }
}

/// The exports of a model in each `ExportFormat`, as files and as one download.
public enum ModelExporter {
    /// The files of `format`, paths relative to the output: `NAME.onnx`, `NAME.mlmodel`, or the Triton
    /// repository's `NAME/…`.
    /// - Throws: `ExportError` for a network the exporters cannot translate, or a multi-label model.
    public static func files(_ model: ExportableModel, format: ExportFormat) throws -> [ExportedFile] {
        guard model.output == .softmax else { throw ExportError.multiLabel }
        return switch format {
        case .onnx: [ExportedFile(path: "\(model.name).onnx", contents: Array(try ONNXExporter.export(model)))]
        case .coreml: [ExportedFile(path: "\(model.name).mlmodel", contents: Array(try CoreMLExporter.export(model)))]
        case .triton: try TritonRepository.files(model)
        }
    }

    /// One download of `format`: the ONNX or Core ML file, or the Triton repository as a zip
    /// (`NAME/config.pbtxt`, `NAME/labels.txt`, `NAME/1/model.onnx`).
    /// - Returns: the bytes, their media type and a file name for `Content-Disposition`.
    public static func download(_ model: ExportableModel, format: ExportFormat) throws -> (data: Data, contentType: String, filename: String) {
        let files = try files(model, format: format)
        switch format {
        case .onnx, .coreml: return (Data(files[0].contents), "application/octet-stream", files[0].path)
        case .triton: return (try ExportedFile.zip(files), "application/zip", "\(model.name)-triton.zip")
        }
    }

    /// Writes `format` to `output`: the file itself for ONNX and Core ML, the repository's root
    /// folder for Triton (the model goes in `output/NAME/`). Returns the paths written.
    /// - Throws: `ExportError`.
    @discardableResult
    public static func write(_ model: ExportableModel, format: ExportFormat, to output: URL) throws -> [URL] {
        let files = try files(model, format: format)
        switch format {
        case .onnx, .coreml:
            try ExportedFile.write([ExportedFile(path: output.lastPathComponent, contents: files[0].contents)], under: output.deletingLastPathComponent())
            return [output]
        case .triton:
            try ExportedFile.write(files, under: output)
            return files.map { output.appendingPathComponent($0.path) }
        }
    }
}
