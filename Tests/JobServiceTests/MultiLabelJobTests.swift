import Datasets
import Foundation
import JobService
import Search
import Testing
import TestSupport

/// Issue 24: a multi-label manifest trains end to end, its report has every multi-label metric with
/// the baseline, and the served model answers what the report measured.
@Suite(.serialized) struct MultiLabelJobTests {
    static let root = processScratchDirectory(prefix: "autovision-multilabel-tests-")

    static func pairs() throws -> URL {
        let folder = root.appendingPathComponent("pairs")
        let manifest = folder.appendingPathComponent("manifest.csv")
        if FileManager.default.fileExists(atPath: manifest.path) { return manifest }
        return try FashionMNISTPairs.write(to: folder)
    }

    @Test func aMultiLabelJobTrainsEvaluatesAndServes() throws {
        let manifest = try Self.pairs()
        var options = TrainingJobOptions(manifest: manifest, budget: Budget(seconds: 45))
        options.jobsDirectory = Self.root.appendingPathComponent("jobs")
        options.importOptions.multiLabel = true
        let job = try TrainingJob(options: options, store: InMemoryJobStore(jobsDirectory: options.jobsDirectory))
        let report = try #require(try job.run())
        let test = try #require(report.multiLabelTest)
        #expect(report.test == nil && report.multiLabel)
        let mAP = try #require(test.meanAveragePrecision), baseline = try #require(test.baseline.meanAveragePrecision)
        #expect(mAP > baseline + 0.3, "mean AP \(mAP) against the prevalence baseline's \(baseline)")
        #expect(report.warnings.isEmpty, "\(report.warnings)")
        #expect(test.perLabel.map(\.label) == FashionMNISTPairs.labels.sorted())
        #expect(test.examples == 100 && test.labelCardinality > 1)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: job.folder.reportURL)) as! [String: Any]
        #expect(json["multi_label"] as? Bool == true)
        let section = try #require(json["test"] as? [String: Any])
        for key in ["mean_average_precision", "per_label", "hamming_loss", "baseline", "subset_accuracy", "micro_f1", "macro_f1"] {
            #expect(section[key] != nil, "test.\(key)")
        }
        let record = try job.folder.readRecord()
        #expect(record.state == .succeeded && record.testAccuracy == test.subsetAccuracy)

        // The served model: every label over its threshold, as the report's subset accuracy counted.
        let predictor = try Predictor(folder: job.folder)
        #expect(predictor.multiLabel && predictor.thresholds == test.perLabel.map(\.threshold))
        let rows = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("TEST,") }
        var exact = 0
        for row in rows {
            let fields = row.split(separator: ",").map(String.init)
            let bytes = [UInt8](try Data(contentsOf: manifest.deletingLastPathComponent().appendingPathComponent(fields[1])))
            let labels = predictor.predictedLabels(try predictor.predict(images: [bytes])[0]).map(\.label)
            if Set(labels) == Set(fields.dropFirst(2)) { exact += 1 }
        }
        #expect(Double(exact) / Double(rows.count) == test.subsetAccuracy)
    }
}
