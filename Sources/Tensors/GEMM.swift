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
/// `precision` is the arithmetic (`Precision`): fp32, or bf16 operands with fp32 sums. For bf16,
/// `packedA` (or `packedB`) is that operand as `PackedOperand.pack` packed it, used when it holds this
/// product's op(A) (or op(B)); else `a` (or `b`) is.
public enum GEMM {
    /// Products smaller than this many multiply-adds skip BLAS for the loop below: on tiny
    /// matrices its dispatch costs more than the arithmetic (as in ggml's BLAS backend).
    public static let smallProductLimit = 4_096
    /// `A · Bᵀ` with fewer rows than this, summed over at least `fewRowsMinimumDepth`, runs as dot
    /// products (`av_gemm_nt_few_rows`) where the CPU has AVX2: measured faster than OpenBLAS below 16
    /// rows; each dot product ends in a sum across lanes, which short sums do not repay.
    public static let fewRowsLimit = 16
    public static let fewRowsMinimumDepth = 64

    public static func multiply(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        precision: Precision = .fp32,
        packedA: PackedOperand? = nil,
        packedB: PackedOperand? = nil
    ) {
        if m == 0 || n == 0 { return }
        Profile.addGEMM(m: m, n: n, k: k)
        Profile.measure(.gemm) {
            multiplyUnmeasured(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, precision: precision, packedA: packedA, packedB: packedB)
        }
    }

    private static func multiplyUnmeasured(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, precision: Precision, packedA: PackedOperand?, packedB: PackedOperand?
    ) {
        if precision == .bf16 {
            if let packedA, packedA.holds(.left, transposed: transposeA, rows: m, columns: k) {
                _ = packedA.words.withUnsafeBufferPointer { words in
                    av_gemm_bf16_packed_a(m, n, k, alpha, words.baseAddress, transposeB ? 1 : 0, b, ldb, beta, c, ldc)
                }
                return
            }
            if let packedB, packedB.holds(.right, transposed: transposeB, rows: k, columns: n) {
                _ = packedB.words.withUnsafeBufferPointer { words in
                    av_gemm_bf16_packed_b(transposeA ? 1 : 0, m, n, k, alpha, a, lda, words.baseAddress, beta, c, ldc)
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
        // x · Wᵀ for a few rows: OpenBLAS packs all of W on every call, 2–5× the arithmetic at these sizes
        // (docs/decisions/0038-dense-layer-at-small-batches.md); the dot-product kernel reads it in place.
        if !transposeA && transposeB && m < fewRowsLimit && k >= fewRowsMinimumDepth,
           av_gemm_nt_few_rows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 {
            return
        }
        // OpenBLAS 0.3.21 handles beta 0 with a separate pass (`sgemm_beta`) slower than memset:
        // zeroing C here and accumulating into it gives the same sums 10–35 % faster on the
        // convolution shapes (docs/decisions/0036-gemm-zeroing-before-openblas.md).
        if beta == 0 { zero(rows: m, columns: n, c, ldc: ldc) }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta == 0 ? 1 : beta, c, Int32(ldc))
    }

    /// Sets the `rows × columns` matrix at `c` (row stride `ldc`) to zero.
    private static func zero(rows: Int, columns: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        if ldc == columns {
            c.update(repeating: 0, count: rows * columns)
        } else {
            for row in 0..<rows { (c + row * ldc).update(repeating: 0, count: columns) }
        }
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

/// An operand of many bf16 products packed once, rounded to bf16: a layer's weights over a batch
/// (packed once, not once per image), or over many batches while they do not change. Filled before
/// a parallel loop and only read inside it.
public final class PackedOperand: @unchecked Sendable {
    /// Which operand of `C = op(A) · op(B)` it is.
    public enum Side: Sendable { case left, right }

    public let side: Side
    fileprivate var words = [UInt32]()
    /// op(X)'s rows and columns, as packed: `[m, k]` for A, `[k, n]` for B.
    private var shape: (transposed: Bool, rows: Int, columns: Int)?

    public init(side: Side) {
        self.side = side
    }

    /// Packs op(X), `rows × columns`: X is stored `[rows, columns]` with row stride `stride`, or
    /// `[columns, rows]` when `transpose`. Holds nothing afterwards where the CPU has no bf16 kernel;
    /// `GEMM.multiply` then uses the plain operand.
    public func pack(transpose: Bool, rows: Int, columns: Int, _ x: UnsafePointer<Float>, stride: Int) {
        let count = side == .left ? av_bf16_packed_a_words(rows, columns) : av_bf16_packed_b_words(rows, columns)
        if words.count < count { words = [UInt32](repeating: 0, count: count) }
        let packed = words.withUnsafeMutableBufferPointer { words in
            switch side {
            case .left: av_bf16_pack_a(transpose ? 1 : 0, rows, columns, x, stride, words.baseAddress) != 0
            case .right: av_bf16_pack_b(transpose ? 1 : 0, rows, columns, x, stride, words.baseAddress) != 0
            }
        }
        shape = packed ? (transpose, rows, columns) : nil
    }

    fileprivate func holds(_ side: Side, transposed: Bool, rows: Int, columns: Int) -> Bool {
        guard let shape, side == self.side else { return false }
        return shape.transposed == transposed && shape.rows == rows && shape.columns == columns
    }
}
