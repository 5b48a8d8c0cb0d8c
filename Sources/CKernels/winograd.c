#include "CKernels.h"
#include "target.h"

#include <string.h>

/// Winograd F(2×2, 3×3) transforms (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
/// Networks", https://arxiv.org/abs/1509.09308, section 4.1): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for each
/// 2×2 output tile, with
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// The 16 element-wise products over channels are 16 matrix products, left to the caller's GEMM.
/// The tile loops run over tiles in one flat index (`ty · tilesWide + tx`), so the short rows of
/// these networks (7 or 14 tiles) do not end in scalar tails. Each function is compiled for baseline
/// x86-64 and for AVX2 + FMA, picked at run time.

AV_INLINE void weights_body(const float *restrict w, long outputs, long channels, float *restrict u) {
    const long stride = outputs * channels;
    for (long o = 0; o < outputs; o++) {
        for (long c = 0; c < channels; c++) {
            const float *g = w + (o * channels + c) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            float *target = u + o * channels + c;
            for (int i = 0; i < 4; i++) {
                target[(i * 4 + 0) * stride] = t[i][0];
                target[(i * 4 + 1) * stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                target[(i * 4 + 2) * stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                target[(i * 4 + 3) * stride] = t[i][2];
            }
        }
    }
}

/// Row `row` of channels `first…C−1` of x (`[C, height, width]`) channel-last into `line`: `line[col · C + c]`.
AV_INLINE void hwc_row(const float *restrict x, long C, long height, long width, long row, float *restrict line, long first) {
    for (long c = first; c < C; c++) {
        const float *source = x + (c * height + row) * width;
        for (long col = 0; col < width; col++) line[col * C + c] = source[col];
    }
}

#if AV_X86
/// `hwc_row` eight channels by eight columns at a time, through an 8×8 transpose in registers: one
/// element at a time, these stores were over half of the input transform.
AV_AVX2 static void hwc_row_avx2(const float *restrict x, long C, long height, long width, long row, float *restrict line) {
    const long plane = height * width;
    long c = 0;
    for (; c + 8 <= C; c += 8) {
        const float *s = x + (c * height + row) * width;
        long col = 0;
        for (; col + 8 <= width; col += 8) {
            const __m256 r0 = _mm256_loadu_ps(s + col), r1 = _mm256_loadu_ps(s + plane + col);
            const __m256 r2 = _mm256_loadu_ps(s + 2 * plane + col), r3 = _mm256_loadu_ps(s + 3 * plane + col);
            const __m256 r4 = _mm256_loadu_ps(s + 4 * plane + col), r5 = _mm256_loadu_ps(s + 5 * plane + col);
            const __m256 r6 = _mm256_loadu_ps(s + 6 * plane + col), r7 = _mm256_loadu_ps(s + 7 * plane + col);
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *out = line + col * C + c;
            _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(out + C, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(out + 2 * C, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(out + 3 * C, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(out + 4 * C, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(out + 5 * C, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(out + 6 * C, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(out + 7 * C, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (; col < width; col++) {
            for (long i = 0; i < 8; i++) line[col * C + c + i] = s[i * plane + col];
        }
    }
    hwc_row(x, C, height, width, row, line, c);
}
#endif

/// `avx2`: a constant, so the generic version never calls the AVX2 transpose.
AV_INLINE void input_body(const float *restrict x, long channels, long height, long width, float *restrict v, long ldv,
                          float *restrict scratch, const int avx2) {
    const long tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2;
    const long paddedWidth = 2 * tilesWide + 2, paddedHeight = 2 * tilesHigh + 2;
    const long C = channels, stride = ldv * channels;
    // The image channel-last, in a zero border: hwc[(py · paddedWidth + px) · C + c], so every tap of
    // every tile is in bounds and the loops below run along channels, contiguous and as long as C.
    float *hwc = scratch;
    memset(hwc, 0, sizeof(float) * (size_t)(paddedWidth * C));
    for (long py = height + 1; py < paddedHeight; py++) memset(hwc + py * paddedWidth * C, 0, sizeof(float) * (size_t)(paddedWidth * C));
    for (long row = 0; row < height; row++) {
        float *line = hwc + (row + 1) * paddedWidth * C;
        memset(line, 0, sizeof(float) * (size_t)C);
        memset(line + (width + 1) * C, 0, sizeof(float) * (size_t)((paddedWidth - width - 1) * C));
#if AV_X86
        if (avx2) { hwc_row_avx2(x, C, height, width, row, line + C); continue; }
#endif
        (void)avx2;
        hwc_row(x, C, height, width, row, line + C, 0);
    }
    for (long ty = 0; ty < tilesHigh; ty++) {
        for (long tx = 0; tx < tilesWide; tx++) {
            const float *d = hwc + (2 * ty * paddedWidth + 2 * tx) * C;
            float *out = v + (ty * tilesWide + tx) * C;
            const long rowStep = paddedWidth * C;
            for (long c = 0; c < C; c++) {
                float t[4][4];
                for (int j = 0; j < 4; j++) {
                    // Column j of Bᵀd.
                    const float d0 = d[j * C + c], d1 = d[rowStep + j * C + c];
                    const float d2 = d[2 * rowStep + j * C + c], d3 = d[3 * rowStep + j * C + c];
                    t[0][j] = d0 - d2;
                    t[1][j] = d1 + d2;
                    t[2][j] = d2 - d1;
                    t[3][j] = d1 - d3;
                }
                for (int i = 0; i < 4; i++) {
                    // Row i of (Bᵀd)B.
                    out[(i * 4 + 0) * stride + c] = t[i][0] - t[i][2];
                    out[(i * 4 + 1) * stride + c] = t[i][1] + t[i][2];
                    out[(i * 4 + 2) * stride + c] = t[i][2] - t[i][1];
                    out[(i * 4 + 3) * stride + c] = t[i][1] - t[i][3];
                }
            }
        }
    }
}

/// One output row of tiles: `row[2t] = even[t]`, and `row[2t + 1] = odd[t]` where that column is inside
/// `width` (an odd width leaves the last tile's second column out).
AV_INLINE void interleave_row(const float *restrict even, const float *restrict odd, float *restrict row, long tiles, long width) {
    for (long t = 0; t < tiles; t++) {
        row[2 * t] = even[t];
        if (2 * t + 1 < width) row[2 * t + 1] = odd[t];
    }
}

#if AV_X86
/// Tiles `t…t+7` of `interleave_row`, both columns of each.
AV_AVX2 AV_INLINE void interleave8(const float *even, const float *odd, float *row, long t) {
    const __m256 a = _mm256_loadu_ps(even + t), b = _mm256_loadu_ps(odd + t);
    const __m256 low = _mm256_unpacklo_ps(a, b), high = _mm256_unpackhi_ps(a, b);
    _mm256_storeu_ps(row + 2 * t, _mm256_permute2f128_ps(low, high, 0x20));
    _mm256_storeu_ps(row + 2 * t + 8, _mm256_permute2f128_ps(low, high, 0x31));
}

/// Tiles `t…t+3`, both columns of each.
AV_AVX2 AV_INLINE void interleave4(const float *even, const float *odd, float *row, long t) {
    const __m128 a = _mm_loadu_ps(even + t), b = _mm_loadu_ps(odd + t);
    _mm_storeu_ps(row + 2 * t, _mm_unpacklo_ps(a, b));
    _mm_storeu_ps(row + 2 * t + 4, _mm_unpackhi_ps(a, b));
}

/// `interleave_row` four or eight tiles at a time: one element at a time, these stores were half of
/// the output transform. These rows are short (7 or 14 tiles), so the last block overlaps the one
/// before instead of ending in a scalar tail (as the pooling rows do); overlapping stores write the
/// same values.
AV_AVX2 static void interleave_row_avx2(const float *restrict even, const float *restrict odd, float *restrict row, long tiles,
                                        long width) {
    const long whole = 2 * tiles <= width ? tiles : tiles - 1;  // tiles with both columns inside the row
    if (whole >= 8) {
        for (long t = 0; t + 8 <= whole; t += 8) interleave8(even, odd, row, t);
        interleave8(even, odd, row, whole - 8);
    } else if (whole >= 4) {
        interleave4(even, odd, row, 0);
        interleave4(even, odd, row, whole - 4);
    } else {
        interleave_row(even, odd, row, whole, 2 * whole);
    }
    if (whole < tiles) row[2 * whole] = even[whole];
}
#endif

/// `avx2`: a constant, as in `input_body`.
AV_INLINE void output_body(const float *restrict m, long outputs, long height, long width, long ldm, float *restrict y,
                           float *restrict scratch, const int avx2) {
    const long tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2, tiles = tilesHigh * tilesWide;
    const long stride = outputs * ldm;
    float *r0 = scratch, *r1 = scratch + tiles, *r2 = scratch + 2 * tiles, *r3 = scratch + 3 * tiles;
    for (long o = 0; o < outputs; o++) {
        const float *p = m + o * ldm;
        for (long t = 0; t < tiles; t++) {
            float s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                const float a = p[j * stride + t], b = p[(4 + j) * stride + t];
                const float c = p[(8 + j) * stride + t], e = p[(12 + j) * stride + t];
                s0[j] = a + b + c;
                s1[j] = b - c - e;
            }
            r0[t] = s0[0] + s0[1] + s0[2];
            r1[t] = s0[1] - s0[2] - s0[3];
            r2[t] = s1[0] + s1[1] + s1[2];
            r3[t] = s1[1] - s1[2] - s1[3];
        }
        float *plane = y + o * height * width;
        for (long ty = 0; ty < tilesHigh; ty++) {
            float *top = plane + 2 * ty * width;
            const long t0 = ty * tilesWide;
            const int fullHeight = 2 * ty + 1 < height;
#if AV_X86
            if (avx2) {
                interleave_row_avx2(r0 + t0, r1 + t0, top, tilesWide, width);
                if (fullHeight) interleave_row_avx2(r2 + t0, r3 + t0, top + width, tilesWide, width);
                continue;
            }
#endif
            (void)avx2;
            interleave_row(r0 + t0, r1 + t0, top, tilesWide, width);
            if (fullHeight) interleave_row(r2 + t0, r3 + t0, top + width, tilesWide, width);
        }
    }
}

static void weights_generic(const float *w, long outputs, long channels, float *u) {
    weights_body(w, outputs, channels, u);
}
static void input_generic(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch) {
    input_body(x, channels, height, width, v, ldv, scratch, 0);
}
static void output_generic(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch) {
    output_body(m, outputs, height, width, ldm, y, scratch, 0);
}

#if AV_X86
AV_AVX2 static void input_avx2(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch) {
    input_body(x, channels, height, width, v, ldv, scratch, 1);
}
AV_AVX2 static void output_avx2(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch) {
    output_body(m, outputs, height, width, ldm, y, scratch, 1);
}
#endif

long av_winograd_scratch_floats(long channels, long height, long width) {
    const long tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2;
    const long input = (2 * tilesWide + 2) * (2 * tilesHigh + 2) * channels, output = 4 * tilesHigh * tilesWide;
    return input > output ? input : output;
}

void av_winograd_weights(const float *w, long outputs, long channels, float *u) {
    weights_generic(w, outputs, channels, u);
}

void av_winograd_input(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch) {
#if AV_X86
    if (av_kernels_use_avx2()) { input_avx2(x, channels, height, width, v, ldv, scratch); return; }
#endif
    input_generic(x, channels, height, width, v, ldv, scratch);
}

void av_winograd_output(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch) {
#if AV_X86
    if (av_kernels_use_avx2()) { output_avx2(m, outputs, height, width, ldm, y, scratch); return; }
#endif
    output_generic(m, outputs, height, width, ldm, y, scratch);
}
