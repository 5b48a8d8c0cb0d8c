#include "CKernels.h"
#include "target.h"

/// `C = alpha · A · Bᵀ + beta · C` for a few rows of A, as dot products along `k`: a dense layer's
/// inputs times its weights at a server's batch of a few images. Both operands are read in place, so
/// B (the weights) is streamed once per four rows of A, where a packing GEMM copies all of it on every
/// call (docs/decisions/0038-dense-layer-at-small-batches.md). Four rows of A meet two rows of B at a
/// time in eight 8-lane accumulators, each summed across its lanes at the end.

#if AV_X86
AV_AVX2 AV_INLINE float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// `rows` (1…4) rows of A against rows `b0` and `b1` of B: `C[r][0]` and, when `two`, `C[r][1]`.
AV_AVX2 AV_INLINE void block(const long rows, const float *a, long lda, const float *b0, const float *b1, long k, float alpha,
                             float beta, float *c, long ldc, int two) {
    __m256 s0[4], s1[4];
    for (long r = 0; r < rows; r++) s0[r] = s1[r] = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= k; i += 8) {
        const __m256 v0 = _mm256_loadu_ps(b0 + i), v1 = _mm256_loadu_ps(b1 + i);
        for (long r = 0; r < rows; r++) {
            const __m256 x = _mm256_loadu_ps(a + r * lda + i);
            s0[r] = _mm256_fmadd_ps(x, v0, s0[r]);
            s1[r] = _mm256_fmadd_ps(x, v1, s1[r]);
        }
    }
    for (long r = 0; r < rows; r++) {
        const float *x = a + r * lda;
        float d0 = sum8(s0[r]), d1 = sum8(s1[r]);
        for (long j = i; j < k; j++) {
            d0 += x[j] * b0[j];
            d1 += x[j] * b1[j];
        }
        float *out = c + r * ldc;
        out[0] = alpha * d0 + (beta == 0 ? 0 : beta * out[0]);
        if (two) out[1] = alpha * d1 + (beta == 0 ? 0 : beta * out[1]);
    }
}

/// One function per row count, so each loop over rows is unrolled and its accumulators stay in registers.
#define AV_BLOCK_OF_ROWS(R)                                                                                                        \
    AV_AVX2 static void block##R(const float *a, long lda, const float *b0, const float *b1, long k, float alpha, float beta,     \
                                 float *c, long ldc, int two) {                                                                  \
        block(R, a, lda, b0, b1, k, alpha, beta, c, ldc, two);                                                                   \
    }
AV_BLOCK_OF_ROWS(4)
AV_BLOCK_OF_ROWS(3)
AV_BLOCK_OF_ROWS(2)
AV_BLOCK_OF_ROWS(1)
#endif

int av_gemm_nt_few_rows(long m, long n, long k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
                        float *c, long ldc) {
#if AV_X86
    if (!av_kernels_use_avx2()) return 0;
    for (long row = 0; row < m; row += 4) {
        const long rows = m - row < 4 ? m - row : 4;
        for (long column = 0; column < n; column += 2) {
            const int two = column + 1 < n;
            const float *b0 = b + column * ldb, *b1 = two ? b0 + ldb : b0;
            const float *x = a + row * lda;
            float *out = c + row * ldc + column;
            switch (rows) {
            case 4: block4(x, lda, b0, b1, k, alpha, beta, out, ldc, two); break;
            case 3: block3(x, lda, b0, b1, k, alpha, beta, out, ldc, two); break;
            case 2: block2(x, lda, b0, b1, k, alpha, beta, out, ldc, two); break;
            default: block1(x, lda, b0, b1, k, alpha, beta, out, ldc, two); break;
            }
        }
    }
    return 1;
#else
    (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
#endif
}
