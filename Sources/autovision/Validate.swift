import ArgumentParser

/// Checks of option values, thrown as `ValidationError` so the tool prints one line with the usage
/// and exits 64 (EX_USAGE), as swift-argument-parser does for values it cannot parse.
enum Validate {
    /// - Throws: `ValidationError` naming `option` and `range` when `value` is outside it (NaN included).
    static func range<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    /// - Throws: `ValidationError` when `value` is empty or only spaces.
    static func nonEmpty(_ value: String, _ option: String) throws {
        guard !value.allSatisfy(\.isWhitespace) else { throw ValidationError("\(option) must not be empty") }
    }
}
