import Foundation
import Hummingbird

/// Writes JSON response bodies: every one a Codable value, encoded by the one `encoder`.
///
/// Two renderings, each what clients have always received from its routes:
/// - `records`, for bodies of stored records (datasets, jobs, trials, models): the encoder's JSON
///   read and written again by JSONSerialization. It reads a number of 17 significant digits as a
///   decimal and writes it without exponent (`0.000015263620298355818` where JSONEncoder writes
///   `1.5263620298355818e-05`; shorter ones keep it: `1.5e-05`), writes `-0` as `0`, and orders keys
///   as Foundation compares strings, numeric and caseless (labels `class2` before `class10`, `cat`
///   before `Dog`) where JSONEncoder orders them by code point. The jobs directory is shown as
///   `JOBS_DIR` when a redaction is given.
/// - `values`, for computed answers (predictions, health): the encoder's JSON as it is, which is
///   how JSONSerialization writes a Swift `Double` (`1.5263620298355818e-05`).
enum JSONBody {
    /// Keys sorted, `/` not escaped, dates in ISO 8601 (UTC, whole seconds).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static func values(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }

    static func records(_ value: some Encodable, redaction: PathRedaction?) throws -> Data {
        let data = try encoder.encode(value)
        // A jobs directory whose name JSON escapes could break the redacted text: then the text stays as it was.
        let object = try redaction.flatMap { try? JSONSerialization.jsonObject(with: $0.apply(toJSON: data)) } ?? JSONSerialization.jsonObject(with: data)
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}

/// An optional property that a synthesized `Encodable` writes as `null` when absent, where it leaves a
/// plain optional out: for fields the API documents as always present.
@propertyWrapper
struct NullWhenAbsent<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension Response {
    /// A response with `body` as `application/json`.
    static func json(_ body: Data, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
