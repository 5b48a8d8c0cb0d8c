import Datasets
import Foundation
@testable import JobService
import Testing
import TestSupport

/// The image index an import writes, labelling unlabeled images into a new version, the import's
/// throttled progress, and the files a deleted version leaves to the versions that read them.
@Suite struct DatasetVersionTests {
    static let root = processScratchDirectory(prefix: "autovision-version-tests-")
    static let sample = ZipDatasetUploadTests.sample

    /// A dataset of the tiny sample as a CSV upload whose rows 1–3 have no label and row 4 no set,
    /// registered and imported into `store`.
    static func importedSample(_ store: any JobStore, jobs: URL) throws -> DatasetRecord {
        let rows = try ZipDatasetUploadTests.sampleRows().enumerated().map { index, row in
            switch index {
            case 0..<3: "\(row.set),\(row.path)"
            case 3: "UNASSIGNED,\(row.path),\(row.label)"
            default: "\(row.set),\(row.path),\(row.label)"
            }
        }
        let manifest = Array((rows.joined(separator: "\n") + "\n").utf8)
        var record = try DatasetUpload.register(manifest: manifest, root: sample, multiLabel: false, name: "tiny", jobsDirectory: jobs)
        try store.insertDataset(record)
        let summary = try DatasetUpload.runImport(record, store: store, jobsDirectory: jobs)
        record = try store.updateDataset(record.id) {
            $0.summary = summary
            $0.images = summary.images
            $0.labels = summary.labels
            $0.state = .ready
        }
        return record
    }

    static func jobs(_ name: String) throws -> URL {
        let jobs = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        return jobs
    }

    @Test func theImportWritesEveryImageWithItsPartitionLabelsAndSize() throws {
        let jobs = try Self.jobs("index")
        let store = InMemoryJobStore()
        let record = try Self.importedSample(store, jobs: jobs)
        let images = try #require(try DatasetImageIndex.read(for: record, store: store))
        #expect(images.count == 60)
        #expect(images.map(\.line) == Array(1...60), "manifest order, an image's ID its line")
        #expect(images.prefix(3).allSatisfy { $0.labels.isEmpty } && images.dropFirst(3).allSatisfy { $0.labels.count == 1 })
        #expect(images.filter(\.autoAssigned).map(\.line) == [4])
        #expect(images.allSatisfy { $0.width == 28 && $0.height == 28 && $0.path.hasPrefix(Self.sample.path) })
        #expect(record.summary?.unlabeled == 3)
    }

    @Test func labellingMakesTheNextVersionWithThoseRowsLabelledOnTheirLines() throws {
        let jobs = try Self.jobs("labelling")
        let store = InMemoryJobStore()
        let parent = try Self.importedSample(store, jobs: jobs)
        let images = try #require(try DatasetImageIndex.read(for: parent, store: store))
        let child = try DatasetLabelling.newVersion(of: parent, images: images, imageIDs: ["1", "3"], label: "  brand new ", jobsDirectory: jobs)
        #expect(child.version == 2 && child.parentDatasetID == parent.id && child.state == .importing && child.id != parent.id)
        #expect(child.root == parent.root && child.name == parent.name)
        let summary = try DatasetUpload.runImport(child, store: store, jobsDirectory: jobs)
        #expect(summary.unlabeled == 1 && summary.images == 60)
        #expect(summary.labels.contains("brand new"))
        let childImages = try #require(try DatasetImageIndex.read(for: child, store: store))
        #expect(childImages.map(\.line) == images.map(\.line), "every row keeps its line, so an image keeps its ID")
        #expect(childImages[0].labels == ["brand new"] && childImages[1].labels.isEmpty && childImages[2].labels == ["brand new"])
        #expect(childImages.map(\.partition) == images.map(\.partition))
        #expect(try DatasetImageIndex.read(for: parent, store: store) == images, "the parent is unchanged")

        #expect(throws: LabellingError.alreadyLabelled(["5"])) {
            try DatasetLabelling.newVersion(of: parent, images: images, imageIDs: ["2", "5"], label: "x", jobsDirectory: jobs)
        }
        #expect(throws: LabellingError.unknownImages(["61", "x"])) {
            try DatasetLabelling.newVersion(of: parent, images: images, imageIDs: ["2", "61", "x"], label: "x", jobsDirectory: jobs)
        }
        var importing = parent
        importing.state = .importing
        #expect(throws: LabellingError.notReady(id: parent.id, state: .importing)) {
            try DatasetLabelling.newVersion(of: importing, images: images, imageIDs: ["2"], label: "x", jobsDirectory: jobs)
        }
    }

    @Test func aLabelIsTrimmedAndMustBeOneManifestLabel() throws {
        #expect(try DatasetLabelling.validLabel(" cat ", multiLabel: false) == "cat")
        #expect(try DatasetLabelling.validLabel("T-shirt/top", multiLabel: false) == "T-shirt/top")
        #expect(try DatasetLabelling.validLabel("a,b \"quoted\"", multiLabel: false) == "a,b \"quoted\"")
        for bad in ["", "   ", "two\nlines", "tab\there", String(repeating: "x", count: 257)] {
            #expect(throws: LabellingError.self, "\(bad.debugDescription)") { try DatasetLabelling.validLabel(bad, multiLabel: false) }
        }
    }

    @Test func progressIsWrittenAtMostOnceASecondAndItsLastValueAlways() throws {
        let store = InMemoryJobStore()
        try store.insertDataset(DatasetRecord(id: "ds", root: "/d", manifest: "/d/m.csv", multiLabel: false))
        let writer = ImportProgressWriter(store: store, id: "ds", interval: 60)
        writer.report(done: 500, total: 2000)
        writer.report(done: 1000, total: 2000)  // within the interval: not written
        #expect(try store.dataset("ds")?.importProgress == ImportProgress(imagesDone: 500, imagesTotal: 2000))
        writer.report(done: 2000, total: 2000)  // the last value is always written
        #expect(try store.dataset("ds")?.importProgress == ImportProgress(imagesDone: 2000, imagesTotal: 2000))
        try store.updateDataset("ds") { $0.state = .ready }
        ImportProgressWriter(store: store, id: "ds").report(done: 1, total: 2)
        #expect(try store.dataset("ds")?.importProgress?.imagesDone == 2000, "a late report does not touch a finished import")
    }

    @Test func theImportReportsItsProgressUpToEveryImage() throws {
        let jobs = try Self.jobs("progress")
        let record = try DatasetUpload.register(manifest: Array(try Data(contentsOf: Self.sample.appendingPathComponent("manifest.csv"))),
                                                root: Self.sample, multiLabel: false, name: nil, jobsDirectory: jobs)
        let reports = LockedArray()
        _ = try DatasetUpload.runImport(record, store: InMemoryJobStore(), jobsDirectory: jobs, progress: { reports.append($0, $1) })
        #expect(reports.values.last.map { $0 == (60, 60) } == true, "\(reports.values)")
    }

    @Test func aDeletedVersionLeavesTheImagesAnotherVersionReads() throws {
        let jobs = try Self.jobs("delete")
        let store = InMemoryJobStore()
        let parentFolder = DatasetUpload.folder(jobsDirectory: jobs, id: "ds-parent")
        let files = parentFolder.appendingPathComponent("files", isDirectory: true)
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        for name in ["manifest.csv", "files/a.png"] { try Data("x".utf8).write(to: parentFolder.appendingPathComponent(name)) }
        let parent = DatasetRecord(id: "ds-parent", root: files.path, manifest: parentFolder.appendingPathComponent("manifest.csv").path, multiLabel: false)
        let childFolder = DatasetUpload.folder(jobsDirectory: jobs, id: "ds-child")
        try FileManager.default.createDirectory(at: childFolder, withIntermediateDirectories: true)
        let child = DatasetRecord(id: "ds-child", root: files.path, manifest: childFolder.appendingPathComponent("manifest.csv").path, multiLabel: false,
                                  version: 2, parentDatasetID: "ds-parent")
        try store.insertDataset(parent)
        try store.insertDataset(child)

        try store.deleteDataset("ds-parent")
        DatasetUpload.removeFiles(of: "ds-parent", root: parent.root, store: store, jobsDirectory: jobs)
        #expect(FileManager.default.fileExists(atPath: files.appendingPathComponent("a.png").path), "the child still reads the images")
        #expect(!FileManager.default.fileExists(atPath: parentFolder.appendingPathComponent("manifest.csv").path))

        try store.deleteDataset("ds-child")
        DatasetUpload.removeFiles(of: "ds-child", root: child.root, store: store, jobsDirectory: jobs)
        #expect(!FileManager.default.fileExists(atPath: childFolder.path))
        #expect(!FileManager.default.fileExists(atPath: parentFolder.path), "the last version to read them takes the images with it")
    }
}

/// Progress reports collected from the importer's threads.
final class LockedArray: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(Int, Int)] = []
    func append(_ done: Int, _ total: Int) {
        lock.lock()
        items.append((done, total))
        lock.unlock()
    }
    var values: [(Int, Int)] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
