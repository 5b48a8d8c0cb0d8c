import Foundation

/// A compute budget: wall-clock seconds for search and final training on this machine, as AutoML
/// Vision's `train_budget_milli_node_hours` but in plain time.
public struct Budget: Codable, Sendable, Equatable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    /// The budgets a job accepts, in seconds: 1 second to 7 days.
    public static let allowedSeconds: ClosedRange<Double> = 1...(7 * 86_400)

    /// Parses `90s`, `10m`, `1h`, `1h30m`, `2h15m30s` or a plain number of seconds, within `allowedSeconds`.
    /// - Throws: `SearchError.invalidBudget` with the accepted forms (for `inf`, `nan`, `-5m`, `0`, text),
    ///   `SearchError.budgetOutOfRange` for a number outside `allowedSeconds` (`1e300`).
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || ".smh+e".contains($0)) }) else {
            throw SearchError.invalidBudget(text)
        }
        if let plain = Double(trimmed) {
            guard plain > 0 else { throw SearchError.invalidBudget(text) }
            try self.init(checkedSeconds: plain)
            return
        }
        var total = 0.0, number = "", sawUnit = false
        for character in trimmed {
            if character.isNumber || character == "." {
                number.append(character)
            } else if let unit = ["s": 1.0, "m": 60, "h": 3600][String(character)], let value = Double(number) {
                total += value * unit
                number = ""
                sawUnit = true
            } else {
                throw SearchError.invalidBudget(text)
            }
        }
        guard number.isEmpty, sawUnit, total > 0 else { throw SearchError.invalidBudget(text) }
        try self.init(checkedSeconds: total)
    }

    /// A budget of `seconds`, checked against `allowedSeconds`.
    /// - Throws: `SearchError.budgetOutOfRange` for a value outside it (NaN and infinities included).
    public init(checkedSeconds seconds: Double) throws {
        guard Self.allowedSeconds.contains(seconds) else { throw SearchError.budgetOutOfRange(seconds) }
        self.seconds = seconds
    }

    public var description: String { Self.format(seconds) }

    /// `95` → `1m35s`.
    public static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        let h = whole / 3600, m = whole % 3600 / 60, s = whole % 60
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 || whole == 0 ? "\(s)s" : "")
    }
}

/// Errors of the architecture search.
public enum SearchError: Error, Equatable, CustomStringConvertible {
    case invalidBudget(String)
    /// A budget outside `Budget.allowedSeconds`.
    case budgetOutOfRange(Double)
    /// Not even one trial and a final training fit in the budget.
    case budgetTooSmall(requested: Double, needed: Double)
    /// A job resumed after an interruption has too little of its budget left to finish.
    case tooLittleLeftToResume(usedSeconds: Double, budgetSeconds: Double)
    case noTrainingImages
    case noTrialFinished
    /// `shouldStop` asked the search to stop before any trial finished an epoch.
    case cancelled

    public var description: String {
        switch self {
        case let .invalidBudget(text):
            "invalid budget '\(text)': use seconds (90 or 90s), minutes (10m), hours (1h) or a mix (1h30m)"
        case let .budgetOutOfRange(seconds):
            "a budget of \(seconds) s is outside 1 s … 7 days (604800 s)"
        case let .budgetTooSmall(requested, needed):
            "a budget of \(Budget.format(requested)) is too small for even one trial on this dataset and machine; "
                + "give at least \(Budget.format(needed.rounded(.up)))"
        case let .tooLittleLeftToResume(used, budget):
            "interrupted after using \(Budget.format(used)) of the \(Budget.format(budget)) budget, too little is left to finish; "
                + "submit the job again"
        case .noTrainingImages: "the dataset has no TRAIN images with labels"
        case .noTrialFinished: "no search trial finished within the budget"
        case .cancelled: "the search was cancelled before any trial finished"
        }
    }
}
