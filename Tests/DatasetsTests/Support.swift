import Foundation
import Testing
@testable import Datasets

/// `Tests/Fixtures/intake/<name>`: the real-world inputs that broke tools like ours.
func intakeCase(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/intake/\(name)")
}

func importManifest(_ url: URL, multiLabel: Bool = false, configure: (inout ImportOptions) -> Void = { _ in }) throws -> ImportResult {
    var options = ImportOptions()
    options.multiLabel = multiLabel
    configure(&options)
    return try DatasetImporter(options: options).importManifest(at: url)
}

/// A scratch folder removed at the end of the test.
final class ScratchFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ relativePath: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file
    }

    @discardableResult
    func write(_ relativePath: String, text: String) throws -> URL { try write(relativePath, Array(text.utf8)) }

    /// Copies the control images of an intake case into this folder.
    func copyImages(from intake: String) throws {
        let source = intakeCase(intake).appendingPathComponent("images")
        try FileManager.default.copyItem(at: source, to: url.appendingPathComponent("images"))
    }
}

extension ImportSummary {
    func count(_ partition: Partition) -> Int { partitions[partition.rawValue, default: [:]].values.reduce(0, +) }
    var rejectedLines: [Int] { rejected.map(\.line) }
}
