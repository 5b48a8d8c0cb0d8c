import Foundation

/// Vertex AI's JSON Lines import format for image classification, read as the CSV manifest it says
/// the same as (https://cloud.google.com/vertex-ai/docs/image-data/classification/prepare-data):
/// `{"imageGcsUri": "gs://…", "classificationAnnotation": {"displayName": "cat"},
///   "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "training"}}` (multi-label:
/// `classificationAnnotations`, a list). Each JSON line becomes the CSV row `ML_USE,URI,LABEL…` on the
/// same line, so the import's line numbers are the file's; a line that is not such an object becomes
/// a row the manifest parser rejects with its reason.
enum VertexJSONL {
    static func csvManifest(_ bytes: [UInt8]) throws -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError.badRequest("the JSONL file is not UTF-8 text")
        }
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return "" }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any],
                  let uri = object["imageGcsUri"] as? String
            else { return csvField("not a JSON object with imageGcsUri: \(trimmed.prefix(80))") }
            let annotations = (object["classificationAnnotations"] as? [[String: Any]]) ?? (object["classificationAnnotation"] as? [String: Any]).map { [$0] } ?? []
            let labels = annotations.compactMap { $0["displayName"] as? String }
            let mlUse = (object["dataItemResourceLabels"] as? [String: Any])?["aiplatform.googleapis.com/ml_use"] as? String
            return ([mlUse ?? "UNASSIGNED", uri] + labels).map(csvField).joined(separator: ",")
        }
        return Array(rows.joined(separator: "\n").utf8)
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break.
    static func csvField(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}
