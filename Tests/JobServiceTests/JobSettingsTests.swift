import Datasets
import Foundation
import JobService
import Search
import Testing

/// A job `autovision train` started and the server resumes runs with every option it started with:
/// they are kept in the store (`jobs.settings`) and in `job.json`.
@Suite struct JobSettingsTests {
    @Test func everyOptionOfACommandLineJobSurvivesTheStore() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("autovision-settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var options = TrainingJobOptions(manifest: root.appendingPathComponent("m.csv"), budget: Budget(seconds: 300))
        options.jobsDirectory = root.appendingPathComponent("jobs")
        options.seed = 7
        options.scoreThreshold = 0.3
        options.searchFraction = 0.4
        options.testTimeAugmentation = false
        options.startingArchitecture = "resnet"
        options.earlyStopping = false
        let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)
        options.fixedCandidate = GivenCandidate(candidate: space.startingArchitectures()[1], trialImageEpochs: 24_000)
        options.importOptions.workingSize = 48
        options.importOptions.maxPixels = 1_000_000
        options.importOptions.maxFileBytes = 5_000_000
        options.importOptions.multiLabel = false
        options.importOptions.extraRoots = [URL(fileURLWithPath: "/data/more")]
        options.importOptions.bucketMap = ["gs://bucket": URL(fileURLWithPath: "/data/bucket")]

        let store = try SQLiteJobStore(jobsDirectory: options.jobsDirectory)
        let job = try TrainingJob(options: options, store: store)
        let stored = try #require(try store.job(job.id))
        #expect(try job.folder.readRecord().settings == stored.settings, "job.json keeps them too")

        // As `JobRunner` rebuilds the options of a job it resumes.
        let resumed = TrainingJobOptions(resuming: stored, jobsDirectory: options.jobsDirectory, datasetImportOptions: nil)
        #expect(resumed.manifest == options.manifest && resumed.budget == options.budget && resumed.seed == 7)
        #expect(resumed.scoreThreshold == 0.3 && resumed.searchFraction == 0.4 && resumed.testTimeAugmentation == false)
        #expect(resumed.startingArchitecture == "resnet" && !resumed.earlyStopping)
        #expect(resumed.fixedCandidate == options.fixedCandidate)
        let imports = resumed.importOptions
        #expect(imports.workingSize == 48 && imports.maxPixels == 1_000_000 && imports.maxFileBytes == 5_000_000 && !imports.multiLabel)
        #expect(imports.extraRoots.map(\.path) == ["/data/more"])
        #expect(imports.bucketMap.mapValues(\.path) == ["gs://bucket": "/data/bucket"])
    }

    @Test func aJobCreatedOverHTTPTakesItsDatasetsImportOptions() {
        var record = JobRecord(id: "j", manifest: "/x/manifest.csv", budgetSeconds: 60, seed: 1)
        record.datasetID = "ds"
        var datasetOptions = ImportOptions()
        datasetOptions.extraRoots = [URL(fileURLWithPath: "/root/of/dataset")]
        let options = TrainingJobOptions(resuming: record, jobsDirectory: URL(fileURLWithPath: "/jobs"), datasetImportOptions: datasetOptions)
        #expect(options.importOptions.extraRoots.map(\.path) == ["/root/of/dataset"])
        #expect(options.startingArchitecture == nil && options.fixedCandidate == nil && options.scoreThreshold == 0.5)
    }
}
