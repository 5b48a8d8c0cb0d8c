import Foundation
import Testing
@testable import Evaluation

/// One fixture written by `Scripts/make_metric_fixtures.py`: inputs and scikit-learn's outputs.
struct MetricFixture: Decodable, CustomTestStringConvertible {
    struct Threshold: Decodable { var precision: Double; var recall: Double }
    struct Expected: Decodable {
        var accuracy: Double
        var predicted: [Int]
        var top_k_accuracy: [String: Double]
        var confusion_matrix: [[Int]]
        var confusion_matrix_normalized: [[Double]]
        var precision: [Double]
        var recall: [Double]
        var f1: [Double]
        var support: [Int]
        var auc: [Double?]
        var average_precision: [Double?]
        var macro_auc: Double
        var macro_average_precision: Double
        var excluded_from_macro: [Int]
        var micro_auc: Double
        var log_loss: Double
        var threshold: [String: Threshold]
        struct PerLabel: Decodable { var precision: [Double]; var recall: [Double]; var f1: [Double] }
        /// Each label's one-vs-rest metrics at each threshold, and the confusion matrix with a "no prediction" column.
        var threshold_per_label: [String: PerLabel]
        var threshold_confusion_matrix: [String: [[Int]]]
    }
    var name: String
    var classes: Int
    var labels: [Int]
    var probabilities: [Float]
    var expected: Expected

    var testDescription: String { name }
    var classNames: [String] { (0..<classes).map { "class \($0)" } }
    func scores() throws -> ClassificationScores {
        try ClassificationScores(probabilities: probabilities, labels: labels, classCount: classes)
    }

    static let all: [MetricFixture] = {
        guard let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasPrefix("metrics_") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
            return try? JSONDecoder().decode(MetricFixture.self, from: data)
        }
    }()
}

/// |a − b| ≤ 1e-6 · max(1, |b|): relative for large values, absolute near zero.
func close(_ a: Double?, _ b: Double?, tolerance: Double = 1e-6) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case let (a?, b?): abs(a - b) <= tolerance * max(1, abs(b))
    default: false
    }
}

func close(_ a: [Double?], _ b: [Double?]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { close($0, $1) } }

@Suite("Metrics against scikit-learn")
struct SklearnAgreementTests {
    @Test func fixturesAreLoaded() {
        #expect(Set(MetricFixture.all.map(\.name)) == ["dirichlet", "ties", "never_predicted", "support_zero", "perfect"])
    }

    @Test(arguments: MetricFixture.all)
    func accuracyAndArgmax(_ f: MetricFixture) throws {
        let s = try f.scores()
        #expect(s.predictedLabels == f.expected.predicted)
        #expect(close(s.accuracy(), f.expected.accuracy))
    }

    @Test(arguments: MetricFixture.all)
    func topK(_ f: MetricFixture) throws {
        let s = try f.scores()
        for (k, value) in f.expected.top_k_accuracy {
            #expect(close(try s.topKAccuracy(k: Int(k)!), value), "k = \(k)")
        }
        #expect(try s.topKAccuracy(k: f.classes) == 1)
    }

    @Test(arguments: MetricFixture.all)
    func confusionMatrix(_ f: MetricFixture) throws {
        let s = try f.scores()
        #expect(s.confusionMatrix() == f.expected.confusion_matrix)
        let normalized = s.normalizedConfusionMatrix()
        #expect(close(normalized.flatMap { $0 }, f.expected.confusion_matrix_normalized.flatMap { $0 }))
    }

    @Test(arguments: MetricFixture.all)
    func precisionRecallF1Support(_ f: MetricFixture) throws {
        let rows = try f.scores().precisionRecall()
        #expect(close(rows.map(\.precision), f.expected.precision))
        #expect(close(rows.map(\.recall), f.expected.recall))
        #expect(close(rows.map(\.f1), f.expected.f1))
        #expect(rows.map(\.support) == f.expected.support)
    }

    @Test(arguments: MetricFixture.all)
    func rocAUC(_ f: MetricFixture) throws {
        let s = try f.scores()
        #expect(close(s.rocAUCPerClass(), f.expected.auc))
        #expect(close(s.macroROCAUC(), f.expected.macro_auc))
        #expect(close(s.microROCAUC(), f.expected.micro_auc))
    }

    @Test(arguments: MetricFixture.all)
    func averagePrecision(_ f: MetricFixture) throws {
        let s = try f.scores()
        #expect(close(s.averagePrecisionPerClass(), f.expected.average_precision))
        #expect(close(s.macroAveragePrecision(), f.expected.macro_average_precision))
    }

    @Test(arguments: MetricFixture.all)
    func logLoss(_ f: MetricFixture) throws {
        #expect(close(try f.scores().logLoss(), f.expected.log_loss))
    }

    @Test(arguments: MetricFixture.all)
    func thresholdPrecisionRecall(_ f: MetricFixture) throws {
        let s = try f.scores()
        for (t, expected) in f.expected.threshold {
            let m = try s.thresholdMetrics(threshold: Double(t)!)
            #expect(close(m.precision, expected.precision), "threshold \(t)")
            #expect(close(m.recall, expected.recall), "threshold \(t)")
        }
    }

    @Test(arguments: MetricFixture.all)
    func reportSectionMatches(_ f: MetricFixture) throws {
        let test = try TestEvaluation(probabilities: f.probabilities, labels: f.labels, classNames: f.classNames)
        #expect(close(test.accuracy, f.expected.accuracy))
        #expect(close(test.macroAUC, f.expected.macro_auc))
        #expect(close(test.microAUC, f.expected.micro_auc))
        #expect(close(test.averagePrecision, f.expected.macro_average_precision))
        #expect(close(test.logLoss, f.expected.log_loss))
        #expect(close(test.precisionAtThreshold, f.expected.threshold["0.5"]?.precision))
        #expect(close(test.recallAtThreshold, f.expected.threshold["0.5"]?.recall))
        #expect(close(test.perClass.map(\.auc), f.expected.auc))
        #expect(close(test.perClass.map(\.averagePrecision), f.expected.average_precision))
        #expect(test.excludedFromMacro == f.expected.excluded_from_macro.map { "class \($0)" })
        #expect(test.confusionMatrix.counts == f.expected.confusion_matrix)
        for (k, value) in test.topKAccuracy { #expect(close(value, f.expected.top_k_accuracy[k]), "k = \(k)") }
    }
}

@Suite("Fixture edge cases are what they claim")
struct FixtureShapeTests {
    func fixture(_ name: String) throws -> MetricFixture {
        try #require(MetricFixture.all.first { $0.name == name })
    }

    @Test func tiesAreMany() throws {
        let f = try fixture("ties")
        #expect(Set(f.probabilities).count <= 11)
    }

    @Test func neverPredictedClassHasZeroPrecision() throws {
        let f = try fixture("never_predicted")
        let rows = try f.scores().precisionRecall()
        #expect(!f.expected.predicted.contains(3))
        #expect(rows[3].support > 0 && rows[3].precision == 0 && rows[3].f1 == 0)
    }

    @Test func supportZeroClassIsNullAndExcluded() throws {
        let f = try fixture("support_zero")
        let test = try TestEvaluation(probabilities: f.probabilities, labels: f.labels, classNames: f.classNames)
        #expect(test.perClass[2].support == 0)
        #expect(test.perClass[2].auc == nil && test.perClass[2].averagePrecision == nil)
        #expect(test.excludedFromMacro == ["class 2"])
        let json = try JSONSerialization.jsonObject(with: try EvaluationReport(test: test).jsonData()) as! [String: Any]
        let perClass = (json["test"] as! [String: Any])["per_class"] as! [[String: Any]]
        #expect(perClass[2]["auc"] is NSNull && perClass[2]["average_precision"] is NSNull)
    }

    @Test func perfectClassifier() throws {
        let s = try fixture("perfect").scores()
        #expect(s.accuracy() == 1 && s.macroROCAUC() == 1 && s.microROCAUC() == 1 && s.macroAveragePrecision() == 1)
        #expect(s.logLoss() < 2e-7)
        #expect(s.misclassified().isEmpty && s.mostConfused().isEmpty)
    }
}
