import Foundation
@testable import JobService
import TestSupport
import Testing

/// `JobStore.deleteJob(_:withFolderIn:)`, the one deletion of the HTTP route and the CLI.
@Suite struct JobDeletionTests {
    static let root = processScratchDirectory(prefix: "job-deletion")

    @Test func aFinishedJobGoesWithItsFolderAndARunningOneStays() throws {
        let jobs = Self.root.appendingPathComponent(UUID().uuidString)
        let store = InMemoryJobStore()
        for (id, state) in [("done", JobState.succeeded), ("running", .training)] {
            var record = JobRecord(id: id, manifest: "/m.csv", budgetSeconds: 60, seed: 1, now: Date())
            record.state = state
            try store.insertJob(record)
            try JobFolder(jobsDirectory: jobs, id: id).create()
        }
        try store.deleteJob("done", withFolderIn: jobs)
        #expect(try store.job("done") == nil)
        #expect(!FileManager.default.fileExists(atPath: JobFolder(jobsDirectory: jobs, id: "done").url.path))
        #expect(throws: StoreError.self) { try store.deleteJob("running", withFolderIn: jobs) }
        #expect(try store.job("running") != nil)
        #expect(FileManager.default.fileExists(atPath: JobFolder(jobsDirectory: jobs, id: "running").url.path))
        #expect(throws: StoreError.notFound(kind: "job", id: "done")) { try store.deleteJob("done", withFolderIn: jobs) }
    }
}

/// `BatchPrediction`'s manifest reading and CSV (`autovision predict JOB_ID --manifest CSV --output OUT.csv`).
@Suite struct BatchPredictionTests {
    static let root = processScratchDirectory(prefix: "batch-prediction")

    @Test func everyRowOfAManifestIsListedAndUnresolvablePathsAreSkippedWithTheirLine() throws {
        let folder = Self.root.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let manifest = folder.appendingPathComponent("m.csv")
        try Data("TRAIN,a.png,cat\nTEST,gs://bucket/b.png,dog\nVALIDATION,b/c.png\n".utf8).write(to: manifest)
        let listed = try BatchPrediction.images(inManifest: manifest)
        #expect(listed.images.map(\.shown) == ["a.png", "b/c.png"])
        #expect(listed.images.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["a.png", "c.png"])
        #expect(listed.skipped.count == 1 && listed.skipped[0].hasPrefix("line 2: gs://bucket/b.png: no local folder for gs://bucket"))
    }

    /// Paths outside the manifest's folder resolve only into `--allow-root` folders and `--map`ped
    /// buckets, as at import.
    @Test func allowedRootsAndBucketsResolveAsAtImport() throws {
        let folder = Self.root.appendingPathComponent(UUID().uuidString)
        let elsewhere = Self.root.appendingPathComponent(UUID().uuidString)
        for directory in [folder, elsewhere] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let manifest = folder.appendingPathComponent("m.csv")
        try Data("TEST,\(elsewhere.path)/a.png,cat\nTEST,gs://bucket/b.png,dog\n".utf8).write(to: manifest)
        let refused = try BatchPrediction.images(inManifest: manifest)
        #expect(refused.images.isEmpty)
        #expect(refused.skipped.count == 2 && refused.skipped[0].contains("--allow-root"))
        let listed = try BatchPrediction.images(inManifest: manifest, extraRoots: [elsewhere], bucketMap: ["bucket": elsewhere])
        #expect(listed.skipped.isEmpty)
        #expect(listed.images.map(\.path) == ["\(elsewhere.path)/a.png", "\(elsewhere.path)/b.png"])
    }

    @Test func theCSVHasTheBestLabelOfEachImageAndEmptyFieldsForAFailedOne() {
        let results = [
            ImagePrediction(image: "a,b.png", predictions: [Prediction(label: "cat", score: 0.75), Prediction(label: "dog", score: 0.25)]),
            ImagePrediction(image: "c.png", error: "not an image"),
        ]
        #expect(BatchPrediction.csv(results) == "image,label,score\n\"a,b.png\",cat,0.750000\nc.png,,\n")
    }
}
