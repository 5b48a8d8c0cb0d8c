import Foundation
import Testing
import TestSupport
@testable import ModelExport

/// Where `ModelExporter.write` puts each format, and the download's name and type.
@Suite struct ModelExporterTests {
    @Test func writesTheFileOrTheRepositoryFolder() throws {
        let folder = processScratchDirectory(prefix: "model-export").appendingPathComponent(UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try ExportFixtures.model()
        let onnx = folder.appendingPathComponent("new/dir/m.onnx")
        #expect(try ModelExporter.write(model, format: .onnx, to: onnx) == [onnx])
        #expect(try Data(contentsOf: onnx) == ONNXExporter.export(model))
        let repository = folder.appendingPathComponent("repo")
        let written = try ModelExporter.write(model, format: .triton, to: repository).map(\.lastPathComponent)
        #expect(written == ["config.pbtxt", "labels.txt", "model.onnx"])
        #expect(FileManager.default.fileExists(atPath: repository.appendingPathComponent("job-1/1/model.onnx").path))
        let coreml = try ModelExporter.download(model, format: .coreml)
        #expect(coreml.filename == "job-1.mlmodel" && coreml.contentType == "application/octet-stream")
    }
}
