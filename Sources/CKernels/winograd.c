#include "CKernels.h"

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

#if defined(__x86_64__) || defined(__i386__)
#define AV_X86 1
#define AV_AVX2 __attribute__((target("avx2,fma")))
#else
#define AV_X86 0
#endif

#define AV_INLINE static inline __attribute__((always_inline))

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

AV_INLINE void input_body(const float *restrict x, long channels, long height, long width, float *restrict v, long ldv,
                          float *restrict scratch) {
    const long tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2, tiles = tilesHigh * tilesWide;
    const long paddedWidth = 2 * tilesWide + 2, paddedHeight = 2 * tilesHigh + 2;
    float *padded = scratch, *d = scratch + paddedWidth * paddedHeight;
    const long stride = channels * ldv;
    // The zero border stays zero: only the interior is rewritten per channel.
    memset(padded, 0, sizeof(float) * (size_t)(paddedWidth * paddedHeight));
    for (long c = 0; c < channels; c++) {
        const float *plane = x + c * height * width;
        for (long row = 0; row < height; row++)
            memcpy(padded + (row + 1) * paddedWidth + 1, plane + row * width, sizeof(float) * (size_t)width);
        // d[i·4 + j][t]: element (i, j) of every tile's 4×4 input window.
        for (long ty = 0; ty < tilesHigh; ty++) {
            for (int i = 0; i < 4; i++) {
                const float *row = padded + (2 * ty + i) * paddedWidth;
                for (int j = 0; j < 4; j++) {
                    float *target = d + (i * 4 + j) * tiles + ty * tilesWide;
                    for (long tx = 0; tx < tilesWide; tx++) target[tx] = row[2 * tx + j];
                }
            }
        }
        float *out = v + c * ldv;
        const float *d0 = d, *d4 = d + 4 * tiles, *d8 = d + 8 * tiles, *d12 = d + 12 * tiles;
        for (int j = 0; j < 4; j++) {
            // Column j of Bᵀd: rows 0…3.
            const float *a = d0 + j * tiles, *b = d4 + j * tiles, *cc = d8 + j * tiles, *e = d12 + j * tiles;
            float *s0 = d + 16 * tiles + (0 * 4 + j) * tiles;
            float *s1 = d + 16 * tiles + (1 * 4 + j) * tiles;
            float *s2 = d + 16 * tiles + (2 * 4 + j) * tiles;
            float *s3 = d + 16 * tiles + (3 * 4 + j) * tiles;
            for (long t = 0; t < tiles; t++) {
                s0[t] = a[t] - cc[t];
                s1[t] = b[t] + cc[t];
                s2[t] = cc[t] - b[t];
                s3[t] = b[t] - e[t];
            }
        }
        for (int i = 0; i < 4; i++) {
            // Row i of (Bᵀd)B.
            const float *s = d + 16 * tiles + i * 4 * tiles;
            const float *a = s, *b = s + tiles, *cc = s + 2 * tiles, *e = s + 3 * tiles;
            float *v0 = out + (i * 4 + 0) * stride, *v1 = out + (i * 4 + 1) * stride;
            float *v2 = out + (i * 4 + 2) * stride, *v3 = out + (i * 4 + 3) * stride;
            for (long t = 0; t < tiles; t++) {
                v0[t] = a[t] - cc[t];
                v1[t] = b[t] + cc[t];
                v2[t] = cc[t] - b[t];
                v3[t] = b[t] - e[t];
            }
        }
    }
}

AV_INLINE void output_body(const float *restrict m, long outputs, long height, long width, long ldm, float *restrict y,
                           float *restrict scratch) {
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
            for (long tx = 0; tx < tilesWide; tx++) {
                const long ox = 2 * tx, t = t0 + tx;
                top[ox] = r0[t];
                if (ox + 1 < width) top[ox + 1] = r1[t];
                if (fullHeight) {
                    top[width + ox] = r2[t];
                    if (ox + 1 < width) top[width + ox + 1] = r3[t];
                }
            }
        }
    }
}

static void weights_generic(const float *w, long outputs, long channels, float *u) {
    weights_body(w, outputs, channels, u);
}
static void input_generic(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch) {
    input_body(x, channels, height, width, v, ldv, scratch);
}
static void output_generic(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch) {
    output_body(m, outputs, height, width, ldm, y, scratch);
}

#if AV_X86
AV_AVX2 static void input_avx2(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch) {
    input_body(x, channels, height, width, v, ldv, scratch);
}
AV_AVX2 static void output_avx2(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch) {
    output_body(m, outputs, height, width, ldm, y, scratch);
}
#endif

long av_winograd_scratch_floats(long height, long width) {
    const long tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2;
    return (2 * tilesWide + 2) * (2 * tilesHigh + 2) + 32 * tilesHigh * tilesWide;
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
