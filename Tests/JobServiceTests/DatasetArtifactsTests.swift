import Datasets
import Foundation
import JobService
import Testing

/// A dataset uploaded to one machine is imported by a worker on another that shares only the store,
/// and what that import made serves the server and the jobs on it (`DatasetArtifacts`).
@Suite struct DatasetArtifactsTests {
    /// The server's machine registers a zip upload and keeps the zip in the store; a worker whose jobs
    /// folder is its own, and which cannot see the server's, imports it from the store.
    @Test func aWorkerThatCannotSeeTheServersFolderImportsTheZipTheStoreKeeps() throws {
        let store = InMemoryJobStore()
        let (server, id) = try ZipDatasetUploadTests.jobs("server")
        let (worker, _) = try ZipDatasetUploadTests.jobs("worker")
        let zip = try ZipDatasetUploadTests.manifestZip()
        let record = try ZipDatasetUpload.register(zip: zip, multiLabel: false, name: "tiny", jobsDirectory: server, id: id, keepingZip: true)
        try store.writeDatasetArtifact(datasetID: id, name: DatasetArtifacts.uploadZip, contentsOf: zip)
        try store.insertDataset(record)

        // The worker's machine: the server's dataset folder is not there while it imports.
        let serverFolder = DatasetUpload.folder(jobsDirectory: server, id: id)
        let hidden = server.appendingPathComponent("hidden")
        try FileManager.default.moveItem(at: serverFolder, to: hidden)
        let summary = try DatasetUpload.runImport(record, store: store, jobsDirectory: worker)
        try FileManager.default.moveItem(at: hidden, to: serverFolder)
        #expect(summary.imported == 60 && summary.rejected.isEmpty, "\(summary.rejected)")
        #expect(summary.manifest == serverFolder.appendingPathComponent("upload.csv").path, "the summary names the server's files")
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

    /// A CSV manifest naming images in the server's folders cannot be imported where they are not: the
    /// import fails with what to do, and nothing is extracted.
    @Test func aManifestOfAnotherMachinesFolderIsRefusedWithWhatToDo() throws {
        let store = InMemoryJobStore()
        let (worker, id) = try ZipDatasetUploadTests.jobs("csv-elsewhere")
        let record = DatasetRecord(id: id, root: "/nonexistent/data", manifest: "/nonexistent/datasets/\(id)/manifest.csv", multiLabel: false)
        try store.insertDataset(record)
        #expect { try DatasetUpload.runImport(record, store: store, jobsDirectory: worker) } throws: { error in
            "\(error)".contains("is not on this machine") && "\(error)".contains("upload the dataset as a zip")
        }
    }
}
