import Foundation
import Hummingbird
import HummingbirdTesting
import JobService
@testable import Server
import Testing
import ZIPFoundation

/// `POST /v1/datasets` with a zip body, over real HTTP: both layouts import in the background; zip
/// slip, non-zip bodies and oversized uploads are refused with problem+json and leave nothing behind.
@Suite(.serialized) struct ZipUploadTests {
    /// 60 PNGs, 20 per partition, listed by `manifest.csv`.
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Datasets/samples/fashion-mnist-tiny")

    static func sampleRows() throws -> [[String]] {
        try String(contentsOf: sample.appendingPathComponent("manifest.csv"), encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",").map(String.init) }
    }

    /// The bytes of a zip of `files` (path → bytes).
    static func zip(_ files: [(String, Data)]) throws -> ByteBuffer {
        let url = try Support.folder("zips").appendingPathComponent("\(UUID().uuidString).zip")
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in files {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return try Support.bytes(url)
    }

    static func manifestZip() throws -> ByteBuffer {
        var files = [("manifest.csv", try Data(contentsOf: sample.appendingPathComponent("manifest.csv")))]
        for row in try sampleRows() { files.append((row[1], try Data(contentsOf: sample.appendingPathComponent(row[1])))) }
        return try zip(files)
    }

    /// A label as a folder name (`T-shirt/top` → `T-shirt-top`).
    static func folderName(_ label: String) -> String { label.replacingOccurrences(of: "/", with: "-") }

    /// The sample as `fashion/LABEL/name.png`.
    static func folderZip() throws -> ByteBuffer {
        try zip(try sampleRows().map { ("fashion/\(folderName($0[2]))/\(($0[1] as NSString).lastPathComponent)", try Data(contentsOf: sample.appendingPathComponent($0[1]))) })
    }

    /// Polls the dataset until it leaves `importing`.
    static func imported(_ client: some TestClientProtocol, _ id: String) async throws -> [String: Any] {
        var dataset: [String: Any] = [:]
        for _ in 0..<120 {
            dataset = try Support.json(try await client.execute(uri: "/v1/datasets/\(id)", method: .get))
            if dataset["state"] as? String != "importing" { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return dataset
    }

    static func partitionTotals(_ dataset: [String: Any]) -> [String: Int] {
        let partitions = (dataset["summary"] as? [String: Any])?["partitions"] as? [String: [String: Int]] ?? [:]
        return partitions.mapValues { $0.values.reduce(0, +) }
    }

    @Test func aManifestZipAndAFolderPerLabelZipImportInTheBackground() async throws {
        let jobs = try Support.folder("zip-jobs")
        let app = try buildApplication(configuration: Support.configuration(jobs: jobs))
        try await app.test(.live) { client in
            let upload = try await client.execute(uri: "/v1/datasets?name=tiny", method: .post, headers: Support.headers("application/zip"),
                                                  body: try Self.manifestZip())
            #expect(upload.status == .created, "\(String(buffer: upload.body))")
            let created = try Support.json(upload)
            let id = try #require(created["id"] as? String)
            #expect(["importing", "ready"].contains(created["state"] as? String))
            #expect(upload.headers[.location] == "/v1/datasets/\(id)")
            let dataset = try await Self.imported(client, id)
            #expect(dataset["state"] as? String == "ready", "\(dataset)")
            #expect(dataset["images"] as? Int == 60)
            #expect(Self.partitionTotals(dataset) == ["TRAIN": 20, "VALIDATION": 20, "TEST": 20], "\(dataset)")
            let files = ZipDatasetUpload.filesFolder(jobsDirectory: jobs, id: id)
            #expect(FileManager.default.fileExists(atPath: files.appendingPathComponent("train").path))
            #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: jobs, id: id).appendingPathComponent("upload.zip").path))

            // One folder per label inside one top-level folder; x-zip-compressed is Windows' name for it.
            let folders = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/x-zip-compressed"),
                                                   body: try Self.folderZip())
            #expect(folders.status == .created, "\(String(buffer: folders.body))")
            let foldersID = try #require(try Support.json(folders)["id"] as? String)
            let foldersDataset = try await Self.imported(client, foldersID)
            #expect(foldersDataset["state"] as? String == "ready", "\(foldersDataset)")
            let totals = Self.partitionTotals(foldersDataset)
            #expect(totals.values.reduce(0, +) == 60 && totals["TRAIN", default: 0] > totals["TEST", default: 0], "\(totals)")
            #expect(Set(foldersDataset["labels"] as? [String] ?? []) == Set(try Self.sampleRows().map { Self.folderName($0[2]) }))

            // Deleting removes the extracted files.
            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .delete).status == .noContent)
            #expect(!FileManager.default.fileExists(atPath: files.path))
        }
    }

    @Test func zipSlipNonZipBodiesAndOversizedZipsAreRefusedAndNothingStays() async throws {
        let jobs = try Support.folder("zip-refused-jobs")
        var configuration = Support.configuration(jobs: jobs)
        configuration.runJobs = false
        configuration.maxZipBytes = 20_000  // the manifest zip is about 35 kB, the bomb about 8 kB
        configuration.maxZipExtractedBytes = 1 << 20
        let png = try Data(contentsOf: Self.sample.appendingPathComponent(try Self.sampleRows()[0][1]))
        try await buildApplication(configuration: configuration).test(.live) { client in
            // Zip slip: 422, and nothing written outside (or inside) the store.
            let slip = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"),
                                                body: try Self.zip([("cat/a.png", png), ("../../../evil.png", png)]))
            try Support.expectProblem(slip, .unprocessableContent, contains: "zip slip")
            // Not a zip: 422 saying what to send.
            let text = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"),
                                                body: ByteBuffer(string: "TRAIN,a.png,cat\n"))
            try Support.expectProblem(text, .unprocessableContent, contains: "not a readable zip")
            // An empty body: 400.
            try Support.expectProblem(try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip")),
                                      .badRequest, contains: "empty")
            // Beyond --max-zip-bytes: 413 naming the option.
            let largeZip = try Self.manifestZip()
            #expect(largeZip.readableBytes > 20_000)
            let large = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"), body: largeZip)
            try Support.expectProblem(large, .contentTooLarge, contains: "--max-zip-bytes")
            // A zip bomb (8 MiB of zeros in a few KiB, beyond the 1 MiB extraction cap): 413.
            let bomb = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"),
                                                body: try Self.zip([("cat/a.png", Data(count: 8 << 20))]))
            try Support.expectProblem(bomb, .contentTooLarge, contains: "more than 1048576 bytes")
            // Loose images, no manifest: 422 explaining both layouts.
            let loose = try await client.execute(uri: "/v1/datasets", method: .post, headers: Support.headers("application/zip"),
                                                 body: try Self.zip([("a.png", png), ("b.png", png)]))
            try Support.expectProblem(loose, .unprocessableContent, contains: "one folder per label")
            // Nothing registered, no folder left.
            let list = try Support.json(try await client.execute(uri: "/v1/datasets", method: .get))
            #expect((list["datasets"] as? [Any])?.isEmpty == true, "\(list)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: jobs.appendingPathComponent("datasets").path)) ?? []
            #expect(left.isEmpty, "\(left)")
            #expect(!FileManager.default.fileExists(atPath: jobs.deletingLastPathComponent().appendingPathComponent("evil.png").path))
        }
    }
}
