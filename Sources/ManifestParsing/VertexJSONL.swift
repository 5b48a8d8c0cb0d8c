import Foundation

/// Vertex AI's JSON Lines import format for image classification, read as the CSV manifest it says
/// the same as (https://cloud.google.com/vertex-ai/docs/image-data/classification/prepare-data):
/// `{"imageGcsUri": "gs://…", "classificationAnnotation": {"displayName": "cat"},
///   "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "training"}}` (multi-label:
/// `classificationAnnotations`, a list).
public enum VertexJSONL {
    /// Each line of `bytes` (split at LF) becomes the CSV row `ML_USE,URI,LABEL…` on the same line, so
    /// the import's line numbers are the file's. A line that is not such an object (not UTF-8, not
    /// JSON, no `imageGcsUri`, or a field holding a line break, which would shift the rows after it)
    /// becomes a one-field row saying why, which `ManifestParser` rejects on that line.
    public static func csvManifest(_ bytes: [UInt8]) -> [UInt8] {
        let rows = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> String in
            guard let text = String(validating: line, as: UTF8.self) else { return "this line is not UTF-8 text" }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return "" }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any],
                  let uri = object["imageGcsUri"] as? String
            else { return csvField("not a JSON object with imageGcsUri: \(printable(trimmed.prefix(80)))") }
            let annotations = (object["classificationAnnotations"] as? [[String: Any]])
                ?? (object["classificationAnnotation"] as? [String: Any]).map { [$0] } ?? []
            let labels = annotations.compactMap { $0["displayName"] as? String }
            let mlUse = (object["dataItemResourceLabels"] as? [String: Any])?["aiplatform.googleapis.com/ml_use"] as? String
            let fields = [mlUse ?? "UNASSIGNED", uri] + labels
            if fields.contains(where: { $0.contains(where: \.isNewline) }) {
                return csvField("a field of this line holds a line break: \(printable(trimmed.prefix(80)))")
            }
            return fields.map(csvField).joined(separator: ",")
        }
        return Array(rows.joined(separator: "\n").utf8)
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break.
    static func csvField(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }

    /// `text` with control characters (a raw CR among them) shown as `?`, for a message on one line.
    static func printable(_ text: Substring) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}
