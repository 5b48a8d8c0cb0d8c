import Energy
import Foundation
import Testing
@testable import Evaluation

/// A three-class report with a hostile label, a class without TEST examples, every section filled.
func sampleReport(thumbnails: Bool = true) throws -> EvaluationReport {
    let names = ["<b>&\"x\"", "chat 🐱", "it's"]
    let probabilities: [Float] = [
        0.7, 0.2, 0.1,
        0.2, 0.5, 0.3,
        0.6, 0.3, 0.1,
        0.1, 0.8, 0.1,
        0.4, 0.4, 0.2,
    ]
    var test = try TestEvaluation(
        probabilities: probabilities, labels: [0, 1, 1, 1, 0], classNames: names,
        references: (0..<5).map { "images/\($0)<.png" })
    if thumbnails { test.attachThumbnails { Data([0x89, 0x50, 0x4E, 0x47, UInt8($0)]) } }
    return EvaluationReport(
        test: test, jobID: "job-1", createdAt: Date(timeIntervalSince1970: 1_700_000_000),
        dataset: DatasetSummary(manifest: "m.csv", partitions: ["TEST": ["<b>&\"x\"": 2]], notes: ["VALIDATION carved from TRAIN <10%>"]),
        search: SearchLog(strategy: "ASHA", trials: [
            TrialSummary(id: 0, architecture: "conv<3>", parameters: 1000, flops: 20000, epochs: 1, validationScore: 0.5, seconds: 10),
            TrialSummary(id: 1, architecture: "res", parameters: 2000, flops: 40000, epochs: 3, validationScore: .nan, seconds: 12),
            TrialSummary(id: 2, architecture: "res", parameters: 2000, flops: 40000, epochs: 9, validationScore: 0.8, seconds: 30,
                         energy: EnergyUse(estimatedJoules: 120, cpuSeconds: 30, wattsPerCore: 4, gridIntensity: 475)),
        ], pickedTrial: 0),
        budget: BudgetSummary(requestedSeconds: 600, usedSeconds: 590.5, stopReason: "budget_reached", importSeconds: 3.2),
        machine: MachineInfo(cpu: "Test CPU", cores: 2, os: "Linux", memoryBytes: 8 << 30),
        model: ModelSummary(architecture: "res", parameters: 2000, flops: 40000),
        energy: EnergyUse(estimatedJoules: 3600, cpuSeconds: 900, wattsPerCore: 4, gridIntensity: 475))
}

@Suite("EvaluationReport renderings")
struct ReportTests {
    @Test func jsonHasStableKeys() throws {
        let data = try sampleReport().jsonData()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["test", "dataset", "search", "budget", "machine", "model", "job_id", "created_at", "energy"] {
            #expect(json.keys.contains(key), "\(key)")
        }
        let energy = try #require(json["energy"] as? [String: Any])
        #expect(energy["kwh"] as? Double == 0.001 && abs((energy["gco2e"] as? Double ?? 0) - 0.475) < 1e-12 && energy["method"] as? String == "cpu-time estimate")
        #expect(energy["watts_per_core"] as? Double == 4 && energy["grid_intensity_gco2e_per_kwh"] as? Double == 475)
        let test = try #require(json["test"] as? [String: Any])
        for key in ["accuracy", "top_k_accuracy", "macro_auc", "micro_auc", "average_precision", "log_loss",
                    "precision_at_threshold", "recall_at_threshold", "score_threshold", "per_class",
                    "confusion_matrix", "most_confused", "misclassified", "excluded_from_macro"] {
            #expect(test.keys.contains(key), "test.\(key)")
        }
        let confidence = try #require(test["confidence_metrics"] as? [[String: Double]])
        #expect(confidence.count == 101 && confidence.first?["threshold"] == 0 && confidence.last?["threshold"] == 1)
        #expect(confidence[50]["precision"] == test["precision_at_threshold"] as? Double)
        // At 0.3, by hand: 8 (example, class) pairs reach it, the 5 true ones among them.
        #expect(confidence[30]["threshold"] == 0.3 && confidence[30]["precision"] == 0.625 && confidence[30]["recall"] == 1)
        #expect(abs(confidence[30]["f1", default: 0] - 2 * 0.625 / 1.625) < 1e-12)
        let perClass = try #require(test["per_class"] as? [[String: Any]])
        for key in ["label", "precision", "recall", "f1", "support", "auc", "average_precision"] {
            #expect(perClass.allSatisfy { $0.keys.contains(key) }, "per_class.\(key)")
        }
        #expect(perClass[2]["auc"] is NSNull)  // "it's" has no TEST examples
        #expect(test["excluded_from_macro"] as? [String] == ["it's"])
        let matrix = try #require(test["confusion_matrix"] as? [String: Any])
        #expect(matrix["labels"] as? [String] == ["<b>&\"x\"", "chat 🐱", "it's"])
        #expect(matrix["counts"] as? [[Int]] == [[2, 0, 0], [1, 2, 0], [0, 0, 0]])
        #expect(matrix["normalized"] is [[Double]])
        let misclassified = try #require(test["misclassified"] as? [[String: Any]])
        for key in ["index", "true_label", "predicted_label", "score", "reference", "thumbnail_png_base64"] {
            #expect(misclassified.allSatisfy { $0.keys.contains(key) }, "misclassified.\(key)")
        }
        let budget = try #require(json["budget"] as? [String: Any])
        #expect(budget["requested_seconds"] as? Double == 600 && budget["used_seconds"] as? Double == 590.5)
        #expect(budget.keys.contains("stop_reason") && budget.keys.contains("import_seconds"))
        let trials = try #require((json["search"] as? [String: Any])?["trials"] as? [[String: Any]])
        for key in ["id", "architecture", "parameters", "flops", "epochs", "validation_accuracy", "seconds", "energy"] {
            #expect(trials.allSatisfy { $0.keys.contains(key) }, "trials.\(key)")
        }
        #expect(trials[0]["energy"] is NSNull && (trials[2]["energy"] as? [String: Any])?["joules"] as? Double == 120)
        #expect((json["search"] as? [String: Any])?["picked_trial"] as? Int == 0)
        let machine = try #require(json["machine"] as? [String: Any])
        #expect(Set(machine.keys) == ["cpu", "cores", "os", "memory_bytes"])
        #expect(Set((json["model"] as? [String: Any] ?? [:]).keys) == ["architecture", "parameters", "flops"])
        #expect(Set((json["dataset"] as? [String: Any] ?? [:]).keys) == ["manifest", "partitions", "notes"])
    }

    @Test func absentSectionsAreNull() throws {
        let test = try TestEvaluation(probabilities: [1, 0, 0, 1], labels: [0, 1], classNames: ["a", "b"])
        let json = try #require(try JSONSerialization.jsonObject(with: EvaluationReport(test: test).jsonData(pretty: false)) as? [String: Any])
        for key in ["dataset", "search", "budget", "machine", "model", "job_id", "energy"] { #expect(json[key] is NSNull, "\(key)") }
    }

    @Test func jsonRoundTrips() throws {
        var report = try sampleReport()
        report.search?.trials[1].validationScore = nil  // NaN is written as null, which decodes as nil
        let data = try report.jsonData()
        let decoded = try EvaluationReport.decode(from: data)
        #expect(decoded == report)
        #expect(try decoded.jsonData() == data)
    }

    @Test func nanNeverReachesJSON() throws {
        var report = try sampleReport()
        report.test!.macroAUC = .nan
        report.test!.logLoss = .infinity
        report.test!.confusionMatrix.normalized[2][2] = .nan
        report.budget?.importSeconds = .nan
        let text = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(!text.lowercased().contains("nan") && !text.lowercased().contains("inf"))
        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        #expect((json["test"] as? [String: Any])?["macro_auc"] is NSNull)
        let trials = (json["search"] as? [String: Any])?["trials"] as? [[String: Any]]
        #expect(trials?[1]["validation_accuracy"] is NSNull)
    }

    @Test func fractionsAreInUnitInterval() throws {
        let test = try #require(try sampleReport().test)
        let fractions = [test.accuracy, test.precisionAtThreshold, test.recallAtThreshold]
            + [test.macroAUC, test.microAUC, test.averagePrecision].compactMap { $0 }
            + test.topKAccuracy.values + test.perClass.flatMap { [$0.precision, $0.recall, $0.f1] + [$0.auc, $0.averagePrecision].compactMap { $0 } }
            + test.confusionMatrix.normalized.flatMap { $0 } + test.misclassified.map(\.score)
        #expect(fractions.allSatisfy { (0...1).contains($0) })
    }

    @Test func htmlIsEscapedAndSelfContained() throws {
        let html = try sampleReport().html()
        #expect(html.contains("<svg"))
        #expect(html.contains("&lt;b&gt;&amp;&quot;x&quot;"))
        #expect(!html.contains("<b>&\"x\""))
        #expect(!html.contains("conv<3>") && !html.contains("images/0<.png") && !html.contains("<10%>"))
        #expect(html.contains("it&#39;s") && html.contains("chat 🐱"))
        #expect(html.contains("<img src=\"data:image/png;base64,"))
        #expect(!html.contains("http://") || !html.contains("src=\"http"))
        #expect(!html.contains("<script") && !html.contains("<link"))
        #expect(html.contains("Confusion matrix") && html.contains("Search") && html.contains("Budget") && html.contains("Test CPU"))
        #expect(html.contains("<h2>Energy</h2>") && html.contains("0.00100 kWh (3600 J)") && html.contains("0.475 gCO2e")
            && html.contains("cpu-time estimate") && html.contains("475 gCO2e/kWh") && html.contains("<td>0.0000333 kWh, 0.0158 gCO2e</td>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 3)  // heat map, bars, search plot
        #expect(!html.contains("nan"))
        #expect(html.contains("the final model trains trial 0's candidate") && html.contains("<td><strong>0 (picked)</strong></td>"))
    }

    @Test func htmlWithoutOptionalSections() throws {
        let test = try TestEvaluation(probabilities: [0.5, 0.5, 0.5, 0.5], labels: [0, 1], classNames: ["a", "b"])
        let html = EvaluationReport(test: test).html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.hasSuffix("</html>\n"))
    }

    @Test func terminalSummary() throws {
        let text = try sampleReport().terminalSummary()
        #expect(text.contains("accuracy 80.0%"))
        #expect(text.contains("chat 🐱"))
        #expect(text.contains("Most confused"))
        #expect(text.contains("used 9m 51s of 10m 0s"))
        // The pick is not the most accurate trial here, so the summary names both.
        #expect(text.contains("picked trial 0 at validation accuracy 50.0% (the highest: 80.0%)"))
        #expect(text.contains("no TEST examples (left out of macro AUC/AP): it's"))
        #expect(text.contains("Energy: 0.00100 kWh, 0.475 gCO2e (cpu-time estimate: 900.0 CPU-s, 4.00 W per core; grid 475 gCO2e/kWh)"))
    }

    @Test func thumbnailsAndReferences() throws {
        let report = try sampleReport()
        // Labels [0, 1, 1, 1, 0]; argmax [0, 1, 0, 1, 0 (tie → lowest index)]: only example 2 is wrong.
        #expect(report.test?.misclassified.map(\.index) == [2])
        let mistake = try #require(report.test?.misclassified.first)
        #expect(mistake.trueLabel == "chat 🐱" && mistake.predictedLabel == "<b>&\"x\"")
        #expect(abs(mistake.score - 0.6) < 1e-6 && mistake.reference == "images/2<.png")
        #expect(mistake.thumbnailPNGBase64 == Data([0x89, 0x50, 0x4E, 0x47, 2]).base64EncodedString())
    }

    @Test func machineInfoReadsThisMachine() {
        let machine = MachineInfo.current()
        #expect(machine.cores >= 1 && machine.memoryBytes > 0 && !machine.cpu.isEmpty && !machine.os.isEmpty)
    }
}

@Suite("Metric edge cases")
struct MetricEdgeCaseTests {
    @Test func validation() {
        #expect(throws: EvaluationError.shapeMismatch(probabilities: 3, examples: 2, classes: 2)) {
            try ClassificationScores(probabilities: [0, 1, 0], labels: [0, 1], classCount: 2)
        }
        #expect(throws: EvaluationError.labelOutOfRange(index: 1, label: 2, classes: 2)) {
            try ClassificationScores(probabilities: [0, 1, 0, 1], labels: [0, 2], classCount: 2)
        }
        #expect(throws: EvaluationError.nonFiniteScore(index: 2)) {
            try ClassificationScores(probabilities: [0, 1, .nan, 1], labels: [0, 1], classCount: 2)
        }
        #expect(throws: EvaluationError.empty) { try ClassificationScores(probabilities: [], labels: [], classCount: 2) }
        #expect(throws: EvaluationError.classNamesMismatch(names: 1, classes: 2)) {
            try TestEvaluation(probabilities: [0, 1, 1, 0], labels: [1, 0], classNames: ["a"])
        }
        #expect(throws: EvaluationError.invalidThreshold(1.5)) {
            try ClassificationScores(probabilities: [0, 1, 1, 0], labels: [1, 0], classCount: 2).thresholdMetrics(threshold: 1.5)
        }
        #expect(throws: EvaluationError.invalidTopK(0)) {
            try ClassificationScores(probabilities: [0, 1, 1, 0], labels: [1, 0], classCount: 2).topKAccuracy(k: 0)
        }
    }

    @Test func allTiedScoresGiveChanceAUC() {
        #expect(BinaryRanking.rocAUC(scores: [0.5, 0.5, 0.5, 0.5], positives: [true, false, true, false]) == 0.5)
        #expect(BinaryRanking.averagePrecision(scores: [0.5, 0.5, 0.5, 0.5], positives: [true, false, false, false]) == 0.25)
        #expect(BinaryRanking.rocAUC(scores: [0.1, 0.2], positives: [true, true]) == nil)
        #expect(BinaryRanking.averagePrecision(scores: [0.1, 0.2], positives: [false, false]) == nil)
    }

    @Test func handWorkedAveragePrecision() {
        // sklearn docs example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333…
        let ap = BinaryRanking.averagePrecision(scores: [0.1, 0.4, 0.35, 0.8], positives: [false, false, true, true])
        #expect(abs(ap! - 0.8333333333333333) < 1e-12)
        // sklearn docs example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        #expect(BinaryRanking.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], positives: [false, false, true, true]) == 0.75)
    }

    @Test func mostConfusedOrderAndMisclassifiedLimit() throws {
        // 3 classes; true 0 predicted 1 three times, true 2 predicted 1 three times, true 1 predicted 0 once.
        let rows: [(Int, [Float])] = [
            (0, [0.1, 0.8, 0.1]), (0, [0.2, 0.7, 0.1]), (0, [0.3, 0.6, 0.1]),
            (2, [0.1, 0.5, 0.4]), (2, [0.1, 0.9, 0.0]), (2, [0.2, 0.6, 0.2]),
            (1, [0.9, 0.05, 0.05]), (1, [0, 1, 0]),
        ]
        let s = try ClassificationScores(probabilities: rows.flatMap(\.1), labels: rows.map(\.0), classCount: 3)
        #expect(s.mostConfused().map { [$0.trueClass, $0.predictedClass, $0.count] } == [[0, 1, 3], [2, 1, 3], [1, 0, 1]])
        #expect(s.mostConfused(limit: 1).count == 1)
        #expect(s.misclassified(perClass: 2).map(\.index) == [0, 1, 6, 4, 5])
    }
}

/// Writes a sample `report.html` / `report.json` / `report.txt` for eyeballing when
/// `EVALUATION_SAMPLE_DIR` is set (e.g. `EVALUATION_SAMPLE_DIR=/tmp/eval swift test --filter writeSample`).
@Test func writeSample() throws {
    guard let directory = ProcessInfo.processInfo.environment["EVALUATION_SAMPLE_DIR"] else { return }
    let url = URL(fileURLWithPath: directory, isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    // A larger, 10-class report from the "ties" fixture's generator style: seeded pseudo-random scores.
    var generator = SplitMix(seed: 7)
    let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "<Ankle & boot>"]
    var probabilities = [Float](), labels = [Int]()
    for i in 0..<300 {
        let label = i % 10
        var row = (0..<10).map { _ in Float(generator.next() % 100) / 100 }
        row[label] += 2.5
        if label == 6 { row[0] += 2.4 }
        let sum = row.reduce(0, +)
        probabilities += row.map { $0 / sum }
        labels.append(label)
    }
    var report = try sampleReport()
    report.test = try TestEvaluation(probabilities: probabilities, labels: labels, classNames: names)
    try report.jsonData().write(to: url.appendingPathComponent("report.json"))
    try report.html().write(to: url.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
    try report.terminalSummary().write(to: url.appendingPathComponent("report.txt"), atomically: true, encoding: .utf8)
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
