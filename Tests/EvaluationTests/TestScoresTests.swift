import Foundation
import Testing
@testable import Evaluation

/// `TestScores`: the evaluation at a threshold, the per-label curves and the example selections,
/// against scikit-learn (`Scripts/make_metric_fixtures.py`) and against the report's own figures.
@Suite("Per-example TEST scores")
struct TestScoresTests {
    static func scores(_ f: MetricFixture) throws -> TestScores {
        try TestScores(labels: f.classNames, examples: f.labels.indices.map { i in
            TestScores.Example(image: 100 + i, line: 2 + i, labels: [f.labels[i]], scores: Array(f.probabilities[i * f.classes..<(i + 1) * f.classes]))
        })
    }

    @Test(arguments: MetricFixture.all)
    func perLabelMetricsAndMatrixAtAThresholdAreScikitLearns(_ f: MetricFixture) throws {
        let scores = try Self.scores(f)
        for (key, expected) in f.expected.threshold_per_label {
            let at = try scores.evaluation(at: Double(key)!)
            #expect(close(at.perLabel.map(\.precision), expected.precision), "threshold \(key)")
            #expect(close(at.perLabel.map(\.recall), expected.recall), "threshold \(key)")
            #expect(close(at.perLabel.map(\.f1), expected.f1), "threshold \(key)")
            #expect(at.confusionMatrix?.counts == f.expected.threshold_confusion_matrix[key], "threshold \(key)")
            #expect(close(at.precision, f.expected.threshold[key]!.precision) && close(at.recall, f.expected.threshold[key]!.recall))
        }
    }

    @Test(arguments: MetricFixture.all)
    func agreesWithTheReportAtEveryThreshold(_ f: MetricFixture) throws {
        let scores = try Self.scores(f)
        let report = try TestEvaluation(probabilities: f.probabilities, labels: f.labels, classNames: f.classNames)
        for point in report.confidenceMetrics ?? [] {
            let at = try scores.evaluation(at: point.threshold)
            #expect(at.precision == point.precision && at.recall == point.recall && at.f1 == point.f1, "threshold \(point.threshold)")
        }
        // At 0 every top label reaches the threshold: the report's matrix, and an empty last column.
        let zero = try #require(try scores.evaluation(at: 0).confusionMatrix).counts
        #expect(zero.map { Array($0.dropLast()) } == report.confusionMatrix.counts)
        #expect(zero.allSatisfy { $0.last == 0 })
        let curves = scores.curves()
        #expect(curves.map(\.averagePrecision) == report.perClass.map(\.averagePrecision))
        #expect(curves.map(\.support) == report.perClass.map(\.support))
        for (c, curve) in curves.enumerated() {
            #expect(curve.confidenceMetrics.count == 101)
            let mid = try scores.evaluation(at: 0.5).perLabel[c]
            #expect(curve.confidenceMetrics[50].precision == mid.precision && curve.confidenceMetrics[50].recall == mid.recall)
        }
    }

    @Test(arguments: MetricFixture.all)
    func selectionsMatchTheCountsAndComeMostConfidentFirst(_ f: MetricFixture) throws {
        let scores = try Self.scores(f)
        for threshold in [0.0, 0.3, 0.5, 0.9] {
            let at = try scores.evaluation(at: threshold)
            let matrix = try #require(at.confusionMatrix).counts
            for c in 0..<f.classes {
                let positives = scores.indices(.falsePositives(c), threshold: threshold)
                let negatives = scores.indices(.falseNegatives(c), threshold: threshold)
                #expect(positives.count == at.perLabel[c].falsePositives && negatives.count == at.perLabel[c].falseNegatives)
                #expect(zip(positives, positives.dropFirst()).allSatisfy { scores.examples[$0].scores[c] >= scores.examples[$1].scores[c] })
                #expect(zip(negatives, negatives.dropFirst()).allSatisfy { scores.examples[$0].scores[c] <= scores.examples[$1].scores[c] })
                #expect(positives.allSatisfy { !scores.examples[$0].has(c) } && negatives.allSatisfy { scores.examples[$0].has(c) })
                for p in 0...f.classes {
                    let cell = scores.indices(.cell(trueLabel: c, predicted: p < f.classes ? p : nil), threshold: threshold)
                    #expect(cell.count == matrix[c][p], "cell (\(c), \(p)) at \(threshold)")
                }
                #expect(scores.indices(.all(trueLabel: c), threshold: threshold).count == matrix[c].reduce(0, +))
            }
            #expect(scores.indices(.all(trueLabel: nil), threshold: threshold).sorted() == Array(scores.examples.indices))
        }
    }

    @Test func theFileRoundTripsAndADamagedOneIsRefused() throws {
        let f = try #require(MetricFixture.all.first)
        let scores = try Self.scores(f)
        let decoded = try TestScores.decode(try scores.jsonData())
        #expect(decoded.examples == scores.examples && decoded.labels == scores.labels)
        #expect(throws: EvaluationError.self) { try TestScores.decode(Data("{\"labels\":[\"a\"],\"examples\":[{\"image\":0,\"line\":1,\"labels\":[0],\"scores\":[0.5,0.5]}]}".utf8)) }
        #expect(throws: EvaluationError.self) { try TestScores.decode(Data("{\"labels\":[\"a\"],\"examples\":[{\"image\":0,\"line\":1,\"labels\":[3],\"scores\":[1]}]}".utf8)) }
        #expect(throws: EvaluationError.self) { try TestScores.decode(Data("not json".utf8)) }
        #expect(throws: EvaluationError.invalidThreshold(1.5)) { try scores.evaluation(at: 1.5) }
        // A single-label example with two labels, and a multi-label one with none (allowed).
        #expect(throws: EvaluationError.self) { try TestScores(labels: ["a", "b"], examples: [.init(image: 0, line: 1, labels: [0, 1], scores: [1, 0])]) }
        #expect(try TestScores(labels: ["a", "b"], multiLabel: true, examples: [.init(image: 0, line: 1, labels: [], scores: [0.2, 0.1])]).multiLabel)
    }

    static func scores(_ f: MultiLabelFixture) throws -> TestScores {
        try TestScores(labels: f.labelNames, multiLabel: true, examples: (0..<f.test_targets.count / f.labels).map { i in
            TestScores.Example(image: i, line: 2 + i, labels: (0..<f.labels).filter { f.test_targets[i * f.labels + $0] != 0 },
                               scores: Array(f.test_scores[i * f.labels..<(i + 1) * f.labels]))
        })
    }

    @Test(arguments: MultiLabelFixture.all)
    func aMultiLabelModelsScoresAgreeWithItsReport(_ f: MultiLabelFixture) throws {
        let scores = try Self.scores(f)
        let report = try MultiLabelEvaluation(scores: try MultiLabelScores(scores: f.test_scores, targets: f.test_targets, labelCount: f.labels),
                                              labelNames: f.labelNames, thresholds: f.expected.thresholds, trainPrevalence: f.train_prevalence)
        for point in report.confidenceMetrics {
            let at = try scores.evaluation(at: point.threshold)
            #expect(at.precision == point.precision && at.recall == point.recall && at.f1 == point.f1, "threshold \(point.threshold)")
            #expect(at.confusionMatrix == nil)
        }
        #expect(scores.curves().map(\.averagePrecision) == report.perLabel.map(\.averagePrecision))
        #expect(close(scores.curves().map(\.averagePrecision), f.expected.average_precision))
        for threshold in [0.0, 0.3, 0.5, 0.9] {
            let at = try scores.evaluation(at: threshold)
            for c in 0..<f.labels {
                #expect(scores.indices(.falsePositives(c), threshold: threshold).count == at.perLabel[c].falsePositives)
                #expect(scores.indices(.falseNegatives(c), threshold: threshold).count == at.perLabel[c].falseNegatives)
                #expect(scores.indices(.all(trueLabel: c), threshold: threshold).count == report.perLabel[c].support)
            }
        }
    }
}
