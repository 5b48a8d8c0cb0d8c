import Energy

extension EvaluationReport {
    /// A compact plain-text summary for a terminal: headline metrics, the per-class table, the top
    /// confusions, the search, budget, energy and machine. Lines stay under about 100 columns.
    public func terminalSummary() -> String {
        var lines = [String]()
        lines.append("AutoVision evaluation" + (jobID.map { " — job \($0)" } ?? "") + " (\(createdAt))")
        for warning in warnings { lines.append("WARNING: \(warning)") }
        if let model {
            lines.append("Model: \(Format.truncated(model.architecture, 80)) · \(Format.count(model.parameters)) parameters · \(Format.count(model.flops)) FLOPs"
                + (model.precisionDescription.map { " · \($0)" } ?? "")
                + (model.testTimeAugmentationDescription.map { " · \($0)" } ?? ""))
        }
        if let multiLabelTest {
            lines += multiLabelLines(multiLabelTest)
        } else if let test {
            lines += singleLabelLines(test)
        }
        if let search {
            let metric = multiLabel ? "mean AP" : "accuracy"
            let highest = search.trials.compactMap(\.validationScore).max()
            let picked = search.trials.first { $0.id == search.pickedTrial }
            lines.append("")
            if let picked, let score = picked.validationScore, score != highest {
                lines.append("Search: \(search.trials.count) trials (\(search.strategy)), picked trial \(picked.id) at validation \(metric) "
                    + "\(Format.percent(score)) (the highest: \(Format.percent(highest)))")
            } else {
                lines.append("Search: \(search.trials.count) trials (\(search.strategy)), best validation \(metric) \(Format.percent(highest))")
            }
        }
        if let budget {
            let share = budget.requestedSeconds > 0 ? " (\(Format.percent(budget.usedSeconds / budget.requestedSeconds, digits: 0)))" : ""
            lines.append("Budget: used \(Format.duration(budget.usedSeconds)) of \(Format.duration(budget.requestedSeconds))\(share), stopped: \(budget.stopReason)"
                + (budget.importSeconds.map { "; import \(Format.duration($0)) (not charged)" } ?? ""))
            if let phases = budget.phasesDescription { lines.append("  worker time: \(phases)") }
        }
        if let energy {
            lines.append("Energy: \(energy.summary)")
        }
        if let machine {
            lines.append("Machine: \(machine.cpu), \(machine.cores) cores, \(Format.gibibytes(machine.memoryBytes)), \(machine.os)")
        }
        if let dataset, !dataset.notes.isEmpty {
            lines.append("Notes: " + dataset.notes.joined(separator: "; "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func singleLabelLines(_ t: TestEvaluation) -> [String] {
        var lines = [String]()
        let topK = t.topKAccuracy.keys.compactMap(Int.init).sorted().filter { $0 > 1 }
            .map { "top-\($0) \(Format.percent(t.topKAccuracy[String($0)]))" }
        lines.append("TEST, \(t.examples) examples: accuracy \(Format.percent(t.accuracy))" + (topK.isEmpty ? "" : "  " + topK.joined(separator: "  ")))
        if let baseline = t.baseline {
            lines.append("  majority-class baseline (always '\(Format.truncated(baseline.majorityClass, 30))'): \(Format.percent(baseline.accuracy))"
                + (model?.validationBaselineScore.map { "; on VALIDATION \(Format.percent($0)) against the model's \(Format.percent(model?.validationScore))" } ?? ""))
        }
        lines.append("  average precision \(Format.number(t.averagePrecision))  macro AUC \(Format.number(t.macroAUC))  micro AUC \(Format.number(t.microAUC))  log loss \(Format.number(t.logLoss))")
        lines.append("  at score ≥ \(Format.number(t.scoreThreshold, digits: 2)): precision \(Format.percent(t.precisionAtThreshold))  recall \(Format.percent(t.recallAtThreshold))")
        if !t.excludedFromMacro.isEmpty {
            lines.append("  no TEST examples (left out of macro AUC/AP): " + t.excludedFromMacro.joined(separator: ", "))
        }
        let width = min(24, max(5, t.perClass.map(\.label.count).max() ?? 5))
        lines.append("")
        lines.append(Format.padded("class", width) + "  precision  recall      f1  support     AUC      AP")
        for row in t.perClass {
            lines.append(Format.padded(row.label, width) + "  "
                + Format.leftPadded(Format.percent(row.precision), 9) + Format.leftPadded(Format.percent(row.recall), 8)
                + Format.leftPadded(Format.percent(row.f1), 8) + Format.leftPadded(String(row.support), 9)
                + Format.leftPadded(Format.number(row.auc), 8) + Format.leftPadded(Format.number(row.averagePrecision), 8))
        }
        if !t.mostConfused.isEmpty {
            lines.append("")
            lines.append("Most confused (true → predicted):")
            for pair in t.mostConfused {
                lines.append("  \(Format.truncated(pair.trueLabel, 30)) → \(Format.truncated(pair.predictedLabel, 30)): \(pair.count)")
            }
        }
        return lines
    }

    private func multiLabelLines(_ m: MultiLabelEvaluation) -> [String] {
        var lines = [String]()
        let b = m.baseline
        lines.append("TEST, \(m.examples) examples (multi-label, \(Format.number(m.labelCardinality, digits: 2)) labels per image): "
            + "mean AP \(Format.percent(m.meanAveragePrecision))")
        lines.append("  prevalence baseline (each label scored by its TRAIN prevalence): mean AP \(Format.percent(b.meanAveragePrecision))"
            + (model?.validationBaselineScore.map { "; on VALIDATION \(Format.percent($0)) against the model's \(Format.percent(model?.validationScore))" } ?? ""))
        lines.append("  at the per-label thresholds: micro F1 \(Format.percent(m.microF1)) (baseline \(Format.percent(b.microF1)))  "
            + "macro F1 \(Format.percent(m.macroF1)) (\(Format.percent(b.macroF1)))")
        lines.append("  subset accuracy \(Format.percent(m.subsetAccuracy)) (\(Format.percent(b.subsetAccuracy)))  "
            + "Hamming loss \(Format.number(m.hammingLoss)) (\(Format.number(b.hammingLoss)))  "
            + "\(Format.number(m.predictedLabelCardinality, digits: 2)) labels predicted per image")
        let width = min(24, max(5, m.perLabel.map(\.label.count).max() ?? 5))
        lines.append("")
        lines.append(Format.padded("label", width) + "  threshold  precision  recall      f1  support      AP     AUC  TRAIN share")
        for row in m.perLabel {
            lines.append(Format.padded(row.label, width) + "  " + Format.leftPadded(Format.number(row.threshold, digits: 2), 9)
                + Format.leftPadded(Format.percent(row.precision), 11) + Format.leftPadded(Format.percent(row.recall), 8)
                + Format.leftPadded(Format.percent(row.f1), 8) + Format.leftPadded(String(row.support), 9)
                + Format.leftPadded(Format.number(row.averagePrecision), 8) + Format.leftPadded(Format.number(row.auc), 8)
                + Format.leftPadded(Format.percent(row.trainPrevalence), 13))
        }
        lines.append("")
        lines.append("True label (rows) and predicted label (columns) on the same image:")
        let cell = max(5, min(8, m.coOccurrence.labels.map(\.count).max() ?? 5))
        lines.append(Format.padded("", width) + m.coOccurrence.labels.map { Format.leftPadded(Format.truncated($0, cell), cell + 1) }.joined())
        for (label, row) in zip(m.coOccurrence.labels, m.coOccurrence.counts) {
            lines.append(Format.padded(label, width) + row.map { Format.leftPadded(String($0), cell + 1) }.joined())
        }
        return lines
    }
}
