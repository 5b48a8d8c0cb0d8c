#include "CKernels.h"
#include "target.h"

#include <string.h>

/// Max pooling with a 2×2 window and stride 2: inference, training (with the window position of
/// each maximum) and its gradient. Each row of outputs runs through a plain loop, or on AVX2 CPUs
/// through vectors of eight (then four) outputs; a row's last vector overlaps the one before rather
/// than ending in a scalar tail, since the rows of these networks are short (14 or 7 outputs) and
/// the tail was most of the time. Recomputing an output writes the same values, so overlap is safe.

// MARK: Plain rows

/// One row of `count` outputs from the input rows `top` and `bottom`. A later value wins only when
/// larger or NaN, in row-major order, so the first maximum wins ties and a NaN wins (PyTorch's rule).
AV_INLINE void pool_row(const float *top, const float *bottom, float *out, unsigned char *where, long count) {
    for (long ox = 0; ox < count; ox++) {
        float best = top[2 * ox];
        int position = 0;
        const float v1 = top[2 * ox + 1], v2 = bottom[2 * ox], v3 = bottom[2 * ox + 1];
        const int take1 = v1 > best || v1 != v1;
        best = take1 ? v1 : best;
        position = take1 ? 1 : position;
        const int take2 = v2 > best || v2 != v2;
        best = take2 ? v2 : best;
        position = take2 ? 2 : position;
        const int take3 = v3 > best || v3 != v3;
        best = take3 ? v3 : best;
        position = take3 ? 3 : position;
        out[ox] = best;
        if (where) where[ox] = (unsigned char)position;
    }
}

/// One row of the gradient: each window gets `gradient` at its recorded position, 0 elsewhere.
AV_INLINE void unpool_row(const float *gradient, const unsigned char *where, float *top, float *bottom, long count) {
    for (long ox = 0; ox < count; ox++) {
        const float g = gradient[ox];
        const int position = where[ox];
        top[2 * ox] = position == 0 ? g : 0.0f;
        top[2 * ox + 1] = position == 1 ? g : 0.0f;
        bottom[2 * ox] = position == 2 ? g : 0.0f;
        bottom[2 * ox + 1] = position == 3 ? g : 0.0f;
    }
}

// MARK: AVX2 rows

#if AV_X86
/// `a` where `take`, else `b`, for float lanes.
#define AV_SELECT(take, a, b) _mm256_blendv_ps((b), (a), (take))

/// Lanes where `v` wins over `best`: larger, or NaN.
AV_AVX2 AV_INLINE __m256 wins8(__m256 v, __m256 best) {
    return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

AV_AVX2 AV_INLINE __m128 wins4(__m128 v, __m128 best) {
    return _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v));
}

/// Eight outputs: the even and odd columns of 16 input floats per row, split by one shuffle each
/// and put back in order by a 64-bit lane permute.
AV_AVX2 AV_INLINE void pool8(const float *top, const float *bottom, float *out, unsigned char *where) {
    const __m256 t0 = _mm256_loadu_ps(top), t1 = _mm256_loadu_ps(top + 8);
    const __m256 b0 = _mm256_loadu_ps(bottom), b1 = _mm256_loadu_ps(bottom + 8);
    const __m256 tl = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0x88)), 0xD8));
    const __m256 tr = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0xDD)), 0xD8));
    const __m256 bl = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), 0xD8));
    const __m256 br = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xDD)), 0xD8));
    __m256 best = tl, position = _mm256_setzero_ps();
    __m256 take = wins8(tr, best);
    best = AV_SELECT(take, tr, best);
    position = AV_SELECT(take, _mm256_set1_ps(1), position);
    take = wins8(bl, best);
    best = AV_SELECT(take, bl, best);
    position = AV_SELECT(take, _mm256_set1_ps(2), position);
    take = wins8(br, best);
    best = AV_SELECT(take, br, best);
    position = AV_SELECT(take, _mm256_set1_ps(3), position);
    _mm256_storeu_ps(out, best);
    if (where) {
        const __m256i p = _mm256_cvtps_epi32(position);
        const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        _mm_storel_epi64((__m128i *)where, _mm_packus_epi16(words, words));
    }
}

/// Four outputs from 8 input floats per row (SSE's shuffle keeps order: no permute).
AV_AVX2 AV_INLINE void pool4(const float *top, const float *bottom, float *out, unsigned char *where) {
    const __m128 t0 = _mm_loadu_ps(top), t1 = _mm_loadu_ps(top + 4);
    const __m128 b0 = _mm_loadu_ps(bottom), b1 = _mm_loadu_ps(bottom + 4);
    const __m128 tl = _mm_shuffle_ps(t0, t1, 0x88), tr = _mm_shuffle_ps(t0, t1, 0xDD);
    const __m128 bl = _mm_shuffle_ps(b0, b1, 0x88), br = _mm_shuffle_ps(b0, b1, 0xDD);
    __m128 best = tl, position = _mm_setzero_ps();
    __m128 take = wins4(tr, best);
    best = _mm_blendv_ps(best, tr, take);
    position = _mm_blendv_ps(position, _mm_set1_ps(1), take);
    take = wins4(bl, best);
    best = _mm_blendv_ps(best, bl, take);
    position = _mm_blendv_ps(position, _mm_set1_ps(2), take);
    take = wins4(br, best);
    best = _mm_blendv_ps(best, br, take);
    position = _mm_blendv_ps(position, _mm_set1_ps(3), take);
    _mm_storeu_ps(out, best);
    if (where) {
        const __m128i p = _mm_cvtps_epi32(position);
        const __m128i words = _mm_packs_epi32(p, p);
        const int bytes = _mm_cvtsi128_si32(_mm_packus_epi16(words, words));
        memcpy(where, &bytes, 4);
    }
}

/// Eight outputs' gradients spread over their 2×2 windows: per position a mask of the lanes it won,
/// then the left and right columns interleaved back into input order.
AV_AVX2 AV_INLINE void unpool8(const float *gradient, const unsigned char *where, float *top, float *bottom) {
    const __m256 g = _mm256_loadu_ps(gradient);
    long long bytes;
    memcpy(&bytes, where, 8);
    const __m256i p = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes));
    const __m256 tl = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p, _mm256_set1_epi32(0))));
    const __m256 tr = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p, _mm256_set1_epi32(1))));
    const __m256 bl = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p, _mm256_set1_epi32(2))));
    const __m256 br = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p, _mm256_set1_epi32(3))));
    const __m256 topLow = _mm256_unpacklo_ps(tl, tr), topHigh = _mm256_unpackhi_ps(tl, tr);
    const __m256 bottomLow = _mm256_unpacklo_ps(bl, br), bottomHigh = _mm256_unpackhi_ps(bl, br);
    _mm256_storeu_ps(top, _mm256_permute2f128_ps(topLow, topHigh, 0x20));
    _mm256_storeu_ps(top + 8, _mm256_permute2f128_ps(topLow, topHigh, 0x31));
    _mm256_storeu_ps(bottom, _mm256_permute2f128_ps(bottomLow, bottomHigh, 0x20));
    _mm256_storeu_ps(bottom + 8, _mm256_permute2f128_ps(bottomLow, bottomHigh, 0x31));
}

AV_AVX2 AV_INLINE void unpool4(const float *gradient, const unsigned char *where, float *top, float *bottom) {
    const __m128 g = _mm_loadu_ps(gradient);
    int bytes;
    memcpy(&bytes, where, 4);
    const __m128i p = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(bytes));
    const __m128 tl = _mm_and_ps(g, _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(0))));
    const __m128 tr = _mm_and_ps(g, _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(1))));
    const __m128 bl = _mm_and_ps(g, _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(2))));
    const __m128 br = _mm_and_ps(g, _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(3))));
    _mm_storeu_ps(top, _mm_unpacklo_ps(tl, tr));
    _mm_storeu_ps(top + 4, _mm_unpackhi_ps(tl, tr));
    _mm_storeu_ps(bottom, _mm_unpacklo_ps(bl, br));
    _mm_storeu_ps(bottom + 4, _mm_unpackhi_ps(bl, br));
}

/// A row in vectors of eight, the last one overlapping; rows of 4…7 in vectors of four; shorter plain.
AV_AVX2 static void pool_row_avx2(const float *top, const float *bottom, float *out, unsigned char *where, long count) {
    const long width = count >= 8 ? 8 : count >= 4 ? 4 : 0;
    if (width == 0) { pool_row(top, bottom, out, where, count); return; }
    for (long ox = 0;; ox += width) {
        if (ox + width > count) ox = count - width;
        if (width == 8) pool8(top + 2 * ox, bottom + 2 * ox, out + ox, where ? where + ox : NULL);
        else pool4(top + 2 * ox, bottom + 2 * ox, out + ox, where ? where + ox : NULL);
        if (ox + width == count) break;
    }
}

AV_AVX2 static void unpool_row_avx2(const float *gradient, const unsigned char *where, float *top, float *bottom, long count) {
    const long width = count >= 8 ? 8 : count >= 4 ? 4 : 0;
    if (width == 0) { unpool_row(gradient, where, top, bottom, count); return; }
    for (long ox = 0;; ox += width) {
        if (ox + width > count) ox = count - width;
        if (width == 8) unpool8(gradient + ox, where + ox, top + 2 * ox, bottom + 2 * ox);
        else unpool4(gradient + ox, where + ox, top + 2 * ox, bottom + 2 * ox);
        if (ox + width == count) break;
    }
}
#endif

// MARK: Planes

/// Whether the AVX2 rows run (the CPU has AVX2; checked once by `av_kernels_use_avx2`).
static int use_avx2(void) {
#if AV_X86
    return av_kernels_use_avx2();
#else
    return 0;
#endif
}

/// Both forward passes: `where` NULL for inference.
static void pool_planes(const float *x, float *y, unsigned char *where, long planes, long height, long width) {
    const long outHeight = height / 2, outWidth = width / 2;
    const int avx2 = use_avx2();
    for (long p = 0; p < planes; p++) {
        for (long oy = 0; oy < outHeight; oy++) {
            const float *top = x + p * height * width + 2 * oy * width;
            const long offset = (p * outHeight + oy) * outWidth;
            unsigned char *rowWhere = where ? where + offset : NULL;
#if AV_X86
            if (avx2) { pool_row_avx2(top, top + width, y + offset, rowWhere, outWidth); continue; }
#endif
            pool_row(top, top + width, y + offset, rowWhere, outWidth);
        }
    }
    (void)avx2;
}

void av_max_pool_2x2(const float *x, float *y, long planes, long height, long width) {
    pool_planes(x, y, NULL, planes, height, width);
}

void av_max_pool_2x2_argmax(const float *x, float *y, unsigned char *where, long planes, long height, long width) {
    pool_planes(x, y, where, planes, height, width);
}

void av_max_pool_2x2_backward(const float *dy, const unsigned char *where, float *dx, long planes, long height, long width) {
    const long outHeight = height / 2, outWidth = width / 2;
    const int avx2 = use_avx2();
    for (long p = 0; p < planes; p++) {
        float *plane = dx + p * height * width;
        for (long oy = 0; oy < outHeight; oy++) {
            float *top = plane + 2 * oy * width;
            const long offset = (p * outHeight + oy) * outWidth;
#if AV_X86
            if (avx2) unpool_row_avx2(dy + offset, where + offset, top, top + width, outWidth);
            else
#endif
                unpool_row(dy + offset, where + offset, top, top + width, outWidth);
            if (width & 1) { top[width - 1] = 0.0f; top[2 * width - 1] = 0.0f; }
        }
        if (height & 1) memset(plane + (height - 1) * width, 0, sizeof(float) * (size_t)width);
    }
    (void)avx2;
}
