import CSV
import Foundation

/// One data row of an AutoML Vision manifest, after CSV parsing and before any file is read.
public struct ManifestRow: Sendable, Equatable {
    /// 1-based line number in the manifest where the row starts.
    public var line: Int
    /// The set column; `nil` when the row has none (`path,label…`).
    public var set: SetName?
    /// The image reference as written (surrounding whitespace removed): a relative or absolute
    /// path, `file://…` or `gs://…`.
    public var path: String
    /// Labels, trimmed, empty fields dropped, repeats collapsed, in order of first appearance.
    public var labels: [String]
}

/// A row that could not be imported, with the reason shown to the user.
public struct RejectedRow: Codable, Sendable, Equatable {
    public var line: Int
    public var path: String
    /// A full sentence for the user.
    public var reason: String
    /// A short category for counting ("file not found", "undecodable image", "unknown set", …).
    public var kind: String

    public init(line: Int, path: String, reason: String, kind: String) {
        self.line = line
        self.path = path
        self.reason = reason
        self.kind = kind
    }
}

/// Errors that refuse a manifest as a whole (row problems are `RejectedRow`s instead).
public enum ManifestError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    /// The file is not UTF-8; `line` is the first line with an invalid byte sequence.
    case invalidUTF8(line: Int, byte: UInt8)
    /// Nothing in the manifest could be imported.
    case noUsableRows(reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "cannot read manifest \(path): \(reason)"
        case let .invalidUTF8(line, byte):
            "the manifest is not valid UTF-8: line \(line) has the byte 0x\(String(byte, radix: 16, uppercase: true)) "
                + "(a Windows-1252 or Latin-1 file?). Save it as UTF-8 and import again; nothing was imported."
        case let .noUsableRows(reason):
            "no usable row in the manifest: \(reason)"
        }
    }
}

/// The result of parsing a manifest's text.
public struct ParsedManifest: Sendable {
    public var rows: [ManifestRow] = []
    public var rejected: [RejectedRow] = []
    /// Informational messages (a skipped header row, a stripped byte-order mark).
    public var notices: [String] = []
    /// Warnings about rows that were still accepted.
    public var warnings: [String] = []
    /// Data rows read: every non-blank CSV record except a recognised header.
    public var rowsRead = 0
}

/// Parses AutoML Vision / Vertex AI image-classification manifests:
/// `[set,]path,label[,label…]`, no header (one is tolerated and reported).
///
/// Sources: AutoML Vision "Preparing your training data" (CSV rows `[set,]gcs_path[,label…]`),
/// the AutoML `InputConfig` reference (`ML_USE,GCS_FILE_PATH,LABEL,LABEL,...`), and Vertex AI's
/// image-classification import format (`[ml_use,]gcs_path,label`). Fields follow RFC 4180 through
/// the CSV.swift library (quotes, embedded commas and newlines, CRLF).
public struct ManifestParser: Sendable {
    /// Multi-label classification (AutoML's `MULTILABEL`); otherwise a row may carry one label.
    public var multiLabel: Bool
    /// Whether a first field that is not a set name refers to an image (then the row has no set column).
    public var isImageReference: @Sendable (String) -> Bool

    public init(multiLabel: Bool = false, isImageReference: @escaping @Sendable (String) -> Bool) {
        self.multiLabel = multiLabel
        self.isImageReference = isImageReference
    }

    /// Parses manifest bytes.
    /// - Throws: `ManifestError.invalidUTF8` when the bytes are not UTF-8 (the file is refused as a
    ///   whole rather than guessed at, so no label or path turns into mojibake).
    public func parse(_ bytes: [UInt8]) throws -> ParsedManifest {
        var result = ParsedManifest()
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) {
            body = body.dropFirst(3)
            result.notices.append("the manifest starts with a UTF-8 byte-order mark; it was ignored")
        }
        if let bad = Self.firstInvalidUTF8Line(body) {
            throw ManifestError.invalidUTF8(line: bad.line, byte: bad.byte)
        }
        let text = String(decoding: body, as: UTF8.self)
        let reader = try CSVReader(string: text)

        var line = 1
        var trimmedLabels: [String: [Int]] = [:]
        var sawRecord = false
        while let fields = reader.next() {
            let start = line
            // A record spans one line plus the newlines inside its quoted fields.
            line += 1 + fields.reduce(0) { $0 + $1.utf8.lazy.filter { $0 == 0x0A }.count }
            if fields.allSatisfy({ $0.trimmedWhitespace.isEmpty }) { continue }
            let isFirstRecord = !sawRecord
            sawRecord = true

            let first = fields[0].trimmedWhitespace
            var set: SetName?
            var rest: ArraySlice<String>
            if let name = SetName(first) {
                set = name
                rest = fields.dropFirst()
            } else if isImageReference(first) || Self.hasURIScheme(first) {
                rest = fields[...]
            } else if isFirstRecord, !fields.contains(where: { isImageReference($0.trimmedWhitespace) }) {
                result.notices.append("line \(start) looks like a header (\(fields.joined(separator: ","))) and was skipped; "
                    + "AutoML manifests have no header row")
                continue
            } else {
                result.rowsRead += 1
                var reason = "unknown set '\(first)' (allowed: \(SetName.allowedDescription))"
                if first.contains("/") || first.contains(".") { reason += "; if '\(first)' is an image path, no such file exists" }
                result.rejected.append(RejectedRow(line: start, path: fields.count > 1 ? fields[1] : first, reason: reason, kind: "unknown set"))
                continue
            }
            result.rowsRead += 1

            let path = (rest.first ?? "").trimmedWhitespace
            guard !path.isEmpty else {
                result.rejected.append(RejectedRow(line: start, path: "", reason: "no image path", kind: "no image path"))
                continue
            }
            var labels: [String] = []
            for raw in rest.dropFirst() {
                let label = raw.trimmedWhitespace
                if label.isEmpty { continue }  // trailing or doubled commas
                if label != raw { trimmedLabels["'\(raw)' → '\(label)'", default: []].append(start) }
                if !labels.contains(label) { labels.append(label) }
            }
            if !multiLabel, labels.count > 1 {
                result.rejected.append(RejectedRow(
                    line: start, path: path,
                    reason: "several labels (\(labels.joined(separator: ", "))) in a single-label dataset: import with --multi-label",
                    kind: "several labels"))
                continue
            }
            result.rows.append(ManifestRow(line: start, set: set, path: path, labels: labels))
        }
        if let error = reader.error { throw ManifestError.unreadable(path: "", reason: "\(error)") }
        for (change, lines) in trimmedLabels.sorted(by: { $0.value[0] < $1.value[0] }) {
            result.warnings.append("label \(change): surrounding whitespace trimmed (\(describeLines(lines)))")
        }
        return result
    }

    /// `scheme://` prefixes are image references whatever the scheme; unsupported ones get a row error later.
    public static func hasURIScheme(_ field: String) -> Bool {
        // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://".
        var utf8 = field.utf8.makeIterator()
        var length = 0
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): length += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
                guard length > 0 else { return false }
                length += 1
            case UInt8(ascii: ":"):
                return length > 0 && utf8.next() == UInt8(ascii: "/") && utf8.next() == UInt8(ascii: "/")
            default: return false
            }
        }
        return false
    }

    /// The first line (1-based) that is not valid UTF-8, and its first non-ASCII byte.
    static func firstInvalidUTF8Line(_ bytes: ArraySlice<UInt8>) -> (line: Int, byte: UInt8)? {
        if String(validating: bytes, as: UTF8.self) != nil { return nil }
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where String(validating: line, as: UTF8.self) == nil {
            return (index + 1, line.first { $0 >= 0x80 } ?? 0)
        }
        return nil
    }
}

/// "line 4", "lines 3, 5 and 9", "lines 3, 5, 9 and 12 more".
package func describeLines(_ lines: [Int], limit: Int = 5) -> String {
    let sorted = lines.sorted()
    if sorted.count == 1 { return "line \(sorted[0])" }
    let shown = sorted.prefix(limit).map(String.init)
    if sorted.count > limit { return "lines \(shown.joined(separator: ", ")) and \(sorted.count - limit) more" }
    return "lines \(shown.dropLast().joined(separator: ", ")) and \(shown.last!)"
}

extension String {
    /// Without leading and trailing white space (Unicode `White_Space`); `self` when there is none,
    /// which is the common case (Foundation's trimmingCharacters costs a tenth of an import).
    package var trimmedWhitespace: String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        if !first.properties.isWhitespace && !last.properties.isWhitespace { return self }
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed()
        return String(String.UnicodeScalarView(scalars))
    }
}
