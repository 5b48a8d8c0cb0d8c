import Foundation
import Testing
@testable import Evaluation

/// Issue 19: the report always states the majority-class baseline beside the accuracy, and warns
/// when the model is no better than it.
@Suite struct BaselineReportTests {
    /// Eight TEST examples, six of class `big`; the model answers a rare class for every one.
    func report(correct: Bool, validation: (Double, Double)? = nil) throws -> EvaluationReport {
        let labels = [0, 0, 0, 0, 0, 0, 1, 2]
        let probabilities = labels.flatMap { label -> [Float] in
            correct ? (0..<3).map { $0 == label ? 0.8 : 0.1 } : [0.1, 0.1, 0.8]
        }
        let test = try TestEvaluation(probabilities: probabilities, labels: labels, classNames: ["big", "medium", "rare"], majorityClass: 0)
        let model = validation.map { ModelSummary(architecture: "a", parameters: 1, flops: 1, validationScore: $0.0, validationBaselineScore: $0.1) }
        return EvaluationReport(test: test, model: model)
    }

    @Test func aModelBelowTheBaselineIsFlaggedEverywhere() throws {
        let bad = try report(correct: false, validation: (0.0013, 0.266))
        #expect(bad.test?.baseline == MajorityBaseline(majorityClass: "big", accuracy: 0.75))
        #expect(bad.warnings.count == 2, "\(bad.warnings)")
        #expect(bad.warnings[0].contains("no better than always answering 'big'") && bad.warnings[0].contains("12.50%"), "\(bad.warnings)")
        #expect(bad.warnings[1].contains("VALIDATION") && bad.warnings[1].contains("0.13%"), "\(bad.warnings)")
        #expect(bad.terminalSummary().contains("WARNING: the model is no better than always answering 'big'"))
        #expect(bad.terminalSummary().contains("majority-class baseline (always 'big'): 75.0%"))
        #expect(bad.html().contains("<strong>Warning:</strong>"))
        let json = try JSONSerialization.jsonObject(with: bad.jsonData()) as! [String: Any]
        #expect((json["warnings"] as? [String])?.count == 2)
        let baseline = try #require((json["test"] as? [String: Any])?["baseline"] as? [String: Any])
        #expect(baseline["majority_class"] as? String == "big" && baseline["accuracy"] as? Double == 0.75)
        #expect(try EvaluationReport.decode(from: bad.jsonData()) == bad)
    }

    @Test func aModelAboveTheBaselineHasNoWarningButStillShowsIt() throws {
        let good = try report(correct: true, validation: (0.95, 0.75))
        #expect(good.warnings.isEmpty)
        #expect(good.terminalSummary().contains("majority-class baseline (always 'big'): 75.0%"))
        #expect(!good.html().contains("<strong>Warning:</strong>"))
        let json = try JSONSerialization.jsonObject(with: good.jsonData()) as! [String: Any]
        #expect((json["warnings"] as? [String]) == [])
    }
}
