/// The dimensions of a tensor, outermost first. For images the order is NCHW: `[N, C, H, W]`.
public struct Shape: Hashable, Codable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// Sizes of the dimensions, outermost first.
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) {
        precondition(dimensions.allSatisfy { $0 >= 0 }, "negative dimension in \(dimensions)")
        self.dimensions = dimensions
    }

    public init(_ dimensions: Int...) { self.init(dimensions) }
    public init(arrayLiteral elements: Int...) { self.init(elements) }

    /// Number of dimensions.
    public var rank: Int { dimensions.count }
    /// Number of elements (product of the dimensions; 1 for a scalar shape `[]`).
    public var count: Int { dimensions.reduce(1, *) }
    public subscript(index: Int) -> Int { dimensions[index] }
    /// The batch size of a batched shape (`dimensions[0]`).
    public var batch: Int { dimensions[0] }
    /// Elements per batch item: `count / dimensions[0]`.
    public var itemCount: Int { dimensions.dropFirst().reduce(1, *) }
    /// The same shape with a different batch size.
    public func with(batch: Int) -> Shape {
        var copy = dimensions
        copy[0] = batch
        return Shape(copy)
    }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }

    public init(from decoder: any Decoder) throws {
        dimensions = try decoder.singleValueContainer().decode([Int].self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(dimensions)
    }
}
