import Datasets
import Foundation
@testable import JobService
import Testing
import TestSupport
import ZIPFoundation

/// Zip dataset uploads: both layouts import from the extracted folder; unsafe, oversized, corrupt and
/// ambiguous zips are refused and leave nothing behind.
@Suite struct ZipDatasetUploadTests {
    static let root = processScratchDirectory(prefix: "autovision-zip-tests-")
    /// 60 PNGs, 20 per partition, in `train/` and `test/`, listed by `manifest.csv`.
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Datasets/samples/fashion-mnist-tiny")

    /// The sample's rows: (set, path, label).
    static func sampleRows() throws -> [(set: String, path: String, label: String)] {
        try String(contentsOf: sample.appendingPathComponent("manifest.csv"), encoding: .utf8).split(separator: "\n").map {
            let fields = $0.split(separator: ",").map(String.init)
            return (fields[0], fields[1], fields[2])
        }
    }

    /// A new zip of `files` (path → bytes), plus symbolic links (path → target).
    static func makeZip(_ name: String, _ files: [(String, Data)], symlinks: [(String, String)] = [],
                        compression: CompressionMethod = .deflate) throws -> URL {
        let folder = root.appendingPathComponent("zips", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).zip")
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in files {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: compression) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        for (path, target) in symlinks {
            try archive.addEntry(with: path, type: .symlink, uncompressedSize: Int64(target.utf8.count)) { _, _ in Data(target.utf8) }
        }
        return url
    }

    /// The sample as a manifest zip in one top-level folder, with macOS litter.
    static func manifestZip() throws -> URL {
        var files = [("tiny/manifest.csv", try Data(contentsOf: sample.appendingPathComponent("manifest.csv"))),
                     ("__MACOSX/tiny/._manifest.csv", Data("resource fork".utf8)), ("tiny/.DS_Store", Data([0, 1, 2]))]
        for row in try sampleRows() { files.append(("tiny/" + row.path, try Data(contentsOf: sample.appendingPathComponent(row.path)))) }
        return try makeZip("manifest", files)
    }

    /// A label as a folder name (`T-shirt/top` → `T-shirt-top`).
    static func folderName(_ label: String) -> String { label.replacingOccurrences(of: "/", with: "-") }

    /// The sample as one folder per label (`LABEL/name.png`), plus a README at the top level.
    static func folderZip() throws -> URL {
        var files = [("README.txt", Data("Fashion-MNIST, 60 images".utf8))]
        for row in try sampleRows() {
            files.append(("\(folderName(row.label))/\((row.path as NSString).lastPathComponent)",
                          try Data(contentsOf: sample.appendingPathComponent(row.path))))
        }
        return try makeZip("folders", files)
    }

    /// A fresh jobs folder and a dataset ID.
    static func jobs(_ name: String) throws -> (URL, String) {
        let jobs = root.appendingPathComponent("jobs-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        return (jobs, newResourceID(prefix: "ds"))
    }

    @Test func aManifestZipImportsWithTheManifestsPartitions() throws {
        let (jobs, id) = try Self.jobs("manifest")
        let zip = try Self.manifestZip()
        let record = try ZipDatasetUpload.register(zip: zip, multiLabel: false, name: "tiny", jobsDirectory: jobs, id: id)
        let files = ZipDatasetUpload.filesFolder(jobsDirectory: jobs, id: id)
        #expect(record.root == files.appendingPathComponent("tiny").path)
        #expect(!FileManager.default.fileExists(atPath: zip.path), "the zip is deleted once extracted")
        #expect(!FileManager.default.fileExists(atPath: files.appendingPathComponent("__MACOSX").path))
        #expect(!FileManager.default.fileExists(atPath: files.appendingPathComponent("tiny/.DS_Store").path))

        let summary = try DatasetUpload.runImport(record, store: InMemoryJobStore(), jobsDirectory: jobs)
        #expect(summary.imported == 60, "\(summary.rejected)")
        #expect(summary.rejected.isEmpty)
        for partition in ["TRAIN", "VALIDATION", "TEST"] {
            #expect(summary.partitions[partition]?.values.reduce(0, +) == 20, "\(partition): \(summary.partitions)")
        }
        #expect(summary.autoAssigned == 0)
    }

    @Test func aFolderPerLabelZipImportsEveryImageUnassigned() throws {
        let (jobs, id) = try Self.jobs("folders")
        let record = try ZipDatasetUpload.register(zip: try Self.folderZip(), multiLabel: false, name: nil, jobsDirectory: jobs, id: id)
        let summary = try DatasetUpload.runImport(record, store: InMemoryJobStore(), jobsDirectory: jobs)
        #expect(summary.imported == 60, "\(summary.rejected)")
        #expect(summary.autoAssigned == 60)
        #expect(Set(summary.labels) == Set(try Self.sampleRows().map { Self.folderName($0.label) }))
        let counts = ["TRAIN", "VALIDATION", "TEST"].map { summary.partitions[$0]?.values.reduce(0, +) ?? 0 }
        #expect(counts.reduce(0, +) == 60 && counts[0] > counts[1] && counts[0] > counts[2], "80/10/10 by hash: \(counts)")
        #expect(summary.notices.contains { $0.contains("README.txt") }, "\(summary.notices)")
    }

    @Test func theLayoutIsTheSingleManifestOrTheLabelFolders() throws {
        #expect(try ZipDatasetUpload.layout(of: ["m.csv", "img/a.png"]) == .manifest("m.csv"))
        #expect(try ZipDatasetUpload.layout(of: ["ds/m.csv", "ds/img/a.png"]) == .manifest("ds/m.csv"))
        #expect(try ZipDatasetUpload.layout(of: ["cat/a.png", "dog/b.png", "dog/x/c.png"])
            == .folders(base: "", rows: [.init(path: "cat/a.png", label: "cat"), .init(path: "dog/b.png", label: "dog"),
                                         .init(path: "dog/x/c.png", label: "dog")], ignored: []))
        #expect(try ZipDatasetUpload.layout(of: ["pets/cat/a.png", "pets/dog/b.png"])
            == .folders(base: "pets", rows: [.init(path: "cat/a.png", label: "cat"), .init(path: "dog/b.png", label: "dog")], ignored: []))
        // One label folder alone: the folder is the label.
        #expect(try ZipDatasetUpload.layout(of: ["cat/a.png"]) == .folders(base: "", rows: [.init(path: "cat/a.png", label: "cat")], ignored: []))
        // Several manifests: named.
        #expect(throws: ZipUploadError.severalManifests(["a.csv", "b.csv"])) { try ZipDatasetUpload.layout(of: ["a.csv", "b.csv", "x/y.png"]) }
        // Neither layout: both explained.
        do {
            _ = try ZipDatasetUpload.layout(of: ["a.png", "b.png"])
            Issue.record("a zip of loose images has no layout")
        } catch let error as ZipUploadError {
            #expect(error.description.contains("one folder per label") && error.description.contains("CSV manifest"), "\(error)")
        }
    }

    @Test func zipSlipAbsolutePathsAndSymbolicLinksAreRefusedAndNothingStays() throws {
        let png = try Data(contentsOf: Self.sample.appendingPathComponent(try Self.sampleRows()[0].path))
        let cases: [(String, URL, String)] = [
            ("slip", try Self.makeZip("slip", [("cat/a.png", png), ("../../evil.png", png)]), "zip slip"),
            ("backslash", try Self.makeZip("backslash", [("cat/a.png", png), ("cat\\..\\..\\evil.png", png)]), "zip slip"),
            ("absolute", try Self.makeZip("absolute", [("/tmp/evil.png", png)]), "absolute"),
            ("drive", try Self.makeZip("drive", [("C:/evil.png", png)]), "drive letter"),
            ("symlink", try Self.makeZip("symlink", [("cat/a.png", png)], symlinks: [("cat/b.png", "/etc/passwd")]), "symbolic link"),
        ]
        for (name, zip, text) in cases {
            let (jobs, id) = try Self.jobs(name)
            do {
                _ = try ZipDatasetUpload.register(zip: zip, multiLabel: false, name: nil, jobsDirectory: jobs, id: id)
                Issue.record("\(name): accepted")
            } catch let error as ZipUploadError {
                guard case .unsafeEntry = error else { Issue.record("\(name): \(error)"); continue }
                #expect(error.description.contains(text), "\(name): \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: jobs, id: id).path), "\(name): folder left")
            #expect(!FileManager.default.fileExists(atPath: jobs.appendingPathComponent("evil.png").path))
            #expect(!FileManager.default.fileExists(atPath: jobs.appendingPathComponent("datasets/evil.png").path))
        }
    }

    @Test func zipBombsAndTooManyEntriesAreOverTheLimit() throws {
        // 8 MiB of zeros deflate to a few KiB.
        let zeros = Data(count: 8 << 20)
        let bomb = try Self.makeZip("bomb", [("cat/a.png", zeros)])
        let bombSize = try #require(try FileManager.default.attributesOfItem(atPath: bomb.path)[.size] as? Int)
        #expect(bombSize < 100_000)
        let (jobs, id) = try Self.jobs("bomb")
        #expect(throws: ZipUploadError.self) {
            try ZipDatasetUpload.register(zip: bomb, multiLabel: false, name: nil, jobsDirectory: jobs, id: id,
                                          limits: ZipLimits(maxUncompressedBytes: 1 << 20))
        }
        #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: jobs, id: id).path))
        // The inflated bytes are counted, whatever the entry declares: a bomb that declares 1000 bytes
        // (local header and central directory patched) stops at the first chunk beyond them.
        var lying = try Data(contentsOf: bomb)
        for (signature, offset) in [([0x50, 0x4B, 0x03, 0x04] as [UInt8], 22), ([0x50, 0x4B, 0x01, 0x02], 24)] {
            let header = try #require(lying.range(of: Data(signature))).lowerBound
            lying.replaceSubrange(header + offset..<header + offset + 4, with: [0xE8, 0x03, 0, 0])  // 1000, little-endian
        }
        let lyingZip = Self.root.appendingPathComponent("zips/lying.zip")
        try lying.write(to: lyingZip)
        let extracted = Self.root.appendingPathComponent("bomb-\(UUID().uuidString.prefix(8))")
        #expect(throws: ZipUploadError.unreadableEntry(path: "cat/a.png", reason: "it inflates to more than the 1000 bytes it declares")) {
            try ZipDatasetUpload.extract(lyingZip, into: extracted)
        }
        let written = try FileManager.default.attributesOfItem(atPath: extracted.appendingPathComponent("cat/a.png").path)[.size] as? Int
        #expect((written ?? 0) <= 1000)
        let many = try Self.makeZip("many", (0..<20).map { ("cat/\($0).png", Data([UInt8($0)])) })
        #expect(throws: ZipUploadError.overLimit("more than 10 entries; split the dataset into several zips")) {
            try ZipDatasetUpload.extract(many, into: Self.root.appendingPathComponent("many"), limits: ZipLimits(maxEntries: 10))
        }
    }

    @Test func aBodyThatIsNotAZipIsRefusedWithAnActionableMessage() throws {
        let folder = Self.root.appendingPathComponent("not-zips", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let valid = try Data(contentsOf: try Self.folderZip())
        for (name, bytes) in [("text", Data("TRAIN,a.png,cat\n".utf8)), ("empty", Data()), ("truncated", valid.prefix(valid.count / 2)),
                              ("png", try Data(contentsOf: Self.sample.appendingPathComponent(try Self.sampleRows()[0].path)))] {
            let zip = folder.appendingPathComponent("\(name).zip")
            try bytes.write(to: zip)
            let (jobs, id) = try Self.jobs(name)
            do {
                _ = try ZipDatasetUpload.register(zip: zip, multiLabel: false, name: nil, jobsDirectory: jobs, id: id)
                Issue.record("\(name): accepted")
            } catch let error as ZipUploadError {
                guard case .notAZip = error else { Issue.record("\(name): \(error)"); continue }
                #expect(error.description.contains("application/zip"), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: jobs, id: id).path))
        }
        // A damaged entry (CRC mismatch): named.
        var corrupt = try Data(contentsOf: try Self.makeZip("stored", [("cat/a.png", Data(repeating: 7, count: 1000))], compression: .none))
        let start = try #require(corrupt.range(of: Data(repeating: 7, count: 100))).lowerBound
        corrupt[start + 10] = 8
        let zip = folder.appendingPathComponent("corrupt.zip")
        try corrupt.write(to: zip)
        let (jobs, id) = try Self.jobs("corrupt")
        #expect(throws: ZipUploadError.unreadableEntry(path: "cat/a.png", reason: "CRC-32 mismatch: the data is corrupt")) {
            try ZipDatasetUpload.register(zip: zip, multiLabel: false, name: nil, jobsDirectory: jobs, id: id)
        }
    }
}
