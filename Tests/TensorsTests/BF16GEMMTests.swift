@testable import Tensors
import Testing

/// The bf16 GEMM (`GEMM.multiply(precision: .bf16)`: the AVX512_BF16 kernel where the CPU has it, else
/// rounded operands through `sgemm`) against the plain reference on bf16-rounded operands, on sizes that
/// cut every block, panel and vector of the kernel, every transpose, strided matrices and alpha/beta;
/// and the error bf16 costs against fp32 on fixed inputs, pinned.
@Suite struct BF16GEMMTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float
        var testDescription: String { "A\(transposeA ? "ᵀ" : "")·B\(transposeB ? "ᵀ" : "") m=\(m) n=\(n) k=\(k) α=\(alpha) β=\(beta)" }
    }

    /// Odd and block-edge sizes: MR = 8, vectors of 16, NR = 48, KC = 256, MC = 96, NC = 768.
    static let cases: [Case] = {
        let sizes = [1, 7, 8, 9, 17, 33, 49, 97, 257, 800]
        var cases = [Case]()
        var generator = SeededGenerator(seed: 26)
        for index in 0..<40 {
            let pick = { (g: inout SeededGenerator) in sizes[Int(g.next() % UInt64(sizes.count))] }
            cases.append(Case(transposeA: index % 2 == 1, transposeB: index / 2 % 2 == 1, m: pick(&generator), n: pick(&generator),
                              k: pick(&generator), alpha: index % 3 == 0 ? 1 : 0.5, beta: [0, 1, -0.25][index % 3]))
        }
        cases.append(Case(transposeA: false, transposeB: false, m: 5, n: 6, k: 0, alpha: 1, beta: 0.5))
        return cases
    }()

    /// Row strides wider than the rows, so a kernel that ignores them, or writes past a row's end, fails.
    struct Operands {
        var a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int

        init(_ t: Case, seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            lda = (t.transposeA ? t.m : t.k) + 3
            ldb = (t.transposeB ? t.k : t.n) + 5
            ldc = t.n + 2
            a = Tensor.uniform(shape: [(t.transposeA ? t.k : t.m) * lda], in: -1...1, using: &generator).storage
            b = Tensor.uniform(shape: [(t.transposeB ? t.n : t.k) * ldb], in: -1...1, using: &generator).storage
            c = Tensor.uniform(shape: [t.m * ldc], in: -1...1, using: &generator).storage
        }
    }

    /// `packed`: the operand passed packed (`PackedOperand`), packed here before the product.
    static func product(_ t: Case, _ o: Operands, precision: Precision?, roundedReference: Bool = false,
                        packed: PackedOperand.Side? = nil) -> [Float] {
        var c = o.c
        let a = roundedReference ? o.a.map(Precision.roundedToBF16) : o.a
        let b = roundedReference ? o.b.map(Precision.roundedToBF16) : o.b
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    if let precision {
                        let operand = packed.map { PackedOperand(side: $0) }
                        switch packed {
                        case .left: operand?.pack(transpose: t.transposeA, rows: t.m, columns: t.k, a.baseAddress!, stride: o.lda)
                        case .right: operand?.pack(transpose: t.transposeB, rows: t.k, columns: t.n, b.baseAddress!, stride: o.ldb)
                        case nil: break
                        }
                        GEMM.multiply(transposeA: t.transposeA, transposeB: t.transposeB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                                      a: a.baseAddress!, lda: o.lda, b: b.baseAddress!, ldb: o.ldb, beta: t.beta,
                                      c: c.baseAddress!, ldc: o.ldc, precision: precision,
                                      packedA: packed == .left ? operand : nil, packedB: packed == .right ? operand : nil)
                    } else {
                        GEMM.multiplyReference(transposeA: t.transposeA, transposeB: t.transposeB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                                               a: a.baseAddress!, lda: o.lda, b: b.baseAddress!, ldb: o.ldb, beta: t.beta,
                                               c: c.baseAddress!, ldc: o.ldc)
                    }
                }
            }
        }
        return c
    }

    @Test(arguments: cases)
    func bf16ProductEqualsTheReferenceOnRoundedOperands(_ t: Case) {
        let operands = Operands(t, seed: UInt64(t.m * 1_000_003 + t.n * 1_009 + t.k))
        let result = Self.product(t, operands, precision: .bf16)
        let expected = Self.product(t, operands, precision: nil, roundedReference: true)
        // Products of bf16 values are exact in fp32; only the fp32 sums' order and rounding differ.
        let tolerance = Float(2e-6) * Float(t.k + 1).squareRoot() * 4
        var worst: Float = 0
        for row in 0..<t.m {
            for column in 0..<operands.ldc {
                let index = row * operands.ldc + column
                if column >= t.n {
                    #expect(result[index] == operands.c[index], "column \(column) past n was written")
                } else {
                    worst = max(worst, abs(result[index] - expected[index]))
                }
            }
        }
        #expect(worst <= tolerance, "largest difference \(worst)")
    }

    /// An operand packed once (`PackedOperand`, left or right) gives exactly the product of the same
    /// operand packed by the call: the same words in the same order of sums.
    @Test(arguments: cases)
    func packedOperandsGiveTheSameProduct(_ t: Case) {
        let operands = Operands(t, seed: UInt64(t.m * 7_919 + t.n * 31 + t.k))
        let plain = Self.product(t, operands, precision: .bf16)
        #expect(Self.product(t, operands, precision: .bf16, packed: .left) == plain, "A packed once")
        #expect(Self.product(t, operands, precision: .bf16, packed: .right) == plain, "B packed once")
    }

    /// The kernel and the fallback for CPUs without AVX512_BF16 give the same products.
    @Test func kernelAndEmulationAgree() {
        let t = Case(transposeA: false, transposeB: true, m: 64, n: 97, k: 288, alpha: 1, beta: 0)
        let o = Operands(t, seed: 7)
        let kernel = Self.product(t, o, precision: .bf16)
        var emulated = o.c
        o.a.withUnsafeBufferPointer { a in
            o.b.withUnsafeBufferPointer { b in
                emulated.withUnsafeMutableBufferPointer { c in
                    GEMM.multiplyBF16Emulated(transposeA: false, transposeB: true, m: t.m, n: t.n, k: t.k, alpha: 1,
                                              a: a.baseAddress!, lda: o.lda, b: b.baseAddress!, ldb: o.ldb, beta: 0,
                                              c: c.baseAddress!, ldc: o.ldc)
                }
            }
        }
        let worst = zip(kernel, emulated).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    /// What bf16 costs, pinned on fixed inputs (uniform in [-1, 1], k = 288 as a 3×3 convolution over
    /// 32 channels): the relative error of the product against fp32 is that of 8-bit mantissas —
    /// far above fp32's (so the bf16 path really rounds) and far below a broken product's.
    @Test func bf16ErrorAgainstFP32IsPinned() {
        let t = Case(transposeA: false, transposeB: false, m: 64, n: 196, k: 288, alpha: 1, beta: 0)
        let o = Operands(t, seed: 11)
        let bf16 = Self.product(t, o, precision: .bf16), fp32 = Self.product(t, o, precision: .fp32)
        var error = 0.0, norm = 0.0
        for row in 0..<t.m {
            for column in 0..<t.n {
                let index = row * o.ldc + column
                error += Double(bf16[index] - fp32[index]) * Double(bf16[index] - fp32[index])
                norm += Double(fp32[index]) * Double(fp32[index])
            }
        }
        let relative = (error / norm).squareRoot()
        // Each operand's relative rounding error is uniform up to 2⁻⁹: about 2⁻⁹ · √(2/3) ≈ 1.6e-3 per
        // product, which random signs leave at that size relative to the sum.
        #expect(relative > 5e-4 && relative < 4e-3, "relative error \(relative)")
    }

    @Test func roundingIsToNearestEven() {
        #expect(Precision.roundedToBF16(1) == 1)
        // bf16 keeps 7 mantissa bits: next to 1 the values are 2⁻⁷ apart.
        #expect(Precision.roundedToBF16(1 + 1.0 / 256) == 1)  // halfway between 1 and 1 + 2⁻⁷: the even one
        #expect(Precision.roundedToBF16(1 + 3.0 / 256) == 1 + 1.0 / 64)  // halfway above an odd one: up
        #expect(Precision.roundedToBF16(1 + 1.0 / 256 + 1.0 / 4096) == 1 + 1.0 / 128)
        #expect(Precision.roundedToBF16(.nan).isNaN)
        #expect(Precision.roundedToBF16(.infinity) == .infinity)
    }

    @Test func choicesParse() {
        #expect(Precision(choice: "fp32") == .fp32)
        #expect(Precision(choice: "BF16") == .bf16)
        #expect(Precision(choice: "auto") == Precision.automatic)
        #expect(Precision(choice: "fp16") == nil)
    }
}
