/// A dense Float32 tensor: an explicit `Shape` over contiguous row-major `[Float]` storage.
///
/// A value type with copy-on-write storage (the array's). Layers keep their output and gradient
/// tensors between batches and overwrite them with `resize(to:)` + `withUnsafeMutablePointer`:
/// when nothing else still holds the previous batch's value the storage is reused in place, so the
/// training loop does not allocate; when something does, copy-on-write keeps that value intact.
public struct Tensor: Equatable, Sendable, CustomStringConvertible {
    public private(set) var shape: Shape
    /// Row-major elements; `storage.count == shape.count` always.
    public private(set) var storage: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(shape: Shape, repeating value: Float = 0) {
        self.shape = shape
        storage = [Float](repeating: value, count: shape.count)
    }

    /// A tensor of `shape` holding `values` (row-major).
    public init(shape: Shape, values: [Float]) {
        precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
        self.shape = shape
        storage = values
    }

    /// An empty placeholder (shape `[0]`), used to release cached activations.
    public static var empty: Tensor { Tensor(shape: [0]) }

    /// A tensor with elements drawn uniformly from `range`.
    public static func uniform(shape: Shape, in range: ClosedRange<Float>, using generator: inout SeededGenerator) -> Tensor {
        var values = [Float](repeating: 0, count: shape.count)
        for i in values.indices { values[i] = generator.nextFloat(in: range) }
        return Tensor(shape: shape, values: values)
    }

    /// A tensor with normally distributed elements.
    public static func normal(shape: Shape, mean: Float = 0, standardDeviation: Float = 1, using generator: inout SeededGenerator) -> Tensor {
        var values = [Float](repeating: 0, count: shape.count)
        for i in values.indices { values[i] = mean + standardDeviation * generator.nextGaussian() }
        return Tensor(shape: shape, values: values)
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public subscript(index: Int) -> Float {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// The same elements viewed with another shape of equal element count (no copy).
    public func reshaped(to newShape: Shape) -> Tensor {
        precondition(newShape.count == shape.count, "cannot reshape \(shape) to \(newShape)")
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// Changes the shape, keeping the storage's capacity; element values become unspecified
    /// (callers overwrite them). Shrinking and regrowing (a short last batch) does not reallocate.
    public mutating func resize(to newShape: Shape) {
        if newShape == shape { return }
        let newCount = newShape.count
        if newCount < storage.count {
            storage.removeLast(storage.count - newCount)
        } else if newCount > storage.count {
            storage.append(contentsOf: repeatElement(0, count: newCount - storage.count))
        }
        shape = newShape
    }

    /// Sets every element to `value`.
    public mutating func fill(_ value: Float) {
        storage.withUnsafeMutableBufferPointer { buffer in
            buffer.update(repeating: value)
        }
    }

    public func withUnsafePointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(bitPattern: 16)!) }
    }

    public mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!) }
    }

    public var description: String {
        let preview = storage.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor\(shape)(\(preview)\(storage.count > 8 ? ", …" : ""))"
    }

    /// Largest absolute element-wise difference to `other` (same shape).
    public func maximumAbsoluteDifference(to other: Tensor) -> Float {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var result: Float = 0
        for i in storage.indices { result = max(result, abs(storage[i] - other.storage[i])) }
        return result
    }
}
