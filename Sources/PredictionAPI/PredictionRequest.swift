import Foundation

/// The three request shapes of `POST /v1/models/ID/predict`, parsed and range-checked.
///
/// Every number is checked before it is converted: `maxPredictions` / `max_predictions` is an integer in
/// `maxPredictionsRange`, `confidenceThreshold` / `score_threshold` a number in `thresholdRange`;
/// anything else is a `PredictionRequestError.badRequest` naming the field and its range.
public enum PredictionRequest: Equatable, Sendable {
    /// Raw image bytes (`image/png`, `image/jpeg`, `application/octet-stream` or no type; sniffed).
    case raw([UInt8])
    /// AutoML Vision: `{"payload":{"image":{"imageBytes":"<base64>"}},"params":{"score_threshold":"0.5","max_predictions":"5"}}`.
    /// `maxPredictions` is `nil` when not given (all labels at or above the threshold); the threshold is
    /// `nil` when not given (the model's own: `defaultThreshold`, or a multi-label model's per-label ones).
    case automl([UInt8], scoreThreshold: Double?, maxPredictions: Int?)
    /// Vertex AI: `{"instances":[{"content":"<base64>"},…],"parameters":{"confidenceThreshold":0.5,"maxPredictions":5}}`.
    /// The threshold is `nil` when not given, as AutoML's.
    case vertex([[UInt8]], confidenceThreshold: Double?, maxPredictions: Int)

    /// Accepted `maxPredictions` / `max_predictions`: how many labels an answer lists at most. An answer
    /// never lists more labels than the model has, so the cap only bounds the integer (far above any
    /// label count a model here has).
    public static let maxPredictionsRange = 0...10_000
    /// Accepted `confidenceThreshold` / `score_threshold`: a probability.
    public static let thresholdRange = 0.0...1.0
    /// Vertex AI's default `maxPredictions`.
    public static let defaultMaxPredictions = 10
    /// The default threshold of both JSON shapes for a single-label model.
    public static let defaultThreshold = 0.5

    static let jsonHelp = "send {\"instances\":[{\"content\":\"<base64>\"}]} (Vertex AI) or "
        + "{\"payload\":{\"image\":{\"imageBytes\":\"<base64>\"}}} (AutoML Vision)"

    /// Parses a body by its Content-Type (only the media type counts, parameters are ignored).
    /// - Throws: `PredictionRequestError.unsupportedMediaType` for multipart, text and non-image types;
    ///   `.badRequest` for JSON that is malformed, has neither shape, bad base64 or an out-of-range number.
    public static func parse(body: [UInt8], contentType: String?) throws(PredictionRequestError) -> PredictionRequest {
        // Trimmed in Swift: Foundation's `trimmingCharacters` bridges through NSString, ~4 µs a request.
        let mediaType = contentType.map { header in
            let type = header.prefix { $0 != ";" }.trimmingPrefix(while: \.isWhitespace)
            return type[..<(type.lastIndex { !$0.isWhitespace }.map(type.index(after:)) ?? type.startIndex)].lowercased()
        }
        switch mediaType {
        case nil, "", "image/png", "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream":
            return .raw(body)
        case "application/json":
            return try parseJSON(body)
        case let type? where type.hasPrefix("multipart/"):
            throw .unsupportedMediaType(
                "multipart uploads are not supported: POST the image's raw bytes with Content-Type image/png, image/jpeg or "
                    + "application/octet-stream, or JSON: \(jsonHelp)")
        case let type? where type.hasPrefix("text/"):
            var detail = "Content-Type \(type) is not accepted: POST the image's raw bytes with Content-Type image/png, image/jpeg or "
                + "application/octet-stream, or base64 in JSON (Content-Type application/json): \(jsonHelp)"
            if looksLikeBase64(body) { detail = "the body looks like base64 text; " + detail }
            throw .unsupportedMediaType(detail)
        case let type?:
            if type.hasPrefix("image/") {
                // Another declared image type: the bytes decide (a GIF is then named as such).
                return .raw(body)
            }
            throw .unsupportedMediaType(
                "Content-Type \(type) is not accepted: use image/png, image/jpeg, application/octet-stream or application/json (\(jsonHelp))")
        }
    }

    private static func parseJSON(_ body: [UInt8]) throws(PredictionRequestError) -> PredictionRequest {
        guard !body.isEmpty else { throw .badRequest("the request body is empty: \(jsonHelp)") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw .badRequest("the body is not valid JSON: \(jsonHelp)")
        }
        guard let root = object as? [String: Any] else { throw .badRequest("the JSON body must be an object: \(jsonHelp)") }
        if let instances = root["instances"] {
            guard let list = instances as? [Any], !list.isEmpty else {
                throw .badRequest("\"instances\" must be a non-empty array of {\"content\":\"<base64>\"}")
            }
            var images: [[UInt8]] = []
            for (index, instance) in list.enumerated() {
                let text: String? = if let string = instance as? String { string } else if let fields = instance as? [String: Any] {
                    (fields["content"] ?? fields["b64"] ?? fields["imageBytes"] ?? fields["image_bytes"]) as? String
                } else { nil }
                guard let text else {
                    throw .badRequest("instances[\(index)] has no \"content\": each instance is {\"content\":\"<base64 of the image file>\"}")
                }
                images.append(try decodeBase64(text, field: "instances[\(index)].content"))
            }
            let parameters = try options(root["parameters"], field: "parameters")
            let threshold = try fraction(parameters["confidenceThreshold"], field: "parameters.confidenceThreshold")
            let maxPredictions = try count(parameters["maxPredictions"], field: "parameters.maxPredictions") ?? defaultMaxPredictions
            return .vertex(images, confidenceThreshold: threshold, maxPredictions: maxPredictions)
        }
        if let payload = root["payload"] as? [String: Any] {
            guard let image = payload["image"] as? [String: Any], let text = image["imageBytes"] as? String else {
                throw .badRequest("\"payload\" must be {\"image\":{\"imageBytes\":\"<base64 of the image file>\"}}")
            }
            let bytes = try decodeBase64(text, field: "payload.image.imageBytes")
            let params = try options(root["params"], field: "params")
            let threshold = try fraction(params["score_threshold"], field: "params.score_threshold")
            let maxPredictions = try count(params["max_predictions"], field: "params.max_predictions")
            return .automl(bytes, scoreThreshold: threshold, maxPredictions: maxPredictions)
        }
        throw .badRequest("the JSON body has neither \"instances\" nor \"payload\": \(jsonHelp)")
    }

    // MARK: Numbers

    /// The object of prediction options (`parameters`, `params`): empty when absent or `null`.
    static func options(_ value: Any?, field: String) throws(PredictionRequestError) -> [String: Any] {
        guard let value, !(value is NSNull) else { return [:] }
        guard let object = value as? [String: Any] else { throw .badRequest("\(field) must be an object, e.g. {\"maxPredictions\":5}") }
        return object
    }

    /// A `maxPredictions`-like count: an integer in `maxPredictionsRange`, checked as a `Double` before
    /// any conversion (`Int(1e19)` traps). `nil` when absent or `null`.
    static func count(_ value: Any?, field: String) throws(PredictionRequestError) -> Int? {
        guard let (number, text) = try parseNumber(value, field: field) else { return nil }
        let range = maxPredictionsRange
        guard number.rounded(.towardZero) == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw .badRequest("\(field) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(text)")
        }
        return Int(number)
    }

    /// A threshold: a number in `thresholdRange`. `nil` when absent or `null`.
    static func fraction(_ value: Any?, field: String) throws(PredictionRequestError) -> Double? {
        guard let (number, text) = try parseNumber(value, field: field) else { return nil }
        guard thresholdRange.contains(number) else {
            throw .badRequest("\(field) must be a number from \(thresholdRange.lowerBound) to \(thresholdRange.upperBound), got \(text)")
        }
        return number
    }

    /// A finite number given as a JSON number or a string ("0.5", as AutoML's params are), with its
    /// text as given, for error messages. `nil` when absent or `null`.
    private static func parseNumber(_ value: Any?, field: String) throws(PredictionRequestError) -> (Double, String)? {
        guard let value, !(value is NSNull) else { return nil }
        if let string = value as? String {
            let trimmed = string.trimmingCharacters(in: .whitespaces)
            guard let number = Double(trimmed), number.isFinite else {
                throw .badRequest("\(field) must be a number, got \"\(string.prefix(40))\"")
            }
            return (number, "\"\(trimmed)\"")
        }
        // JSONSerialization gives `true`/`false` as NSNumbers too, of Objective-C type "c" (char), which no
        // JSON number has; a boolean is not a number.
        if let number = value as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue.isFinite {
            return (number.doubleValue, "\(number.doubleValue)")
        }
        throw .badRequest("\(field) must be a number")
    }

    // MARK: Base64

    /// Standard or URL-safe base64, with or without padding, whitespace ignored, an optional
    /// `data:…;base64,` prefix dropped.
    public static func decodeBase64(_ text: String, field: String) throws(PredictionRequestError) -> [UInt8] {
        var text = Substring(text)
        if text.hasPrefix("data:"), let comma = text.firstIndex(of: ",") { text = text[text.index(after: comma)...] }
        var cleaned = String(text.filter { !$0.isWhitespace }.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        if cleaned.isEmpty { throw .badRequest("\(field) is empty: give the base64 of the image file") }
        while cleaned.count % 4 != 0 { cleaned += "=" }
        guard let data = Data(base64Encoded: cleaned) else {
            throw .badRequest("\(field) is not valid base64 (standard or URL-safe alphabet expected)")
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
