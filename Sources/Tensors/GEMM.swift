import CBLAS
import CKernels

/// Matrix multiplication: the only place that calls `cblas_sgemm` and the bf16 kernel.
///
/// Computes `C = alpha · op(A) · op(B) + beta · C` on row-major matrices, where `op(X)` is `X` or `Xᵀ`.
/// The three sizes are named once here and mean the same thing at every call site:
/// - `m`: rows of `C` (and of `op(A)`),
/// - `n`: columns of `C` (and of `op(B)`),
/// - `k`: the summed dimension (columns of `op(A)`, rows of `op(B)`).
/// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored (before any transpose).
/// `precision` is the arithmetic (`Precision`): fp32, or bf16 operands with fp32 sums; `packedA`, for
/// bf16, is A as `PackedLeftOperand.pack` packed it, used when it holds this A's shape (else `a` is).
public enum GEMM {
    /// Products smaller than this many multiply-adds skip BLAS for the loop below: on tiny
    /// matrices its dispatch costs more than the arithmetic (as in ggml's BLAS backend).
    public static let smallProductLimit = 4_096

    public static func multiply(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        precision: Precision = .fp32,
        packedA: PackedLeftOperand? = nil
    ) {
        if m == 0 || n == 0 { return }
        Profile.addGEMM(m: m, n: n, k: k)
        Profile.measure(.gemm) {
            multiplyUnmeasured(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, precision: precision, packedA: packedA)
        }
    }

    private static func multiplyUnmeasured(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, precision: Precision, packedA: PackedLeftOperand?
    ) {
        if precision == .bf16 {
            if let packedA, packedA.holds(transposed: transposeA, m: m, k: k) {
                _ = packedA.words.withUnsafeBufferPointer { words in
                    av_gemm_bf16_packed_a(m, n, k, alpha, words.baseAddress, transposeB ? 1 : 0, b, ldb, beta, c, ldc)
                }
                return
            }
            multiplyBF16(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m * n * k < smallProductLimit {
            multiplyReference(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// bf16 operands, fp32 sums: `av_gemm_bf16` where the CPU has AVX512_BF16; elsewhere the operands
    /// are rounded to bf16 into copies and multiplied in fp32, which gives the same products (a
    /// product of two bf16 values is exact in fp32) summed in another order.
    private static func multiplyBF16(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if av_gemm_bf16(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 { return }
        multiplyBF16Emulated(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// The bf16 product without the bf16 kernel: operands rounded into copies, multiplied by `sgemm`.
    static func multiplyBF16Emulated(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // As stored: A is [m, lda] (or [k, lda] transposed), B is [k, ldb] (or [n, ldb] transposed).
        let aCount = (transposeA ? k : m) * lda, bCount = (transposeB ? n : k) * ldb
        let roundedA = UnsafeMutablePointer<Float>.allocate(capacity: max(aCount, 1))
        let roundedB = UnsafeMutablePointer<Float>.allocate(capacity: max(bCount, 1))
        defer {
            roundedA.deallocate()
            roundedB.deallocate()
        }
        av_round_to_bf16(a, roundedA, aCount)
        av_round_to_bf16(b, roundedB, bCount)
        multiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: roundedA, lda: lda, b: roundedB, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// The same product by plain loops with a `Double` accumulator: the fallback for tiny
    /// matrices and the independent reference the tests compare BLAS against.
    public static func multiplyReference(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for row in 0..<m {
            for column in 0..<n {
                var sum = 0.0
                for inner in 0..<k {
                    let x = transposeA ? a[inner * lda + row] : a[row * lda + inner]
                    let y = transposeB ? b[column * ldb + inner] : b[inner * ldb + column]
                    sum += Double(x) * Double(y)
                }
                let previous = beta == 0 ? 0 : beta * c[row * ldc + column]
                c[row * ldc + column] = alpha * Float(sum) + previous
            }
        }
    }
}

/// A left operand packed once, rounded to bf16, for many bf16 products with it: a layer's weights over
/// a batch, which a per-image product would otherwise pack again for every image. Filled before a
/// parallel loop and only read inside it.
public final class PackedLeftOperand: @unchecked Sendable {
    fileprivate var words = [UInt32]()
    private var shape: (transposed: Bool, m: Int, k: Int)?

    public init() {}

    /// Packs A (`[m, k]` with row stride `lda`, or stored `[k, m]` when `transpose`). Holds nothing
    /// afterwards where the CPU has no bf16 kernel; `GEMM.multiply` then uses the plain operand.
    public func pack(transpose: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) {
        let count = av_bf16_packed_a_words(m, k)
        if words.count < count { words = [UInt32](repeating: 0, count: count) }
        let packed = words.withUnsafeMutableBufferPointer { av_bf16_pack_a(transpose ? 1 : 0, m, k, a, lda, $0.baseAddress) != 0 }
        shape = packed ? (transpose, m, k) : nil
    }

    fileprivate func holds(transposed: Bool, m: Int, k: Int) -> Bool {
        guard let shape else { return false }
        return shape.transposed == transposed && shape.m == m && shape.k == k
    }
}
