import Energy
import Foundation

extension EvaluationReport {
    /// A self-contained HTML page: inline CSS and SVG only, no scripts, fonts or network requests.
    ///
    /// Sections: headline metrics; the confusion matrix as an SVG heat map (colour = row-normalised
    /// fraction, cell text = count, labels on both axes); per-class precision / recall / F1 bars (SVG)
    /// and table; most-confused pairs; misclassified examples with inline `data:image/png` thumbnails
    /// when attached; a search-progress plot (validation accuracy per trial against cumulative trial
    /// seconds, with the best-so-far line); budget, machine and dataset. Every caller-supplied string
    /// is HTML-escaped.
    public func html() -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>AutoVision report\(jobID.map { " – " + $0.htmlEscaped } ?? "")</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1b1f24}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
        table{border-collapse:collapse}td,th{padding:.2em .7em;border-bottom:1px solid #eaeef2;text-align:right}
        td:first-child,th:first-child{text-align:left}.headline td:first-child{color:#57606a}
        .muted{color:#57606a}.gallery{display:flex;flex-wrap:wrap;gap:12px}
        figure{margin:0;width:128px;font-size:12px}figure img{width:128px;height:128px;object-fit:contain;image-rendering:pixelated;background:#f6f8fa;border:1px solid #d0d7de}
        svg text{font-family:system-ui,sans-serif}
        </style></head><body>

        """
        page += "<h1>AutoVision evaluation report</h1>\n<p class=\"muted\">"
        page += (jobID.map { "Job <code>\($0.htmlEscaped)</code> · " } ?? "") + "created \(createdAt.htmlEscaped)</p>\n"
        if let model {
            page += "<p>Model: <code>\(model.architecture.htmlEscaped)</code> · \(Format.count(model.parameters)) parameters · \(Format.count(model.flops)) FLOPs"
                + (model.precisionDescription.map { " · \($0.htmlEscaped)" } ?? "")
                + (model.testTimeAugmentationDescription.map { " · \($0.htmlEscaped)" } ?? "") + "</p>\n"
        }
        for warning in warnings {
            page += "<p style=\"border:2px solid #cf222e;background:#ffebe9;padding:.5em 1em\"><strong>Warning:</strong> \(warning.htmlEscaped)</p>\n"
        }
        if let multiLabelTest {
            page += multiLabelSection(multiLabelTest)
        } else if let test {
            page += headlineSection(test) + confusionSection(test) + perClassSection(test) + mistakesSection(test)
        }
        page += searchSection() + runSection()
        page += "</body></html>\n"
        return page
    }

    private func headlineSection(_ t: TestEvaluation) -> String {
        var rows: [(String, String)] = [
            ("TEST examples", String(t.examples)),
            ("Accuracy", Format.percent(t.accuracy)),
        ]
        if let baseline = t.baseline {
            rows.append(("Majority-class baseline (always '\(baseline.majorityClass)')", Format.percent(baseline.accuracy)))
        }
        for k in t.topKAccuracy.keys.compactMap(Int.init).sorted() where k > 1 {
            rows.append(("Top-\(k) accuracy", Format.percent(t.topKAccuracy[String(k)])))
        }
        rows += [
            ("Average precision (macro, area under PR curve)", Format.number(t.averagePrecision)),
            ("ROC AUC, macro one-vs-rest", Format.number(t.macroAUC)),
            ("ROC AUC, micro", Format.number(t.microAUC)),
            ("Log loss (nats)", Format.number(t.logLoss)),
            ("Precision at score ≥ \(Format.number(t.scoreThreshold, digits: 2))", Format.percent(t.precisionAtThreshold)),
            ("Recall at score ≥ \(Format.number(t.scoreThreshold, digits: 2))", Format.percent(t.recallAtThreshold)),
        ]
        var html = "<h2>Test metrics</h2>\n<table class=\"headline\">\n"
        for (name, value) in rows { html += "<tr><td>\(name.htmlEscaped)</td><td>\(value.htmlEscaped)</td></tr>\n" }
        html += "</table>\n"
        if !t.excludedFromMacro.isEmpty {
            html += "<p class=\"muted\">No TEST examples, so no AUC or AP, and left out of the macro averages: "
                + t.excludedFromMacro.map { "<code>\($0.htmlEscaped)</code>" }.joined(separator: ", ") + "</p>\n"
        }
        return html
    }

    private func confusionSection(_ test: TestEvaluation) -> String {
        let matrix = test.confusionMatrix
        return "<h2>Confusion matrix</h2>\n<p class=\"muted\">Rows: true label; columns: predicted label. Colour: fraction of the row; numbers: counts.</p>\n"
            + heatMap(labels: matrix.labels, counts: matrix.counts, normalized: matrix.normalized, title: "Confusion matrix")
    }

    /// A matrix as an SVG heat map: colour from the row-normalised value (white → dark blue), count
    /// in each cell, rows "true" and columns "predicted".
    private func heatMap(labels names: [String], counts: [[Int]], normalized: [[Double]], title: String) -> String {
        let matrix = (labels: names, counts: counts, normalized: normalized)
        let k = matrix.labels.count
        guard k > 0 else { return "" }
        let cell = max(14.0, min(48.0, 640.0 / Double(k)))
        let labels = matrix.labels.map { Format.truncated($0, 22) }
        let labelSpace = min(170.0, 7.0 * Double(labels.map(\.count).max() ?? 4) + 14)
        let left = labelSpace + 18, top = labelSpace + 18
        let width = left + cell * Double(k) + 10, height = top + cell * Double(k) + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(title.htmlEscaped)\">\n"
        svg += "<text x=\"\(Int(left + cell * Double(k) / 2))\" y=\"12\" text-anchor=\"middle\" font-size=\"12\" fill=\"#57606a\">predicted</text>\n"
        svg += "<text transform=\"translate(12 \(Int(top + cell * Double(k) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"#57606a\">true</text>\n"
        let fontSize = max(8, min(13, cell * 0.32))
        for (i, label) in labels.enumerated() {
            let centre = Double(i) * cell + cell / 2
            let full = matrix.labels[i].htmlEscaped
            svg += "<text x=\"\(Int(left - 4))\" y=\"\(format(top + centre + 4))\" text-anchor=\"end\" font-size=\"11\"><title>\(full)</title>\(label.htmlEscaped)</text>\n"
            svg += "<text transform=\"translate(\(format(left + centre + 4)) \(Int(top - 4))) rotate(-90)\" font-size=\"11\"><title>\(full)</title>\(label.htmlEscaped)</text>\n"
        }
        for t in 0..<k {
            for p in 0..<k {
                let value = matrix.normalized[safe: t]?[safe: p] ?? 0
                let count = matrix.counts[safe: t]?[safe: p] ?? 0
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                svg += "<rect x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(cell))\" height=\"\(format(cell))\" fill=\"\(heatColour(value))\" stroke=\"#fff\">"
                svg += "<title>\(matrix.labels[t].htmlEscaped) → \(matrix.labels[p].htmlEscaped): \(count) (\(Format.percent(value)))</title></rect>\n"
                if cell >= 16, count > 0 {
                    svg += "<text x=\"\(format(x + cell / 2))\" y=\"\(format(y + cell / 2 + fontSize / 3))\" text-anchor=\"middle\" font-size=\"\(format(fontSize))\" fill=\"\(value > 0.5 ? "#fff" : "#1b1f24")\">\(count)</text>\n"
                }
            }
        }
        svg += "</svg>\n"
        return svg
    }

    /// A multi-label model's TEST metrics: the headline figures beside the prevalence baseline's,
    /// the co-occurrence of true and predicted labels as a heat map, and the per-label table.
    private func multiLabelSection(_ m: MultiLabelEvaluation) -> String {
        let b = m.baseline
        let rows: [(String, String, String)] = [
            ("TEST examples", String(m.examples), ""),
            ("True labels per image (label cardinality)", Format.number(m.labelCardinality, digits: 2), ""),
            ("Predicted labels per image", Format.number(m.predictedLabelCardinality, digits: 2), ""),
            ("Mean average precision", Format.percent(m.meanAveragePrecision), Format.percent(b.meanAveragePrecision)),
            ("Micro F1 at the per-label thresholds", Format.percent(m.microF1), Format.percent(b.microF1)),
            ("Macro F1", Format.percent(m.macroF1), Format.percent(b.macroF1)),
            ("Micro precision / recall", "\(Format.percent(m.microPrecision)) / \(Format.percent(m.microRecall))", ""),
            ("Subset accuracy (every label right)", Format.percent(m.subsetAccuracy), Format.percent(b.subsetAccuracy)),
            ("Hamming loss (wrong label decisions)", Format.number(m.hammingLoss), Format.number(b.hammingLoss)),
        ]
        var html = "<h2>Test metrics (multi-label)</h2>\n<table class=\"headline\">\n"
            + "<tr><th></th><th>Model</th><th>Baseline: each label scored by its TRAIN prevalence</th></tr>\n"
        for (name, value, baseline) in rows {
            html += "<tr><td>\(name.htmlEscaped)</td><td>\(value.htmlEscaped)</td><td>\(baseline.htmlEscaped)</td></tr>\n"
        }
        html += "</table>\n"
        let support = m.perLabel.map(\.support)
        let normalized = m.coOccurrence.counts.enumerated().map { r, row in row.map { support[r] > 0 ? Double($0) / Double(support[r]) : 0 } }
        html += "<h2>True and predicted labels</h2>\n<p class=\"muted\">Rows: a label the image has; columns: a label predicted for it. "
            + "The diagonal counts each label's true positives. Colour: fraction of the row label's images.</p>\n"
            + heatMap(labels: m.coOccurrence.labels, counts: m.coOccurrence.counts, normalized: normalized, title: "Co-occurrence of true and predicted labels")
        html += "<h2>Per label</h2>\n<table>\n<tr><th>Label</th><th>Threshold</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th>"
            + "<th>Avg precision</th><th>ROC AUC</th><th>TRAIN share</th></tr>\n"
        for row in m.perLabel {
            html += "<tr><td>\(row.label.htmlEscaped)</td><td>\(Format.number(row.threshold, digits: 2))</td><td>\(Format.percent(row.precision))</td>"
                + "<td>\(Format.percent(row.recall))</td><td>\(Format.percent(row.f1))</td><td>\(row.support)</td>"
                + "<td>\(Format.number(row.averagePrecision))</td><td>\(Format.number(row.auc))</td><td>\(Format.percent(row.trainPrevalence))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func perClassSection(_ test: TestEvaluation) -> String {
        let rows = test.perClass
        guard !rows.isEmpty else { return "" }
        let labelSpace = min(170.0, 7.0 * Double(rows.map { Format.truncated($0.label, 22).count }.max() ?? 4) + 10)
        let barWidth = 360.0, bar = 7.0, group = 3 * bar + 8
        let width = labelSpace + barWidth + 60, height = 30 + group * Double(rows.count)
        let series: [(String, String, KeyPath<PerClassMetrics, Double>)] = [
            ("precision", "#0969da", \.precision), ("recall", "#1a7f37", \.recall), ("F1", "#bf8700", \.f1),
        ]
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Per-class precision, recall and F1\">\n"
        for (n, (name, colour, _)) in series.enumerated() {
            let x = labelSpace + Double(n) * 90
            svg += "<rect x=\"\(format(x))\" y=\"6\" width=\"10\" height=\"10\" fill=\"\(colour)\"/><text x=\"\(format(x + 14))\" y=\"15\" font-size=\"11\">\(name)</text>\n"
        }
        for (i, row) in rows.enumerated() {
            let y = 26 + Double(i) * group
            svg += "<text x=\"\(format(labelSpace - 6))\" y=\"\(format(y + group / 2))\" text-anchor=\"end\" font-size=\"11\"><title>\(row.label.htmlEscaped)</title>\(Format.truncated(row.label, 22).htmlEscaped)</text>\n"
            for (n, (name, colour, path)) in series.enumerated() {
                let value = clamp(row[keyPath: path])
                let by = y + Double(n) * bar
                svg += "<rect x=\"\(format(labelSpace))\" y=\"\(format(by))\" width=\"\(format(barWidth * value))\" height=\"\(format(bar - 1))\" fill=\"\(colour)\"><title>\(row.label.htmlEscaped) \(name): \(Format.percent(value))</title></rect>\n"
            }
            svg += "<text x=\"\(format(labelSpace + barWidth + 6))\" y=\"\(format(y + group / 2))\" font-size=\"10\" fill=\"#57606a\">F1 \(Format.percent(row.f1, digits: 0))</text>\n"
        }
        svg += "</svg>\n"
        var table = "<table>\n<tr><th>Label</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th><th>ROC AUC</th><th>Avg precision</th></tr>\n"
        for row in rows {
            table += "<tr><td>\(row.label.htmlEscaped)</td><td>\(Format.percent(row.precision))</td><td>\(Format.percent(row.recall))</td><td>\(Format.percent(row.f1))</td><td>\(row.support)</td><td>\(Format.number(row.auc))</td><td>\(Format.number(row.averagePrecision))</td></tr>\n"
        }
        table += "</table>\n"
        return "<h2>Per class</h2>\n" + svg + table
    }

    private func mistakesSection(_ test: TestEvaluation) -> String {
        var html = ""
        if !test.mostConfused.isEmpty {
            html += "<h2>Most confused</h2>\n<table>\n<tr><th>True label</th><th>Predicted as</th><th>Examples</th></tr>\n"
            for pair in test.mostConfused {
                html += "<tr><td>\(pair.trueLabel.htmlEscaped)</td><td>\(pair.predictedLabel.htmlEscaped)</td><td>\(pair.count)</td></tr>\n"
            }
            html += "</table>\n"
        }
        guard !test.misclassified.isEmpty else { return html }
        html += "<h2>Misclassified examples</h2>\n<p class=\"muted\">Most confident mistakes first, grouped by true label.</p>\n<div class=\"gallery\">\n"
        for example in test.misclassified {
            html += "<figure>"
            if let thumbnail = example.thumbnailPNGBase64 {
                let clean = String(thumbnail.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+/=".unicodeScalars.contains($0)) })
                html += "<img src=\"data:image/png;base64,\(clean)\" alt=\"example \(example.index)\">"
            }
            html += "<figcaption>#\(example.index)"
            if let reference = example.reference { html += " <code>\(Format.truncated(reference, 40).htmlEscaped)</code>" }
            html += "<br>true <b>\(example.trueLabel.htmlEscaped)</b><br>predicted <b>\(example.predictedLabel.htmlEscaped)</b> (\(Format.percent(example.score)))</figcaption></figure>\n"
        }
        return html + "</div>\n"
    }

    /// Validation accuracy of each trial against cumulative trial seconds, with the best-so-far step line.
    private func searchSection() -> String {
        guard let search else { return "" }
        let picked = search.pickedTrial.map { " · the final model trains trial \($0)'s candidate" } ?? ""
        var html = "<h2>Search</h2>\n<p>Strategy: \(search.strategy.htmlEscaped) · \(search.trials.count) trials\(picked)</p>\n"
        var elapsed = 0.0
        var points = [(x: Double, y: Double)]()
        for trial in search.trials {
            elapsed += trial.seconds.isFinite ? max(0, trial.seconds) : 0
            if let accuracy = trial.validationScore, accuracy.isFinite { points.append((elapsed, clamp(accuracy))) }
        }
        if !points.isEmpty {
            let width = 660.0, height = 300.0, left = 52.0, right = 16.0, top = 16.0, bottom = 40.0
            let xMax = max(elapsed, 1)
            let lowest = points.map(\.y).min() ?? 0
            // A whole number of tenths below the worst trial, so the grid lines fall on round percentages.
            let tenths = max(1, min(10, 10 - Int((lowest * 10).rounded(.down)) + (lowest >= 0.1 ? 1 : 0)))
            let yMin = 1 - Double(tenths) / 10, yMax = 1.0
            func px(_ x: Double) -> Double { left + (width - left - right) * x / xMax }
            func py(_ y: Double) -> Double { top + (height - top - bottom) * (1 - (y - yMin) / max(yMax - yMin, 1e-9)) }
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Search progress\">\n"
            for tick in 0...tenths {
                let y = yMin + Double(tick) / 10
                svg += "<line x1=\"\(format(left))\" x2=\"\(format(width - right))\" y1=\"\(format(py(y)))\" y2=\"\(format(py(y)))\" stroke=\"#eaeef2\"/>"
                svg += "<text x=\"\(format(left - 6))\" y=\"\(format(py(y) + 4))\" text-anchor=\"end\" font-size=\"10\">\(Format.percent(y, digits: 0))</text>\n"
            }
            for tick in 0...5 {
                let x = xMax * Double(tick) / 5
                svg += "<text x=\"\(format(px(x)))\" y=\"\(format(height - bottom + 16))\" text-anchor=\"middle\" font-size=\"10\">\(Format.duration(x).htmlEscaped)</text>\n"
            }
            svg += "<line x1=\"\(format(left))\" x2=\"\(format(width - right))\" y1=\"\(format(height - bottom))\" y2=\"\(format(height - bottom))\" stroke=\"#57606a\"/>"
            svg += "<line x1=\"\(format(left))\" x2=\"\(format(left))\" y1=\"\(format(top))\" y2=\"\(format(height - bottom))\" stroke=\"#57606a\"/>\n"
            svg += "<text x=\"\(format((left + width - right) / 2))\" y=\"\(format(height - 6))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#57606a\">cumulative trial time</text>\n"
            svg += "<text transform=\"translate(12 \(format((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#57606a\">validation \(multiLabel ? "mean AP" : "accuracy")</text>\n"
            var best = -1.0
            var step = [String]()
            for point in points {
                if point.y > best {
                    if best >= 0 { step.append("\(format(px(point.x))),\(format(py(best)))") }
                    best = point.y
                }
                step.append("\(format(px(point.x))),\(format(py(best)))")
            }
            step.append("\(format(px(xMax))),\(format(py(best)))")
            svg += "<polyline points=\"\(step.joined(separator: " "))\" fill=\"none\" stroke=\"#1a7f37\" stroke-width=\"2\"><title>best so far</title></polyline>\n"
            for point in points {
                svg += "<circle cx=\"\(format(px(point.x)))\" cy=\"\(format(py(point.y)))\" r=\"3.5\" fill=\"#0969da\" fill-opacity=\"0.7\"><title>\(Format.percent(point.y)) at \(Format.duration(point.x).htmlEscaped)</title></circle>\n"
            }
            svg += "</svg>\n"
            html += svg
        }
        if !search.trials.isEmpty {
            // The worker column only when a worker ran some trial (a job run in-process has none).
            let workers = search.trials.contains { $0.worker != nil }
            html += "<details><summary>All trials</summary>\n<table>\n<tr><th>ID</th><th>Architecture</th><th>Parameters</th><th>FLOPs</th><th>Epochs</th><th>Validation \(multiLabel ? "mean AP" : "accuracy")</th><th>Time</th><th>Energy</th>\(workers ? "<th>Worker</th>" : "")</tr>\n"
            for trial in search.trials {
                let worker = workers ? "<td><code>\((trial.worker ?? "—").htmlEscaped)</code></td>" : ""
                let id = trial.id == search.pickedTrial ? "<strong>\(trial.id) (picked)</strong>" : "\(trial.id)"
                html += "<tr><td>\(id)</td><td style=\"text-align:left\"><code>\(trial.architecture.htmlEscaped)</code></td><td>\(Format.count(trial.parameters))</td><td>\(Format.count(trial.flops))</td><td>\(trial.epochs)</td><td>\(Format.percent(trial.validationScore))</td><td>\(Format.duration(trial.seconds).htmlEscaped)</td><td>\(trial.energy.map { Self.energyCell($0) } ?? "—")</td>\(worker)</tr>\n"
            }
            html += "</table></details>\n"
        }
        return html
    }

    /// A trial's energy in the table of trials: kWh and gCO2e.
    private static func energyCell(_ energy: EnergyUse) -> String {
        "\(EnergyUse.format(energy.kilowattHours, significant: 3)) kWh, \(EnergyUse.format(energy.gramsCO2e, significant: 3)) gCO2e"
    }

    private func runSection() -> String {
        var html = ""
        if let budget {
            html += "<h2>Budget</h2>\n<table class=\"headline\">\n"
            html += "<tr><td>Requested</td><td>\(Format.duration(budget.requestedSeconds).htmlEscaped)</td></tr>\n"
            html += "<tr><td>Used (worker time: search + final training + evaluation)</td><td>\(Format.duration(budget.usedSeconds).htmlEscaped)</td></tr>\n"
            if let phases = budget.phasesDescription { html += "<tr><td>By phase</td><td>\(phases.htmlEscaped)</td></tr>\n" }
            html += "<tr><td>Stop reason</td><td>\(budget.stopReason.htmlEscaped)</td></tr>\n"
            if let importSeconds = budget.importSeconds {
                html += "<tr><td>Import (not charged)</td><td>\(Format.duration(importSeconds).htmlEscaped)</td></tr>\n"
            }
            html += "</table>\n"
        }
        if let energy {
            html += "<h2>Energy</h2>\n<table class=\"headline\">\n"
            html += "<tr><td>Energy</td><td>\(EnergyUse.format(energy.kilowattHours, significant: 3)) kWh (\(EnergyUse.format(energy.joules, digits: 0)) J)</td></tr>\n"
            html += "<tr><td>Emissions</td><td>\(EnergyUse.format(energy.gramsCO2e, significant: 3)) gCO2e</td></tr>\n"
            html += "<tr><td>Method</td><td>\(energy.method.htmlEscaped)</td></tr>\n"
            html += "<tr><td>CPU time</td><td>\(Format.duration(energy.cpuSeconds).htmlEscaped)</td></tr>\n"
            html += "<tr><td>Per-core power (estimate)</td><td>\(EnergyUse.format(energy.wattsPerCore, digits: 2)) W</td></tr>\n"
            html += "<tr><td>Grid intensity</td><td>\(EnergyUse.format(energy.gridIntensity, digits: 0)) gCO2e/kWh</td></tr>\n</table>\n"
            html += "<p class=\"muted\">Summed over every work unit of the job (import, trials, final training, evaluation), whichever worker ran it.</p>\n"
        }
        if let machine {
            html += "<h2>Machine</h2>\n<table class=\"headline\">\n"
            html += "<tr><td>CPU</td><td>\(machine.cpu.htmlEscaped)</td></tr>\n<tr><td>Cores</td><td>\(machine.cores)</td></tr>\n"
            html += "<tr><td>Memory</td><td>\(Format.gibibytes(machine.memoryBytes))</td></tr>\n<tr><td>OS</td><td>\(machine.os.htmlEscaped)</td></tr>\n</table>\n"
        }
        if let dataset {
            html += "<h2>Dataset</h2>\n<p>Manifest: <code>\(dataset.manifest.htmlEscaped)</code></p>\n"
            let partitions = dataset.partitions.keys.sorted()
            if !partitions.isEmpty {
                let labels = Set(dataset.partitions.values.flatMap(\.keys)).sorted()
                html += "<table>\n<tr><th>Label</th>" + partitions.map { "<th>\($0.htmlEscaped)</th>" }.joined() + "</tr>\n"
                for label in labels {
                    html += "<tr><td>\(label.htmlEscaped)</td>" + partitions.map { "<td>\(dataset.partitions[$0]?[label] ?? 0)</td>" }.joined() + "</tr>\n"
                }
                html += "</table>\n"
            }
            if !dataset.notes.isEmpty {
                html += "<ul>\n" + dataset.notes.map { "<li>\($0.htmlEscaped)</li>\n" }.joined() + "</ul>\n"
            }
        }
        return html
    }
}

/// White (#f7fbff) to dark blue (#08306b) for a fraction in [0, 1].
private func heatColour(_ value: Double) -> String {
    let v = clamp(value)
    func channel(_ from: Double, _ to: Double) -> Int { Int((from + (to - from) * v).rounded()) }
    return String(format: "#%02x%02x%02x", channel(247, 8), channel(251, 48), channel(255, 107))
}

private func clamp(_ value: Double) -> Double { value.isFinite ? min(1, max(0, value)) : 0 }

/// SVG coordinates with one decimal.
private func format(_ value: Double) -> String { String(format: "%.1f", value.isFinite ? value : 0) }

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
