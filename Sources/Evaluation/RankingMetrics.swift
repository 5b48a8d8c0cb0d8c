/// Threshold-free ranking metrics of one class against the rest: ROC AUC and average precision.
///
/// Both walk the examples in descending score order and treat a run of **equal scores as one
/// threshold** (one ROC / PR point), which is what scikit-learn's `roc_curve` and
/// `precision_recall_curve` do; a tie therefore contributes a diagonal ROC segment (half credit)
/// and a single precision value, never an order-dependent staircase.
public enum BinaryRanking {
    /// Operating points at each distinct threshold, highest score first: cumulative true and false
    /// positives when everything scoring ≥ that threshold is called positive.
    static func curve(scores: [Double], positives: [Bool]) -> (tp: [Int], fp: [Int]) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = [Int](), fp = [Int]()
        var truePositives = 0, falsePositives = 0
        for (position, index) in order.enumerated() {
            if positives[index] { truePositives += 1 } else { falsePositives += 1 }
            let last = position == order.count - 1
            if last || scores[order[position + 1]] != scores[index] {
                tp.append(truePositives)
                fp.append(falsePositives)
            }
        }
        return (tp, fp)
    }

    /// Area under the ROC curve of `scores` for the `positives`, or `nil` when either class is
    /// absent (the curve is undefined; scikit-learn raises).
    ///
    /// Trapezoidal area under (FPR, TPR) points, one per distinct threshold, starting at (0, 0):
    /// equal to the probability that a random positive outscores a random negative, ties counting
    /// one half (the Mann–Whitney U statistic). Matches `sklearn.metrics.roc_auc_score`.
    /// Source: T. Fawcett, "An introduction to ROC analysis", Pattern Recognition Letters 27 (2006)
    /// 861–874, https://doi.org/10.1016/j.patrec.2005.10.010 (algorithms 1–3, section 4.4).
    public static func rocAUC(scores: [Double], positives: [Bool]) -> Double? {
        precondition(scores.count == positives.count, "\(scores.count) scores for \(positives.count) labels")
        let p = positives.reduce(0) { $0 + ($1 ? 1 : 0) }, n = positives.count - p
        guard p > 0, n > 0 else { return nil }
        let (tp, fp) = curve(scores: scores, positives: positives)
        var area = 0.0  // in units of (TP count × FP count), normalised at the end
        var previousTP = 0, previousFP = 0
        for (t, f) in zip(tp, fp) {
            area += Double(f - previousFP) * Double(t + previousTP) / 2
            previousTP = t
            previousFP = f
        }
        return area / (Double(p) * Double(n))
    }

    /// Average precision: the step-wise area under the precision–recall curve, or `nil` when there
    /// are no positives.
    ///
    /// AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds in descending order, with R₀ = 0;
    /// no interpolation (unlike the 11-point PASCAL VOC AP). Matches
    /// `sklearn.metrics.average_precision_score`
    /// (https://scikit-learn.org/stable/modules/generated/sklearn.metrics.average_precision_score.html).
    public static func averagePrecision(scores: [Double], positives: [Bool]) -> Double? {
        precondition(scores.count == positives.count, "\(scores.count) scores for \(positives.count) labels")
        let p = positives.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard p > 0 else { return nil }
        let (tp, fp) = curve(scores: scores, positives: positives)
        var ap = 0.0
        var previousRecall = 0.0
        for (t, f) in zip(tp, fp) {
            let recall = Double(t) / Double(p)
            let precision = Double(t) / Double(t + f)
            ap += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return ap
    }
}

extension ClassificationScores {
    /// Scores of class `c` for every example and whether `c` is the label: the one-vs-rest problem.
    func oneVersusRest(_ c: Int) -> (scores: [Double], positives: [Bool]) {
        ((0..<count).map { score($0, c) }, labels.map { $0 == c })
    }

    /// One-vs-rest ROC AUC of each class, `[K]`; `nil` for a class with no true examples (or, in the
    /// degenerate case, only true examples). See `BinaryRanking.rocAUC` (Fawcett 2006).
    public func rocAUCPerClass() -> [Double?] {
        (0..<classCount).map { c in
            let (s, y) = oneVersusRest(c)
            return BinaryRanking.rocAUC(scores: s, positives: y)
        }
    }

    /// Unweighted mean of the defined per-class AUCs: `sklearn.metrics.roc_auc_score(y, P,
    /// multi_class='ovr', average='macro')` when every class occurs; classes with no true examples
    /// are left out of the mean instead of raising. `nil` when no class has a defined AUC.
    public func macroROCAUC() -> Double? { Self.mean(rocAUCPerClass()) }

    /// Micro ROC AUC: one binary AUC over all N·K (example, class) pairs, the one-hot labels against
    /// the scores — `roc_auc_score(label_binarize(y, classes=range(K)), P, average='micro')`.
    /// Classes with no true examples take part (as negatives). Source: Fawcett 2006, section 9.
    public func microROCAUC() -> Double? {
        var positives = [Bool](repeating: false, count: probabilities.count)
        for (i, label) in labels.enumerated() { positives[i * classCount + label] = true }
        return BinaryRanking.rocAUC(scores: probabilities.map(Double.init), positives: positives)
    }

    /// One-vs-rest average precision of each class, `[K]`; `nil` for a class with no true examples.
    public func averagePrecisionPerClass() -> [Double?] {
        (0..<classCount).map { c in
            let (s, y) = oneVersusRest(c)
            return BinaryRanking.averagePrecision(scores: s, positives: y)
        }
    }

    /// Macro average precision, the mean over classes with true examples of the per-class AP
    /// (sklearn `average_precision_score(onehot, P, average='macro')` when every class occurs).
    /// AutoML Vision's headline "area under the precision-recall curve". `nil` when no class occurs.
    public func macroAveragePrecision() -> Double? { Self.mean(averagePrecisionPerClass()) }

    static func mean(_ values: [Double?]) -> Double? {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }
}
