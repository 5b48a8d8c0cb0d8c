import Foundation
import ZIPFoundation

/// One file of an export: its path relative to the output, and its bytes.
public struct ExportedFile: Equatable, Sendable {
    public var path: String
    public var contents: [UInt8]

    public init(path: String, contents: [UInt8]) {
        self.path = path
        self.contents = contents
    }

    /// Writes `files` under `directory`, creating folders as needed.
    /// - Throws: `ExportError.cannotWrite`.
    public static func write(_ files: [ExportedFile], under directory: URL) throws {
        for file in files {
            let url = directory.appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.contents).write(to: url)
            } catch {
                throw ExportError.cannotWrite(path: url.path, reason: "\(error.localizedDescription)")
            }
        }
    }

    /// `files` as one zip archive (stored, not compressed: weights hardly compress).
    public static func zip(_ files: [ExportedFile]) throws -> Data {
        let archive = try Archive(accessMode: .create)
        for file in files {
            let data = Data(file.contents)
            try archive.addEntry(with: file.path, type: .file, uncompressedSize: Int64(data.count), modificationDate: Date(timeIntervalSince1970: 0)) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw ExportError.cannotWrite(path: "zip archive", reason: "no in-memory archive") }
        return data
    }
}
