#include "CKernels.h"
#include "target.h"

#include <string.h>

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

static void conv_one_channel_generic(const float *x, long height, long width, const float *weights, long filters,
                                     long k, long padding, float *y, float *scratch) {
    conv_one_channel_body(x, height, width, weights, filters, k, padding, y, scratch);
}

#if AV_X86
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

void av_conv_one_channel(const float *x, long height, long width, const float *weights, long filters,
                         long k, long padding, float *y, float *scratch) {
#if AV_X86
    if (av_kernels_use_avx2()) { conv_one_channel_avx2(x, height, width, weights, filters, k, padding, y, scratch); return; }
#endif
    conv_one_channel_generic(x, height, width, weights, filters, k, padding, y, scratch);
}
