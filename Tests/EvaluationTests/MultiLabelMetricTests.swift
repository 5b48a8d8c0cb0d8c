import Foundation
import Testing
@testable import Evaluation

/// One fixture written by `Scripts/make_multilabel_fixtures.py`: inputs and scikit-learn's outputs.
struct MultiLabelFixture: Decodable, CustomTestStringConvertible {
    struct Point: Decodable { var precision: Double; var recall: Double }
    struct Baseline: Decodable {
        var mean_average_precision: Double
        var micro_f1: Double
        var macro_f1: Double
        var subset_accuracy: Double
        var hamming_loss: Double
    }
    struct Expected: Decodable {
        var thresholds: [Double]
        var precision: [Double]
        var recall: [Double]
        var f1: [Double]
        var support: [Int]
        var average_precision: [Double?]
        var auc: [Double?]
        var mean_average_precision: Double
        var micro_precision: Double
        var micro_recall: Double
        var micro_f1: Double
        var macro_f1: Double
        var subset_accuracy: Double
        var hamming_loss: Double
        var label_cardinality: Double
        var predicted_label_cardinality: Double
        var co_occurrence: [[Int]]
        var confidence: [String: Point]
        var baseline: Baseline
    }
    var name: String
    var labels: Int
    var validation_targets: [UInt8]
    var validation_scores: [Float]
    var test_targets: [UInt8]
    var test_scores: [Float]
    var train_prevalence: [Double]
    var expected: Expected

    var testDescription: String { name }
    var labelNames: [String] { (0..<labels).map { "label \($0)" } }

    static let all: [MultiLabelFixture] = {
        guard let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasPrefix("multilabel_") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
            return try? JSONDecoder().decode(MultiLabelFixture.self, from: data)
        }
    }()
}

@Suite("Multi-label metrics against scikit-learn")
struct MultiLabelMetricTests {
    @Test func everyFixtureLoads() {
        #expect(MultiLabelFixture.all.map(\.name) == ["edges", "perfect", "sigmoid", "ties"])
    }

    @Test(arguments: MultiLabelFixture.all)
    func thresholdsMaximiseEachLabelsF1OnValidation(_ f: MultiLabelFixture) throws {
        let validation = try MultiLabelScores(scores: f.validation_scores, targets: f.validation_targets, labelCount: f.labels)
        #expect(close(LabelThresholds.maximizingF1(validation), f.expected.thresholds))
    }

    @Test(arguments: MultiLabelFixture.all)
    func testMetricsAtTheThresholds(_ f: MultiLabelFixture) throws {
        let scores = try MultiLabelScores(scores: f.test_scores, targets: f.test_targets, labelCount: f.labels)
        let e = f.expected
        let m = try MultiLabelEvaluation(scores: scores, labelNames: f.labelNames, thresholds: e.thresholds, trainPrevalence: f.train_prevalence)
        #expect(close(m.perLabel.map(\.precision), e.precision))
        #expect(close(m.perLabel.map(\.recall), e.recall))
        #expect(close(m.perLabel.map(\.f1), e.f1))
        #expect(m.perLabel.map(\.support) == e.support)
        #expect(close(m.perLabel.map(\.averagePrecision), e.average_precision))
        #expect(close(m.perLabel.map(\.auc), e.auc))
        #expect(close(m.meanAveragePrecision, e.mean_average_precision))
        #expect(close(m.microPrecision, e.micro_precision) && close(m.microRecall, e.micro_recall) && close(m.microF1, e.micro_f1))
        #expect(close(m.macroF1, e.macro_f1))
        #expect(close(m.subsetAccuracy, e.subset_accuracy) && close(m.hammingLoss, e.hamming_loss))
        #expect(close(m.labelCardinality, e.label_cardinality) && close(m.predictedLabelCardinality, e.predicted_label_cardinality))
        #expect(m.coOccurrence.counts == e.co_occurrence)
        for (key, point) in e.confidence {
            let row = try #require(m.confidenceMetrics.first { abs($0.threshold - Double(key)!) < 1e-9 })
            #expect(close(row.precision, point.precision) && close(row.recall, point.recall), "threshold \(key)")
        }
        #expect(m.confidenceMetrics.count == 101)
        let b = m.baseline
        #expect(close(b.meanAveragePrecision, e.baseline.mean_average_precision))
        #expect(close(b.microF1, e.baseline.micro_f1) && close(b.macroF1, e.baseline.macro_f1))
        #expect(close(b.subsetAccuracy, e.baseline.subset_accuracy) && close(b.hammingLoss, e.baseline.hamming_loss))
    }

    /// The report writes the multi-label section under `test` with `multi_label: true`, reads it
    /// back, and says loudly when the model is no better than the prevalence baseline.
    @Test func reportRoundTripsAndWarnsAtTheBaseline() throws {
        let f = try #require(MultiLabelFixture.all.first { $0.name == "sigmoid" })
        let good = try MultiLabelEvaluation(
            scores: try MultiLabelScores(scores: f.test_scores, targets: f.test_targets, labelCount: f.labels),
            labelNames: f.labelNames, thresholds: f.expected.thresholds, trainPrevalence: f.train_prevalence)
        let report = EvaluationReport(multiLabelTest: good, jobID: "j")
        #expect(report.warnings.isEmpty)
        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        #expect(json["multi_label"] as? Bool == true)
        let test = try #require(json["test"] as? [String: Any])
        for key in ["mean_average_precision", "per_label", "hamming_loss", "baseline", "micro_f1", "macro_f1", "subset_accuracy",
                    "label_cardinality", "co_occurrence", "confidence_metrics"] {
            #expect(test[key] != nil, "test.\(key)")
        }
        #expect(try EvaluationReport.decode(from: report.jsonData()).multiLabelTest == good)
        #expect(report.terminalSummary().contains("mean AP") && report.html().contains("Co-occurrence"))

        // Scores that rank nothing (every image the same): mean AP falls to the baseline's.
        let flat = try MultiLabelEvaluation(
            scores: try MultiLabelScores(scores: f.test_scores.map { _ in 0.5 }, targets: f.test_targets, labelCount: f.labels),
            labelNames: f.labelNames, thresholds: f.expected.thresholds, trainPrevalence: f.train_prevalence)
        let bad = EvaluationReport(multiLabelTest: flat)
        #expect(bad.warnings.count == 1 && bad.warnings[0].contains("TRAIN prevalence"), "\(bad.warnings)")
        #expect(bad.terminalSummary().contains("WARNING"))
    }
}
