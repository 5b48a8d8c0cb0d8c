import Foundation

/// A compute budget: wall-clock seconds for search and final training on this machine, as AutoML
/// Vision's `train_budget_milli_node_hours` but in plain time.
public struct Budget: Codable, Sendable, Equatable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    /// Parses `90s`, `10m`, `1h`, `1h30m`, `2h15m30s` or a plain number of seconds.
    /// - Throws: `SearchError.invalidBudget` with the accepted forms.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let plain = Double(trimmed), plain > 0 {
            seconds = plain
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
        seconds = total
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
    /// Not even one trial and a final training fit in the budget.
    case budgetTooSmall(requested: Double, needed: Double)
    case noTrainingImages
    case noTrialFinished
    /// `shouldStop` asked the search to stop before any trial finished an epoch.
    case cancelled

    public var description: String {
        switch self {
        case let .invalidBudget(text):
            "invalid budget '\(text)': use seconds (90 or 90s), minutes (10m), hours (1h) or a mix (1h30m)"
        case let .budgetTooSmall(requested, needed):
            "a budget of \(Budget.format(requested)) is too small for even one trial on this dataset and machine; "
                + "give at least \(Budget.format(needed.rounded(.up)))"
        case .noTrainingImages: "the dataset has no TRAIN images with labels"
        case .noTrialFinished: "no search trial finished within the budget"
        case .cancelled: "the search was cancelled before any trial finished"
        }
    }
}
