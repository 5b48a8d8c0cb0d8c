/// Elementwise and reduction helpers on tensors and raw buffers.
extension Tensor {
    /// `self += other` elementwise (same element count).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: \(shape) vs \(other.shape)")
        let n = count
        other.withUnsafePointer { source in
            withUnsafeMutablePointer { target in
                for i in 0..<n { target[i] += source[i] }
            }
        }
    }

    /// `self *= factor` elementwise.
    public mutating func scale(by factor: Float) {
        let n = count
        withUnsafeMutablePointer { target in
            for i in 0..<n { target[i] *= factor }
        }
    }

    /// Sum of the elements, accumulated in `Double`.
    public func sum() -> Double {
        withUnsafePointer { pointer in
            var total = 0.0
            for i in 0..<count { total += Double(pointer[i]) }
            return total
        }
    }

    /// Sum of squares, accumulated in `Double`.
    public func squaredNorm() -> Double {
        withUnsafePointer { pointer in
            var total = 0.0
            for i in 0..<count { total += Double(pointer[i]) * Double(pointer[i]) }
            return total
        }
    }

    /// Index of the largest element of each row of a `[N, K]` tensor.
    public func argmaxRows() -> [Int] {
        let rows = shape[0], columns = count / max(1, shape[0])
        return withUnsafePointer { pointer in
            (0..<rows).map { row in
                var best = 0
                var bestValue = -Float.infinity
                for column in 0..<columns where pointer[row * columns + column] > bestValue {
                    bestValue = pointer[row * columns + column]
                    best = column
                }
                return best
            }
        }
    }
}

/// `y[i] += x[i]` for `count` elements.
@inlinable
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

/// Sum of `count` elements in `Float` with 8 independent accumulators (vectorises).
@inlinable
public func sumOf(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < count { total += x[i]; i += 1 }
    return total
}

/// `Σ (x[i] − mean)²` over `count` elements, with 8 independent accumulators (vectorises).
@inlinable
public func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, count: Int, mean: Float) -> Float {
    var acc = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m
        acc += d * d  // not addProduct: without FMA in the target it becomes a libm call per lane
        i += 8
    }
    var total = acc.sum()
    while i < count {
        let d = x[i] - mean
        total += d * d
        i += 1
    }
    return total
}

/// The ReLU after a BatchNorm, as BatchNorm's backward pass sees it: input element `x` reached the
/// ReLU as `x·scale + shift` (the forward pass's per-channel affine transform), and the ReLU passed
/// the gradient on only where that was > 0 (0 at exactly 0, as `ReLU`).
public struct ReLUAfterAffine: Sendable {
    public var scale: Float
    public var shift: Float

    @inlinable
    public init(scale: Float, shift: Float) {
        self.scale = scale
        self.shift = shift
    }

    /// Scale 0 and shift 1: every element passes, ±∞ and NaN too (0·x + 1 is 1 or NaN, never ≤ 0).
    @usableFromInline static let passAll = ReLUAfterAffine(scale: 0, shift: 1)
}

/// `y[i] = a·x[i] + b` over `count` elements (BatchNorm's output), or with `relu` `max(0, a·x[i] + b)`:
/// the ReLU after the BatchNorm in the same pass. The same arithmetic as `ReLUAfterAffine`'s test, so
/// the backward pass recomputes exactly which outputs were positive.
@inlinable
public func affineTransform(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, scale a: Float, shift b: Float,
                            count: Int, relu: Bool) {
    // Values below `floor` become 0: 0 for the ReLU, −∞ (nothing) without it.
    let floor: Float = relu ? 0 : -.infinity
    let av = SIMD8<Float>(repeating: a), bv = SIMD8<Float>(repeating: b), fv = SIMD8<Float>(repeating: floor)
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * av + bv
        UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: 0, where: v .< fv), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let v = x[i] * a + b
        y[i] = v < floor ? 0 : v
        i += 1
    }
}

/// `g[i..<i+8]`, zero in the lanes a ReLU after the affine transform did not pass.
@inlinable @inline(__always)
func passedGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ i: Int, _ relu: ReLUAfterAffine) -> SIMD8<Float> {
    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
    let reached = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * SIMD8(repeating: relu.scale) + SIMD8(repeating: relu.shift)
    return gv.replacing(with: 0, where: reached .<= SIMD8<Float>())
}

/// `g[i]`, or 0 where a ReLU after the affine transform did not pass it.
@inlinable @inline(__always)
func passedGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ i: Int, _ relu: ReLUAfterAffine) -> Float {
    x[i] * relu.scale + relu.shift <= 0 ? 0 : g[i]
}

/// `y[i] = a·g′[i] + b·x[i] + c` over `count` elements (BatchNorm's input gradient), 8 lanes at a
/// time: written with indices into the three buffers, the loop kept Swift's overflow checks and ran
/// one element at a time. `g′` is `g`, or with `relu` `g` where that ReLU passed it and 0 elsewhere.
@inlinable
public func affineCombination(_ y: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, _ b: Float,
                              constant c: Float, count: Int, relu: ReLUAfterAffine? = nil) {
    let relu = relu ?? .passAll
    let av = SIMD8<Float>(repeating: a), bv = SIMD8<Float>(repeating: b), cv = SIMD8<Float>(repeating: c)
    var i = 0
    while i + 8 <= count {
        let gv: SIMD8<Float> = passedGradient(g, x, i, relu)
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: av * gv + bv * xv + cv, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let gi: Float = passedGradient(g, x, i, relu)
        y[i] = a * gi + b * x[i] + c
        i += 1
    }
}

/// `(Σ g′[i], Σ g′[i]·(x[i] − mean))` over `count` elements (BatchNorm's backward reductions), `g′`
/// as in `affineCombination`.
@inlinable
public func sumAndCenteredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, mean: Float,
                              relu: ReLUAfterAffine? = nil) -> (Float, Float) {
    let relu = relu ?? .passAll
    var sum = SIMD8<Float>(), dot = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let gv: SIMD8<Float> = passedGradient(g, x, i, relu)
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m
        sum += gv
        dot += gv * xv
        i += 8
    }
    var s = sum.sum(), d = dot.sum()
    while i < count {
        let gi: Float = passedGradient(g, x, i, relu)
        s += gi
        d += gi * (x[i] - mean)
        i += 1
    }
    return (s, d)
}

/// `(Σ (x[i] − shift), Σ (x[i] − shift)²)` in one pass (8 accumulators). With `shift` near the mean
/// (e.g. the first element) the variance `E[(x−s)²] − E[x−s]²` loses little to cancellation.
@inlinable
public func shiftedSums(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> (Float, Float) {
    var sum = SIMD8<Float>(), squares = SIMD8<Float>()
    let s = SIMD8<Float>(repeating: shift)
    var i = 0
    while i + 8 <= count {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - s
        sum += d
        squares += d * d
        i += 8
    }
    var total = sum.sum(), totalSquares = squares.sum()
    while i < count {
        let d = x[i] - shift
        total += d
        totalSquares += d * d
        i += 1
    }
    return (total, totalSquares)
}
