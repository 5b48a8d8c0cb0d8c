import Datasets
import Foundation
import JobService
import Testing
import ZIPFoundation

/// A dataset registered on one machine is imported by a worker on another that shares only the store,
/// and what that import made serves the server and the jobs on it (`DatasetArtifacts`).
@Suite struct DatasetArtifactsTests {
    /// Hides `folder` (as another machine does not have it) while `body` runs.
    static func hiding<T>(_ folder: URL, _ body: () throws -> T) throws -> T {
        let hidden = folder.deletingLastPathComponent().appendingPathComponent("hidden-\(UUID().uuidString)")
        try FileManager.default.moveItem(at: folder, to: hidden)
        defer { try? FileManager.default.moveItem(at: hidden, to: folder) }
        return try body()
    }

    /// The server registers a zip upload and keeps its files in the store; a worker whose jobs folder is
    /// its own, and which cannot see the server's, imports them from the store.
    @Test func aWorkerThatCannotSeeTheServersFolderImportsTheFilesTheStoreKeeps() throws {
        let store = InMemoryJobStore(sharedAcrossMachines: true)
        let (server, id) = try ZipDatasetUploadTests.jobs("server")
        let (worker, _) = try ZipDatasetUploadTests.jobs("worker")
        let record = try ZipDatasetUpload.register(zip: try ZipDatasetUploadTests.manifestZip(), multiLabel: false, name: "tiny",
                                                   jobsDirectory: server, id: id)
        try DatasetArtifacts.keepFiles(of: record, in: store)
        try store.insertDataset(record)

        let serverFolder = DatasetUpload.folder(jobsDirectory: server, id: id)
        let summary = try Self.hiding(serverFolder) { try DatasetUpload.runImport(record, store: store, jobsDirectory: worker) }
        #expect(summary.imported == 60 && summary.rejected.isEmpty, "\(summary.rejected)")
        #expect(summary.manifest == serverFolder.appendingPathComponent("upload.csv").path, "the summary names the server's files")
        #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: worker, id: id).path),
                "the worker's copy of the server's files is gone once imported")
        try store.updateDataset(id) {
            $0.state = .ready
            $0.summary = summary
        }

        // The server lists the images from the store, at its own paths, where its thumbnails are read.
        #expect(!FileManager.default.fileExists(atPath: DatasetImageIndex.url(for: record).path), "the server's machine wrote no index")
        let images = try #require(try DatasetImageIndex.read(for: record, store: store))
        #expect(images.count == 60 && images.allSatisfy { $0.path.hasPrefix(record.root + "/") && FileManager.default.fileExists(atPath: $0.path) })

        // A job on the dataset, with the settings it was imported with, opens the decoded images it made.
        let options = DatasetUpload.importOptions(for: record)
        let decoded = try #require(try DatasetArtifacts.decodedImport(of: id, options: options, store: store))
        #expect(try DecodedDataset(contentsOf: decoded.file).header.count == 60)
        var other = options
        other.workingSize += 1
        #expect(try DatasetArtifacts.decodedImport(of: id, options: other, store: store) == nil, "other settings import again")
    }

    /// A CSV manifest of a server-side folder travels too, but only the files its import may read: a row
    /// naming a file outside the dataset's root is neither packed nor imported, and keeps its line and
    /// the path as the user wrote it in the summary.
    @Test func aCSVManifestsImagesTravelButNoFileOutsideItsRoot() throws {
        let store = InMemoryJobStore(sharedAcrossMachines: true)
        let (server, id) = try ZipDatasetUploadTests.jobs("csv-server")
        let (worker, _) = try ZipDatasetUploadTests.jobs("csv-worker")
        let root = server.appendingPathComponent("data-root", isDirectory: true)
        try FileManager.default.copyItem(at: DatasetVersionTests.sample, to: root)
        let secret = server.appendingPathComponent("secret.png")
        try FileManager.default.copyItem(at: root.appendingPathComponent(try ZipDatasetUploadTests.sampleRows()[0].path), to: secret)
        var manifest = try String(contentsOf: root.appendingPathComponent("manifest.csv"), encoding: .utf8)
        manifest += "TRAIN,\(secret.path),Bag\n"
        let record = try DatasetUpload.register(manifest: Array(manifest.utf8), root: root, multiLabel: false, name: nil, jobsDirectory: server, id: id)
        try DatasetArtifacts.keepFiles(of: record, in: store)
        let zip = try #require(try store.datasetArtifactFile(datasetID: id, name: DatasetArtifacts.files))
        let entries = try Archive(url: zip, accessMode: .read).map(\.path)
        #expect(entries.count == 62, "the manifest, its notes and 60 images")
        #expect(!entries.contains(String(secret.path.dropFirst())), "a file outside the root stays on the server")

        let summary = try Self.hiding(server) { try DatasetUpload.runImport(record, store: store, jobsDirectory: worker) }
        #expect(summary.imported == 60)
        #expect(summary.rejected.map(\.line) == [61] && summary.rejected.first?.path == secret.path, "\(summary.rejected)")
    }

    /// Without the files in the store (a store of one machine), a worker elsewhere cannot import: the import
    /// fails with what to do, and nothing is extracted.
    @Test func aDatasetWhoseFilesAreNeitherHereNorInTheStoreIsRefusedWithWhatToDo() throws {
        let store = InMemoryJobStore()
        let (worker, id) = try ZipDatasetUploadTests.jobs("elsewhere")
        let record = DatasetRecord(id: id, root: "/nonexistent/data", manifest: "/nonexistent/datasets/\(id)/manifest.csv", multiLabel: false)
        try store.insertDataset(record)
        #expect { try DatasetUpload.runImport(record, store: store, jobsDirectory: worker) } throws: { error in
            "\(error)".contains("is not on this machine") && "\(error)".contains("run this worker where the server's files are")
        }
        #expect(!FileManager.default.fileExists(atPath: DatasetUpload.folder(jobsDirectory: worker, id: id).path))
    }
}
