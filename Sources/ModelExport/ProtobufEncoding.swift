import Foundation
import SwiftProtobuf

extension SwiftProtobuf.Message {
    /// The binary encoding with map entries in key order, so one model always exports to the same
    /// bytes (Swift dictionaries iterate in a per-process order).
    func deterministicData() throws -> Data {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try serializedBytes(options: options)
    }
}
