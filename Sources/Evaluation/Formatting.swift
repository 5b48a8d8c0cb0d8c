import Foundation

/// Small text helpers shared by the HTML and terminal renderings.
enum Format {
    /// `0.912` → `"91.2%"`; `nil` or non-finite → `"—"`.
    static func percent(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.\(digits)f%%", value * 100)
    }

    /// Fixed-point number; `nil` or non-finite → `"—"`.
    static func number(_ value: Double?, digits: Int = 3) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.\(digits)f", value)
    }

    /// `5025` seconds → `"1h 23m 45s"`, `42.3` → `"42.3s"`.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = total % 3600 / 60, s = total % 60
        return h > 0 ? "\(h)h \(m)m \(s)s" : "\(m)m \(s)s"
    }

    /// `1_234_567` → `"1.23M"`.
    static func count(_ value: Int) -> String {
        let v = Double(value)
        switch abs(v) {
        case 1e9...: return String(format: "%.2fG", v / 1e9)
        case 1e6...: return String(format: "%.2fM", v / 1e6)
        case 1e4...: return String(format: "%.1fk", v / 1e3)
        default: return String(value)
        }
    }

    /// Bytes in GiB, one decimal.
    static func gibibytes(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / 1_073_741_824) }

    /// At most `limit` characters (grapheme clusters, so emoji stay whole), with `…` when cut.
    static func truncated(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(1, limit - 1))) + "…"
    }

    /// Left-aligned in `width` characters.
    static func padded(_ text: String, _ width: Int) -> String {
        let t = truncated(text, width)
        return t + String(repeating: " ", count: max(0, width - t.count))
    }

    /// Right-aligned in `width` characters.
    static func leftPadded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

extension String {
    /// The string with `& < > " '` replaced by entities: safe in HTML/SVG text and in quoted attributes.
    public var htmlEscaped: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
