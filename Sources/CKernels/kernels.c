#include "CKernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AV_X86 1
#define AV_AVX2 __attribute__((target("avx2,fma")))
#else
#define AV_X86 0
#define AV_AVX2
#endif

#define AV_INLINE static inline __attribute__((always_inline))

/// NaN-propagating maximum: `a` when it is larger or NaN, else `b` (a NaN `b` stays).
AV_INLINE float av_max(float a, float b) { return (a > b || a != a) ? a : b; }

/// The pooling loop, written so the compiler vectorises it for whichever target inlines it.
AV_INLINE void max_pool_2x2_body(const float *restrict x, float *restrict y, long planes, long height, long width) {
    const long outHeight = height / 2, outWidth = width / 2;
    for (long p = 0; p < planes; p++) {
        const float *plane = x + p * height * width;
        float *target = y + p * outHeight * outWidth;
        for (long oy = 0; oy < outHeight; oy++) {
            const float *top = plane + 2 * oy * width, *bottom = top + width;
            float *row = target + oy * outWidth;
            for (long ox = 0; ox < outWidth; ox++) {
                const float left = av_max(top[2 * ox], bottom[2 * ox]);
                const float right = av_max(top[2 * ox + 1], bottom[2 * ox + 1]);
                row[ox] = av_max(left, right);
            }
        }
    }
}

/// Training pooling: as `max_pool_2x2_body`, also writing each window's winning position (0 top
/// left, 1 top right, 2 bottom left, 3 bottom right). A later value wins only when larger or NaN, so
/// the first maximum wins ties, as PyTorch; selects rather than branches, so it vectorises.
AV_INLINE void max_pool_2x2_argmax_body(const float *restrict x, float *restrict y, unsigned char *restrict where,
                                        long planes, long height, long width) {
    const long outHeight = height / 2, outWidth = width / 2;
    for (long p = 0; p < planes; p++) {
        const float *plane = x + p * height * width;
        float *target = y + p * outHeight * outWidth;
        unsigned char *positions = where + p * outHeight * outWidth;
        for (long oy = 0; oy < outHeight; oy++) {
            const float *top = plane + 2 * oy * width, *bottom = top + width;
            float *row = target + oy * outWidth;
            unsigned char *rowPositions = positions + oy * outWidth;
            for (long ox = 0; ox < outWidth; ox++) {
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
                row[ox] = best;
                rowPositions[ox] = (unsigned char)position;
            }
        }
    }
}

/// The pooling gradient: each window gets its output's gradient at the winning position and zeros
/// elsewhere, written in one pass (no zeroing pass, no scatter); a last odd row or column gets zeros.
AV_INLINE void max_pool_2x2_backward_body(const float *restrict dy, const unsigned char *restrict where,
                                          float *restrict dx, long planes, long height, long width) {
    const long outHeight = height / 2, outWidth = width / 2;
    for (long p = 0; p < planes; p++) {
        const float *gradient = dy + p * outHeight * outWidth;
        const unsigned char *positions = where + p * outHeight * outWidth;
        float *plane = dx + p * height * width;
        for (long oy = 0; oy < outHeight; oy++) {
            float *top = plane + 2 * oy * width, *bottom = top + width;
            const float *row = gradient + oy * outWidth;
            const unsigned char *rowPositions = positions + oy * outWidth;
            for (long ox = 0; ox < outWidth; ox++) {
                const float g = row[ox];
                const int position = rowPositions[ox];
                top[2 * ox] = position == 0 ? g : 0.0f;
                top[2 * ox + 1] = position == 1 ? g : 0.0f;
                bottom[2 * ox] = position == 2 ? g : 0.0f;
                bottom[2 * ox + 1] = position == 3 ? g : 0.0f;
            }
            if (width & 1) { top[width - 1] = 0.0f; bottom[width - 1] = 0.0f; }
        }
        if (height & 1) memset(plane + (height - 1) * width, 0, sizeof(float) * (size_t)width);
    }
}

/// Eight floats; unaligned loads and stores go through memcpy, which compiles to one move.
typedef float av_v8 __attribute__((vector_size(32)));

/// Outputs of a row computed together: four runs of eight for each of two filters, eight independent
/// multiply-add chains sharing their input loads, so the FMA latency is hidden (one chain of k² taps
/// would wait on itself).
#define AV_RUN 32

/// Stores the first `count` (≤ 32) outputs of four runs.
AV_INLINE void store_runs(float *out, const av_v8 *sum, long count) {
    for (int run = 0; run < 4 && 8 * run < count; run++) {
        if (count - 8 * run >= 8) {
            memcpy(out + 8 * run, &sum[run], sizeof sum[run]);  // a constant size: one vector store
        } else {
            for (long i = 0; i < count - 8 * run; i++) out[8 * run + i] = sum[run][i];
        }
    }
}

/// One row of outputs of filters `w0` and `w1` (`out1` NULL: `w1` is a repeat, not stored).
AV_INLINE void conv_row_two_filters(const float *in, long paddedWidth, long k, long outWidth,
                                    const float *w0, const float *w1, float *out0, float *out1) {
    for (long ox = 0; ox < outWidth; ox += AV_RUN) {
        av_v8 sum0[4] = {{0}, {0}, {0}, {0}}, sum1[4] = {{0}, {0}, {0}, {0}};
        for (long ky = 0; ky < k; ky++) {
            const float *row = in + ky * paddedWidth + ox;
            for (long kx = 0; kx < k; kx++) {
                const float a = w0[ky * k + kx], b = w1[ky * k + kx];
                for (int run = 0; run < 4; run++) {
                    av_v8 v;
                    memcpy(&v, row + kx + 8 * run, sizeof v);
                    sum0[run] += a * v;
                    sum1[run] += b * v;
                }
            }
        }
        const long count = outWidth - ox < AV_RUN ? outWidth - ox : AV_RUN;
        store_runs(out0 + ox, sum0, count);
        if (out1) store_runs(out1 + ox, sum1, count);
    }
}

/// The convolution loop: the image is copied into a zero-bordered `scratch`, so every tap of every
/// output is in bounds. A row's last partial block reads up to 31 floats past the row (into the
/// next row, or the spare floats at the end of `scratch`) and stores only its own outputs.
AV_INLINE void conv_one_channel_body(const float *restrict x, long height, long width, const float *restrict weights,
                                     long filters, long k, long padding, float *restrict y, float *restrict scratch) {
    const long paddedWidth = width + 2 * padding, paddedHeight = height + 2 * padding;
    const long outHeight = paddedHeight - k + 1, outWidth = paddedWidth - k + 1;
    const long outPlane = outHeight * outWidth;
    memset(scratch, 0, sizeof(float) * (size_t)(paddedHeight * paddedWidth + AV_RUN));
    for (long row = 0; row < height; row++)
        memcpy(scratch + (row + padding) * paddedWidth + padding, x + row * width, sizeof(float) * (size_t)width);
    for (long o = 0; o < filters; o += 2) {
        const int pair = o + 1 < filters;
        const float *w0 = weights + o * k * k, *w1 = pair ? w0 + k * k : w0;
        float *plane0 = y + o * outPlane, *plane1 = pair ? plane0 + outPlane : NULL;
        for (long oy = 0; oy < outHeight; oy++)
            conv_row_two_filters(scratch + oy * paddedWidth, paddedWidth, k, outWidth, w0, w1,
                                 plane0 + oy * outWidth, plane1 ? plane1 + oy * outWidth : NULL);
    }
}

static void max_pool_2x2_generic(const float *x, float *y, long planes, long height, long width) {
    max_pool_2x2_body(x, y, planes, height, width);
}

static void conv_one_channel_generic(const float *x, long height, long width, const float *weights, long filters,
                                     long k, long padding, float *y, float *scratch) {
    conv_one_channel_body(x, height, width, weights, filters, k, padding, y, scratch);
}

static void max_pool_2x2_argmax_generic(const float *x, float *y, unsigned char *where, long planes, long height, long width) {
    max_pool_2x2_argmax_body(x, y, where, planes, height, width);
}

static void max_pool_2x2_backward_generic(const float *dy, const unsigned char *where, float *dx, long planes, long height, long width) {
    max_pool_2x2_backward_body(dy, where, dx, planes, height, width);
}

#if AV_X86
AV_AVX2 static void max_pool_2x2_avx2(const float *x, float *y, long planes, long height, long width) {
    max_pool_2x2_body(x, y, planes, height, width);
}

AV_AVX2 static void max_pool_2x2_argmax_avx2(const float *x, float *y, unsigned char *where, long planes, long height,
                                              long width) {
    max_pool_2x2_argmax_body(x, y, where, planes, height, width);
}

AV_AVX2 static void max_pool_2x2_backward_avx2(const float *dy, const unsigned char *where, float *dx, long planes,
                                                long height, long width) {
    max_pool_2x2_backward_body(dy, where, dx, planes, height, width);
}

AV_AVX2 static void conv_one_channel_avx2(const float *x, long height, long width, const float *weights, long filters,
                                          long k, long padding, float *y, float *scratch) {
    conv_one_channel_body(x, height, width, weights, filters, k, padding, y, scratch);
}
#endif

int av_kernels_use_avx2(void) {
#if AV_X86
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
#else
    return 0;
#endif
}

void av_max_pool_2x2(const float *x, float *y, long planes, long height, long width) {
#if AV_X86
    if (av_kernels_use_avx2()) { max_pool_2x2_avx2(x, y, planes, height, width); return; }
#endif
    max_pool_2x2_generic(x, y, planes, height, width);
}

void av_max_pool_2x2_argmax(const float *x, float *y, unsigned char *where, long planes, long height, long width) {
#if AV_X86
    if (av_kernels_use_avx2()) { max_pool_2x2_argmax_avx2(x, y, where, planes, height, width); return; }
#endif
    max_pool_2x2_argmax_generic(x, y, where, planes, height, width);
}

void av_max_pool_2x2_backward(const float *dy, const unsigned char *where, float *dx, long planes, long height, long width) {
#if AV_X86
    if (av_kernels_use_avx2()) { max_pool_2x2_backward_avx2(dy, where, dx, planes, height, width); return; }
#endif
    max_pool_2x2_backward_generic(dy, where, dx, planes, height, width);
}

void av_conv_one_channel(const float *x, long height, long width, const float *weights, long filters,
                         long k, long padding, float *y, float *scratch) {
#if AV_X86
    if (av_kernels_use_avx2()) { conv_one_channel_avx2(x, height, width, weights, filters, k, padding, y, scratch); return; }
#endif
    conv_one_channel_generic(x, height, width, weights, filters, k, padding, y, scratch);
}
