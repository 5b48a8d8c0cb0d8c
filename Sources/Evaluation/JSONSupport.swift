import Foundation

/// Encoding helpers that keep every key present (absent values become `null`) and never let a
/// non-finite number reach JSON (NaN and ±∞ become `null`; `JSONEncoder` would throw on them).
extension KeyedEncodingContainer {
    mutating func encodeFinite(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func encodeFinite(_ values: [Double], forKey key: Key) throws {
        try encode(values.map { $0.isFinite ? $0 : nil }, forKey: key)
    }

    /// `encode`, but `nil` is written as `null` instead of the key being dropped.
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Reads a number array where `null` entries (formerly non-finite values) decode as NaN.
    func decodeNullableDoubles(forKey key: Key) throws -> [Double] {
        try decode([Double?].self, forKey: key).map { $0 ?? .nan }
    }
}
