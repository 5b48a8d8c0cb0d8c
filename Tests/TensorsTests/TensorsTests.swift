import CBLAS
import CKernels
@testable import Tensors
import Testing

@Suite struct TensorsTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesReference(transposeA: Bool, transposeB: Bool) {
        var generator = SeededGenerator(seed: 1)
        let m = 37, n = 29, k = 41
        let a = Tensor.uniform(shape: [m * k], in: -1...1, using: &generator)
        let b = Tensor.uniform(shape: [k * n], in: -1...1, using: &generator)
        var c = Tensor.uniform(shape: [m * n], in: -1...1, using: &generator)
        var expected = c
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        a.withUnsafePointer { pa in
            b.withUnsafePointer { pb in
                c.withUnsafeMutablePointer { pc in
                    GEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                  a: pa, lda: lda, b: pb, ldb: ldb, beta: 2, c: pc, ldc: n)
                }
                expected.withUnsafeMutablePointer { pc in
                    GEMM.multiplyReference(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                           a: pa, lda: lda, b: pb, ldb: ldb, beta: 2, c: pc, ldc: n)
                }
            }
        }
        #expect(c.maximumAbsoluteDifference(to: expected) < 1e-4)
    }

    /// β = 0 zeroes C before OpenBLAS (decision 0036): C's old values, NaNs included, are not read,
    /// the columns past `n` of a strided C are left alone, and the sums are OpenBLAS's own β = 0 ones,
    /// bit for bit.
    @Test(arguments: [(false, false), (false, true), (true, false)])
    func gemmWithBetaZeroIgnoresCAndMatchesOpenBLAS(transposeA: Bool, transposeB: Bool) {
        var generator = SeededGenerator(seed: 2)
        let m = 33, n = 47, k = 19, ldc = n + 5
        let a = Tensor.uniform(shape: [m * k], in: -1...1, using: &generator)
        let b = Tensor.uniform(shape: [k * n], in: -1...1, using: &generator)
        var c = [Float](repeating: .nan, count: m * ldc)
        var blas = c
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        a.withUnsafePointer { pa in
            b.withUnsafePointer { pb in
                GEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                              a: pa, lda: lda, b: pb, ldb: ldb, beta: 0, c: &c, ldc: ldc)
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), 0.5, pa, Int32(lda), pb, Int32(ldb), 0, &blas, Int32(ldc))
            }
        }
        for row in 0..<m {
            let inside = c[row * ldc ..< row * ldc + n], outside = c[row * ldc + n ..< (row + 1) * ldc]
            #expect(inside.allSatisfy { $0.isFinite }, "row \(row): C's NaNs were read")
            #expect(outside.allSatisfy { $0.isNaN }, "row \(row): columns past n were written")
            #expect(inside.map(\.bitPattern) == blas[row * ldc ..< row * ldc + n].map(\.bitPattern), "row \(row)")
        }
    }

    /// `A · Bᵀ` for fewer than `GEMM.fewRowsLimit` rows goes through the dot-product kernel on AVX2
    /// CPUs (decision 0038): it matches the plain reference for every row count of its 4-row blocks, an
    /// odd column count, a depth with a tail past its 8 lanes, strided operands, and both β = 0 (C's old
    /// values, NaNs here, not read) and β ≠ 0; columns past `n` of a strided C are left alone.
    @Test(arguments: [1, 2, 3, 4, 5, 11, 15])
    func fewRowsKernelMatchesReference(m: Int) {
        var generator = SeededGenerator(seed: 3)
        let n = 7, k = 203, lda = k + 3, ldb = k + 1, ldc = n + 2
        let a = Tensor.uniform(shape: [m * lda], in: -1...1, using: &generator)
        let b = Tensor.uniform(shape: [n * ldb], in: -1...1, using: &generator)
        let old = Tensor.uniform(shape: [m * ldc], in: -1...1, using: &generator)
        for beta: Float in [0, 2] {
            var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : old.storage
            var expected = old.storage
            a.withUnsafePointer { pa in
                b.withUnsafePointer { pb in
                    GEMM.multiply(transposeB: true, m: m, n: n, k: k, alpha: 0.5, a: pa, lda: lda, b: pb, ldb: ldb, beta: beta, c: &c, ldc: ldc)
                    GEMM.multiplyReference(transposeB: true, m: m, n: n, k: k, alpha: 0.5, a: pa, lda: lda, b: pb, ldb: ldb,
                                           beta: beta, c: &expected, ldc: ldc)
                }
            }
            for row in 0..<m {
                for column in 0..<n {
                    #expect(abs(c[row * ldc + column] - expected[row * ldc + column]) < 1e-4, "β \(beta), C[\(row), \(column)]")
                }
                let outside = c[row * ldc + n ..< (row + 1) * ldc]
                #expect(beta == 0 ? outside.allSatisfy(\.isNaN) : Array(outside) == Array(old.storage[row * ldc + n ..< (row + 1) * ldc]),
                        "β \(beta), row \(row): columns past n were written")
            }
        }
        // The kernel itself ran (it declines only without AVX2 + FMA).
        var c = [Float](repeating: 0, count: m * ldc)
        let ran = a.withUnsafePointer { pa in b.withUnsafePointer { pb in av_gemm_nt_few_rows(m, n, k, 1, pa, lda, pb, ldb, 0, &c, ldc) } }
        #expect(ran == av_kernels_use_avx2())
    }

    /// im2col followed by a plain matrix product equals a direct convolution; col2im is its adjoint:
    /// ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩.
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 2), (1, 2, 0), (3, 1, 0)])
    func im2colIsConvolutionAndCol2imIsItsAdjoint(kernelSize: Int, stride: Int, padding: Int) {
        var generator = SeededGenerator(seed: 2)
        let g = ConvolutionGeometry(channels: 2, height: 7, width: 6, kernelSize: kernelSize, stride: stride, padding: padding)
        let x = Tensor.uniform(shape: [2, 7, 6], in: -1...1, using: &generator)
        var columns = Tensor(shape: [g.columnRows, g.columnColumns])
        x.withUnsafePointer { px in columns.withUnsafeMutablePointer { im2col(px, geometry: g, columns: $0) } }
        for c in 0..<2 {
            for ky in 0..<kernelSize {
                for kx in 0..<kernelSize {
                    for oy in 0..<g.outputHeight {
                        for ox in 0..<g.outputWidth {
                            let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                            let expected: Float = (0..<7).contains(iy) && (0..<6).contains(ix) ? x[(c * 7 + iy) * 6 + ix] : 0
                            let row = (c * kernelSize + ky) * kernelSize + kx
                            #expect(columns[row * g.columnColumns + oy * g.outputWidth + ox] == expected)
                        }
                    }
                }
            }
        }
        let probe = Tensor.uniform(shape: columns.shape, in: -1...1, using: &generator)
        var folded = Tensor(shape: [2, 7, 6])
        probe.withUnsafePointer { pc in folded.withUnsafeMutablePointer { col2im(pc, geometry: g, image: $0) } }
        var left = 0.0, right = 0.0
        for i in 0..<columns.count { left += Double(columns[i]) * Double(probe[i]) }
        for i in 0..<x.count { right += Double(x[i]) * Double(folded[i]) }
        #expect(abs(left - right) < 1e-4)
    }

    @Test func seededGeneratorIsReproducibleAndUniform() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        var generator = SeededGenerator(seed: 7)
        var histogram = [Int](repeating: 0, count: 10)
        var sum = 0.0, squares = 0.0
        for _ in 0..<100_000 {
            histogram[generator.nextInt(below: 10)] += 1
            let g = Double(generator.nextGaussian())
            sum += g; squares += g * g
        }
        #expect(histogram.allSatisfy { abs($0 - 10_000) < 500 })
        #expect(abs(sum / 100_000) < 0.02 && abs(squares / 100_000 - 1) < 0.03)
        var permutation = generator.permutation(100)
        #expect(permutation.sorted() == Array(0..<100))
        permutation = SeededGenerator(seed: 3).permutationCopy(100)
        #expect(permutation == SeededGenerator(seed: 3).permutationCopy(100))
    }

    @Test func resizeKeepsCapacityAndCopyOnWriteProtectsSharedValues() {
        var t = Tensor(shape: [4, 3], repeating: 1)
        let shared = t
        t.resize(to: [2, 3])
        t.fill(5)
        #expect(shared.storage == [Float](repeating: 1, count: 12))
        #expect(t.storage == [Float](repeating: 5, count: 6))
        t.resize(to: [4, 3])
        #expect(t.count == 12)
        let reshaped = t.reshaped(to: [12])
        #expect(reshaped.shape == [12] && reshaped.storage == t.storage)
    }

    @Test func parallelForCoversEveryItemOnce() {
        var seen = [Int](repeating: 0, count: 1_000)
        seen.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            Threading.parallelFor(1_000, minimumWork: 0) { range, _ in
                for i in range { base[i] += 1 }
            }
        }
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(Threading.chunk(1, of: 2, count: 5) == 2..<5)
    }
}

extension TensorsTests {
    /// Under the default policy, OpenBLAS runs one thread inside `serially` too, where nothing else
    /// reads the policy: at OpenBLAS's default (every core) a served model's instances, each calling
    /// it from its own thread, contended for its threads and halved the server's throughput. A run of
    /// this test alone (`--filter seriallyRuns`) starts from a process that has not read the policy.
    @Test func seriallyRunsOpenBLASSingleThreaded() {
        let threads = Threading.serially { openblas_get_num_threads() }
        if case .batchParallel = Threading.policy { #expect(threads == 1) }
    }
}

extension SeededGenerator {
    fileprivate func permutationCopy(_ count: Int) -> [Int] {
        var copy = self
        return copy.permutation(count)
    }
}

extension TensorsTests {
    /// Unfolding band by band (every band size, including bands wholly inside the padding) gives
    /// the rows of the full unfolding.
    @Test(arguments: [(3, 1, 1), (5, 1, 2), (3, 2, 1), (1, 1, 0)])
    func im2colStripsMatchTheWholeImage(kernelSize: Int, stride: Int, padding: Int) {
        var generator = SeededGenerator(seed: 6)
        let g = ConvolutionGeometry(channels: 2, height: 7, width: 5, kernelSize: kernelSize, stride: stride, padding: padding)
        let x = Tensor.uniform(shape: [2, 7, 5], in: -1...1, using: &generator)
        var whole = Tensor(shape: [g.columnRows, g.columnColumns])
        x.withUnsafePointer { px in whole.withUnsafeMutablePointer { im2col(px, geometry: g, columns: $0) } }
        for band in 1...g.outputHeight {
            for first in Swift.stride(from: 0, to: g.outputHeight, by: band) {
                let rows = first..<min(first + band, g.outputHeight)
                var part = Tensor(shape: [g.columnRows, rows.count * g.outputWidth])
                x.withUnsafePointer { px in part.withUnsafeMutablePointer { im2col(px, geometry: g, columns: $0, outputRows: rows) } }
                for r in 0..<g.columnRows {
                    for j in 0..<(rows.count * g.outputWidth) {
                        #expect(part[r * rows.count * g.outputWidth + j] == whole[r * g.columnColumns + first * g.outputWidth + j])
                    }
                }
            }
        }
    }
}

extension TensorsTests {
    /// BatchNorm's input-gradient pass: 8 lanes at a time and a scalar tail, the same sums as the formula.
    @Test(arguments: [0, 5, 8, 21])
    func affineCombinationMatchesTheFormulaInEveryLane(count: Int) {
        var generator = SeededGenerator(seed: 7)
        let g = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
        let x = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
        let (a, b, c): (Float, Float, Float) = (0.7, -1.3, 0.25)
        var y = [Float](repeating: .nan, count: count + 1)
        g.withUnsafeBufferPointer { gp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let base = yp.baseAddress else { return }
                    affineCombination(base, gp.baseAddress ?? UnsafePointer(base), a, xp.baseAddress ?? UnsafePointer(base), b, constant: c, count: count)
                }
            }
        }
        #expect((0..<count).allSatisfy { y[$0] == a * g[$0] + b * x[$0] + c })
        #expect(y[count].isNaN)
    }

    @Test func blasKernelEnvironmentPolicy() {
        #expect(BLASRuntime.desiredEnvironmentChange([:]) == nil)
        let auto = BLASRuntime.desiredEnvironmentChange(["OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"])
        #expect(auto?.unset.sorted() == ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] && auto?.set == [:])
        #expect(BLASRuntime.desiredEnvironmentChange(["OPENBLAS_CORETYPE": "Haswell", "AUTOVISION_BLAS_KERNELS": "inherit"]) == nil)
        #expect(BLASRuntime.desiredEnvironmentChange(["OPENBLAS_CORETYPE": "Haswell", "AUTOVISION_BLAS_RELAUNCHED": "1"]) == nil)
        #expect(BLASRuntime.desiredEnvironmentChange(["AUTOVISION_BLAS_KERNELS": "SkylakeX"])?.set == ["OPENBLAS_CORETYPE": "SkylakeX"])
        #expect(BLASRuntime.desiredEnvironmentChange(["AUTOVISION_BLAS_KERNELS": "SkylakeX", "OPENBLAS_CORETYPE": "SkylakeX"]) == nil)
        #expect(!BLASRuntime.coreName.isEmpty)
    }
}
