/// The three partitions of an AutoML Vision dataset.
public enum Partition: String, Codable, CaseIterable, Sendable, Comparable {
    case train = "TRAIN"
    case validation = "VALIDATION"
    case test = "TEST"

    public static func < (a: Partition, b: Partition) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The first column of a manifest row (AutoML Vision's `ML_USE`, Vertex AI's `ml_use`).
///
/// **Letter-case rule:** set names are matched case-insensitively, so `TRAIN`, `train` and `Train`
/// are one name. Accepted names: `TRAIN`/`TRAINING` (Vertex writes `training`; some AutoML pages
/// write `TRAINING`), `VALIDATION`/`VALIDATE` (the legacy grammar says `VALIDATE`, users write
/// `VALIDATION`), `TEST`, and `UNASSIGNED` (split automatically at import).
public enum SetName: Equatable, Sendable {
    case partition(Partition)
    case unassigned

    /// The names a user may write, for error messages.
    public static let allowedDescription =
        "TRAIN, VALIDATION (or VALIDATE), TEST, UNASSIGNED, or Vertex's training, validation, test; any letter case"

    /// Parses a set name under the case-insensitive rule; `nil` when `field` is not a set name.
    public init?(_ field: String) {
        switch field.trimmedWhitespace.uppercased() {
        case "TRAIN", "TRAINING": self = .partition(.train)
        case "VALIDATION", "VALIDATE": self = .partition(.validation)
        case "TEST": self = .partition(.test)
        case "UNASSIGNED": self = .unassigned
        default: return nil
        }
    }
}

import Foundation
