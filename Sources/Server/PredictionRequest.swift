import Foundation
import ImageIO
import JobService

/// The three request shapes of `POST /v1/models/ID/predict`.
enum PredictionRequest {
    /// Raw image bytes (`image/png`, `image/jpeg`, `application/octet-stream` or no type; sniffed).
    case raw([UInt8])
    /// AutoML Vision: `{"payload":{"image":{"imageBytes":"<base64>"}},"params":{"score_threshold":"0.5","max_predictions":"5"}}`.
    case automl([UInt8], scoreThreshold: Double, maxPredictions: Int?)
    /// Vertex AI: `{"instances":[{"content":"<base64>"},…],"parameters":{"confidenceThreshold":0.5,"maxPredictions":5}}`.
    case vertex([[UInt8]], confidenceThreshold: Double, maxPredictions: Int)

    static let jsonHelp = "send {\"instances\":[{\"content\":\"<base64>\"}]} (Vertex AI) or "
        + "{\"payload\":{\"image\":{\"imageBytes\":\"<base64>\"}}} (AutoML Vision)"

    /// Parses a body by its Content-Type (only the media type counts, parameters are ignored).
    static func parse(body: [UInt8], contentType: String?) throws -> PredictionRequest {
        let mediaType = contentType.map { $0.split(separator: ";").first.map(String.init) ?? "" }?
            .trimmingCharacters(in: .whitespaces).lowercased()
        switch mediaType {
        case nil, "", "image/png", "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream":
            return .raw(body)
        case "application/json":
            return try parseJSON(body)
        case let type? where type.hasPrefix("multipart/"):
            throw APIError.unsupportedMediaType(
                "multipart uploads are not supported: POST the image's raw bytes with Content-Type image/png, image/jpeg or "
                    + "application/octet-stream, or JSON: \(jsonHelp)")
        case let type? where type.hasPrefix("text/"):
            var detail = "Content-Type \(type) is not accepted: POST the image's raw bytes with Content-Type image/png, image/jpeg or "
                + "application/octet-stream, or base64 in JSON (Content-Type application/json): \(jsonHelp)"
            if looksLikeBase64(body) { detail = "the body looks like base64 text; " + detail }
            throw APIError.unsupportedMediaType(detail)
        case let type?:
            if type.hasPrefix("image/") {
                // Another declared image type: the bytes decide (a GIF is then named as such).
                return .raw(body)
            }
            throw APIError.unsupportedMediaType(
                "Content-Type \(type) is not accepted: use image/png, image/jpeg, application/octet-stream or application/json (\(jsonHelp))")
        }
    }

    private static func parseJSON(_ body: [UInt8]) throws -> PredictionRequest {
        guard !body.isEmpty else { throw APIError.badRequest("the request body is empty: \(jsonHelp)") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(jsonHelp)")
        }
        guard let root = object as? [String: Any] else { throw APIError.badRequest("the JSON body must be an object: \(jsonHelp)") }
        if let instances = root["instances"] {
            guard let list = instances as? [Any], !list.isEmpty else {
                throw APIError.badRequest("\"instances\" must be a non-empty array of {\"content\":\"<base64>\"}")
            }
            var images: [[UInt8]] = []
            for (index, instance) in list.enumerated() {
                let text: String? = if let string = instance as? String { string } else if let fields = instance as? [String: Any] {
                    (fields["content"] ?? fields["b64"] ?? fields["imageBytes"] ?? fields["image_bytes"]) as? String
                } else { nil }
                guard let text else {
                    throw APIError.badRequest("instances[\(index)] has no \"content\": each instance is {\"content\":\"<base64 of the image file>\"}")
                }
                images.append(try decodeBase64(text, field: "instances[\(index)].content"))
            }
            let parameters = root["parameters"] as? [String: Any] ?? [:]
            let threshold = try number(parameters["confidenceThreshold"], field: "parameters.confidenceThreshold") ?? 0.5
            let maxPredictions = try number(parameters["maxPredictions"], field: "parameters.maxPredictions").map { Int($0) } ?? 10
            return .vertex(images, confidenceThreshold: threshold, maxPredictions: max(0, maxPredictions))
        }
        if let payload = root["payload"] as? [String: Any] {
            guard let image = payload["image"] as? [String: Any], let text = image["imageBytes"] as? String else {
                throw APIError.badRequest("\"payload\" must be {\"image\":{\"imageBytes\":\"<base64 of the image file>\"}}")
            }
            let bytes = try decodeBase64(text, field: "payload.image.imageBytes")
            let params = root["params"] as? [String: Any] ?? [:]
            let threshold = try number(params["score_threshold"], field: "params.score_threshold") ?? 0.5
            let maxPredictions = try number(params["max_predictions"], field: "params.max_predictions").map { max(0, Int($0)) }
            return .automl(bytes, scoreThreshold: threshold, maxPredictions: maxPredictions)
        }
        throw APIError.badRequest("the JSON body has neither \"instances\" nor \"payload\": \(jsonHelp)")
    }

    /// A number given as a JSON number or a string ("0.5", as AutoML's params are).
    private static func number(_ value: Any?, field: String) throws -> Double? {
        guard let value, !(value is NSNull) else { return nil }
        if let string = value as? String {
            guard let number = Double(string.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                throw APIError.badRequest("\(field) must be a number, got \"\(string)\"")
            }
            return number
        }
        if let number = value as? NSNumber, number.doubleValue.isFinite { return number.doubleValue }
        throw APIError.badRequest("\(field) must be a number")
    }

    /// Standard or URL-safe base64, with or without padding, whitespace ignored, an optional
    /// `data:…;base64,` prefix dropped.
    static func decodeBase64(_ text: String, field: String) throws -> [UInt8] {
        var text = Substring(text)
        if text.hasPrefix("data:"), let comma = text.firstIndex(of: ",") { text = text[text.index(after: comma)...] }
        var cleaned = String(text.filter { !$0.isWhitespace }.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        if cleaned.isEmpty { throw APIError.badRequest("\(field) is empty: give the base64 of the image file") }
        while cleaned.count % 4 != 0 { cleaned += "=" }
        guard let data = Data(base64Encoded: cleaned) else {
            throw APIError.badRequest("\(field) is not valid base64 (standard or URL-safe alphabet expected)")
        }
        return [UInt8](data)
    }

    static func looksLikeBase64(_ body: [UInt8]) -> Bool {
        guard !body.isEmpty else { return false }
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        if text.hasPrefix("data:") { return true }
        return text.allSatisfy { $0.isLetter || $0.isNumber || "+/=-_\r\n ".contains($0) }
    }
}
