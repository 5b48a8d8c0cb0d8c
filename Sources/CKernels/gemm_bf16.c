// bf16 GEMM on AVX512_BF16 (`vdpbf16ps`): fp32 operands are rounded to bf16 while they are packed,
// products are summed in fp32. Blocking after BLIS (Van Zee & van de Geijn, "BLIS: A Framework for
// Rapidly Instantiating BLAS Functionality", TOMS 2015): a KC × NC block of B and an MC × KC block of
// A are packed into micro-panels, and an MR × NR micro-kernel keeps its C tile in registers.

#include "CKernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define AV_BF16_BUILT 1
#include <immintrin.h>
#define AV_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define AV_BF16_BUILT 0
#endif

#define AV_INLINE static inline __attribute__((always_inline))

/// Rows of the micro-kernel's C tile (one broadcast each).
#define MR 8
/// Columns of the micro-kernel's C tile: up to three vectors of 16 fp32 lanes.
#define NR 48
/// k values per packed block (a multiple of 32, so a block's pairs come in whole 16-pair groups).
#define KC 256
/// Rows of A packed at once (a multiple of MR), columns of B packed at once (a multiple of NR).
#define MC 96
#define NC 768

static uint16_t av_bf16_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);  // NaN stays a (quiet) NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
    return (uint16_t)(bits >> 16);
}

static float av_float_from_bf16(uint16_t value) {
    uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, sizeof result);
    return result;
}

void av_round_to_bf16(const float *x, float *y, long count) {
    for (long i = 0; i < count; i++) y[i] = av_float_from_bf16(av_bf16_from_float(x[i]));
}

int av_bf16_supported(void) {
#if AV_BF16_BUILT
    static int cached = -1;
    if (cached < 0) {
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }
    return cached;
#else
    return 0;
#endif
}

#if AV_BF16_BUILT

/// Each thread's packing buffers (442 KiB), allocated on its first product and freed when it exits.
typedef struct {
    uint32_t a[(KC / 2) * MC];
    uint32_t b[(KC / 2) * NC];
} PackingBuffers;

static pthread_key_t buffersKey;
static pthread_once_t buffersOnce = PTHREAD_ONCE_INIT;

static void make_buffers_key(void) { pthread_key_create(&buffersKey, free); }

static PackingBuffers *packing_buffers(void) {
    pthread_once(&buffersOnce, make_buffers_key);
    PackingBuffers *buffers = pthread_getspecific(buffersKey);
    if (!buffers) {
        buffers = aligned_alloc(64, sizeof *buffers);  // a multiple of 64 bytes, as aligned_alloc requires
        if (!buffers || pthread_setspecific(buffersKey, buffers) != 0) abort();  // nothing sensible to do without 442 KiB
    }
    return buffers;
}

AV_INLINE __mmask16 first_lanes(long count) {
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// Pairs of two rows, interleaved: lane t of the result holds (bf16(row0[t]), bf16(row1[t])) as one
/// 32-bit word, the low half from row0 (`vdpbf16ps` multiplies even with even, odd with odd halves).
/// `count` ≤ 16 lanes are read; missing ones (and a NULL `row1`) are zeros.
AV_BF16 AV_INLINE __m512i interleave_rows(const float *row0, const float *row1, long count) {
    const __mmask16 mask = first_lanes(count);
    const __m512 r0 = _mm512_maskz_loadu_ps(mask, row0);
    const __m512 r1 = row1 ? _mm512_maskz_loadu_ps(mask, row1) : _mm512_setzero_ps();
    const __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);  // [r0 0…15 | r1 0…15]
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(order, halves);
}

/// Pairs along one line whose k values are contiguous: lane t holds (bf16(line[2t]), bf16(line[2t+1])),
/// for the first `count` ≤ 32 values (zeros after them).
AV_BF16 AV_INLINE __m512i pairs_of_line(const float *line, long count) {
    const __m512 low = _mm512_maskz_loadu_ps(first_lanes(count), line);
    const __m512 high = _mm512_maskz_loadu_ps(first_lanes(count - 16), line + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

/// Transposes a 16 × 16 matrix of 32-bit words held in 16 vectors, in place.
AV_BF16 AV_INLINE void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/// Packs `lines` (≤ `width`) lines of a matrix, each holding `kc` k values at `step` apart (1: the k
/// values are contiguous; else the lines are contiguous and consecutive k values are `step` apart),
/// into the layout the micro-kernel reads: for each pair q, `width` words, word j the pair of line j.
/// Lines past `lines` and the odd last k value's partner are zeros. `width` is 8 or a multiple of 16.
AV_BF16 static void pack_panel(const float *x, long lineStride, long step, long lines, long kc, long width,
                               uint32_t *panel) {
    const long pairs = (kc + 1) / 2;
    if (step != 1) {
        // The lines run along memory: rows p and p + 1 of the lines interleave directly.
        for (long q = 0; q < pairs; q++) {
            const float *row0 = x + 2 * q * step, *row1 = 2 * q + 1 < kc ? row0 + step : NULL;
            for (long j = 0; j < width; j += 16) {
                const __m512i v = interleave_rows(row0 + j, row1 ? row1 + j : NULL, lines - j);
                _mm512_mask_storeu_epi32(panel + q * width + j, first_lanes(width - j), v);
            }
        }
        return;
    }
    // k contiguous along each line: pair up each line, then transpose 16 lines × 16 pairs at a time.
    for (long j = 0; j < width; j += 16) {
        for (long q0 = 0; q0 < pairs; q0 += 16) {
            __m512i block[16];
            for (int l = 0; l < 16; l++) {
                block[l] = j + l < lines ? pairs_of_line(x + (j + l) * lineStride + 2 * q0, kc - 2 * q0)
                                         : _mm512_setzero_si512();
            }
            transpose16(block);
            const long count = pairs - q0 < 16 ? pairs - q0 : 16;
            for (long t = 0; t < count; t++) {
                _mm512_mask_storeu_epi32(panel + (q0 + t) * width + j, first_lanes(width - j), block[t]);
            }
        }
    }
}

/// C tile `[rows ≤ MR, columns ≤ 16·vectors]` = alpha · Â·B̂ over `pairs` k pairs, plus beta · C (first
/// block) or plus C (later blocks). `a`: MR words per pair; `b`: 16·vectors words per pair. Every loop
/// over the tile is unrolled, so the accumulators stay in registers (an indexed one would live in memory).
AV_BF16 AV_INLINE void micro_kernel_body(const int vectors, long pairs, const uint32_t *a, const uint32_t *b, float *c,
                                         long ldc, long rows, long columns, float alpha, float beta, int first) {
    __m512 acc[MR][3];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++)
#pragma clang loop unroll(full)
        for (int v = 0; v < 3; v++) acc[i][v] = _mm512_setzero_ps();
    const long width = 16 * vectors;
    for (long q = 0; q < pairs; q++) {
        __m512bh bv[3];
#pragma clang loop unroll(full)
        for (int v = 0; v < 3; v++)
            if (v < vectors) bv[v] = (__m512bh)_mm512_loadu_si512(b + q * width + 16 * v);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[q * MR + i]);
#pragma clang loop unroll(full)
            for (int v = 0; v < 3; v++)
                if (v < vectors) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
        }
    }
    const __m512 alphas = _mm512_set1_ps(alpha), betas = _mm512_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < rows) {
#pragma clang loop unroll(full)
            for (int v = 0; v < 3; v++) {
                if (v < vectors) {
                    const __mmask16 mask = first_lanes(columns - 16 * v);
                    float *target = c + i * ldc + 16 * v;
                    __m512 result = _mm512_mul_ps(alphas, acc[i][v]);
                    if (!first) {
                        result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, target));
                    } else if (beta != 0) {
                        result = _mm512_fmadd_ps(betas, _mm512_maskz_loadu_ps(mask, target), result);
                    }
                    _mm512_mask_storeu_ps(target, mask, result);
                }
            }
        }
    }
}

/// One function per vector count, each with its own registers for its tile.
#define AV_MICRO_KERNEL(vectors)                                                                                     \
    AV_BF16 __attribute__((noinline)) static void micro_kernel_##vectors(                                            \
        long pairs, const uint32_t *a, const uint32_t *b, float *c, long ldc, long rows, long columns, float alpha,  \
        float beta, int first) {                                                                                     \
        micro_kernel_body(vectors, pairs, a, b, c, ldc, rows, columns, alpha, beta, first);                          \
    }
AV_MICRO_KERNEL(1)
AV_MICRO_KERNEL(2)
AV_MICRO_KERNEL(3)

/// Packs `rows` rows of A from `a` (A(i0, pc), or its stored (pc, i0) when `transA`) into consecutive
/// MR-row panels. Rows with contiguous k values go 16 at a time through whole 16 × 16 transposes,
/// whose two halves are two panels.
AV_BF16 static void pack_a_panels(int transA, const float *a, long lda, long rows, long kc, uint32_t *panels) {
    const long pairs = (kc + 1) / 2;
    if (transA) {
        for (long r = 0; r < rows; r += MR) {
            pack_panel(a + r, 1, lda, rows - r < MR ? rows - r : MR, kc, MR, panels + (r / MR) * pairs * MR);
        }
        return;
    }
    for (long r = 0; r < rows; r += 2 * MR) {
        const long lines = rows - r < 2 * MR ? rows - r : 2 * MR;
        uint32_t *first = panels + (r / MR) * pairs * MR, *second = first + pairs * MR;
        for (long q0 = 0; q0 < pairs; q0 += 16) {
            __m512i block[16];
            for (int l = 0; l < 16; l++) {
                block[l] = l < lines ? pairs_of_line(a + (r + l) * lda + 2 * q0, kc - 2 * q0) : _mm512_setzero_si512();
            }
            transpose16(block);
            const long count = pairs - q0 < 16 ? pairs - q0 : 16;
            for (long t = 0; t < count; t++) {
                _mm256_storeu_si256((__m256i *)(first + (q0 + t) * MR), _mm512_castsi512_si256(block[t]));
                if (lines > MR) _mm256_storeu_si256((__m256i *)(second + (q0 + t) * MR), _mm512_extracti64x4_epi64(block[t], 1));
            }
        }
    }
}

/// Packs all of A (`[m, k]`, or stored `[k, m]` when `transA`): for each KC block of k, its MR-row
/// panels one after another, each block `mPanels · KC/2 · MR` words from the last, so the products'
/// loops find the panels of rows ic… of block pc where they find them in a per-call pack.
AV_BF16 static void pack_a(int transA, long m, long k, const float *a, long lda, uint32_t *packed) {
    const long blockWords = ((m + MR - 1) / MR) * (KC / 2) * MR;
    for (long pc = 0, block = 0; pc < k; pc += KC, block++) {
        const long kc = k - pc < KC ? k - pc : KC;
        pack_a_panels(transA, transA ? a + pc * lda : a + pc, lda, m, kc, packed + block * blockWords);
    }
}

/// Words of one B block of `kc` rows and `nc` columns as panels of NR columns (the last one
/// 16·⌈columns/16⌉ wide).
static long packed_b_block_words(long kc, long nc) {
    const long full = nc / NR, rest = nc - full * NR;
    return ((kc + 1) / 2) * (full * NR + 16 * ((rest + 15) / 16));
}

/// Packs the B block of rows pc… (`kc` of them) and columns jc… (`nc`) into `packed_b_block_words` words.
AV_BF16 static void pack_b_block(int transB, const float *b, long ldb, long pc, long jc, long kc, long nc, uint32_t *panelB) {
    const long pairs = (kc + 1) / 2;
    for (long jr = 0; jr < nc; jr += NR) {
        const long columns = nc - jr < NR ? nc - jr : NR, width = 16 * ((columns + 15) / 16);
        const long j = jc + jr;
        if (transB) {
            pack_panel(b + j * ldb + pc, ldb, 1, columns, kc, width, panelB);
        } else {
            pack_panel(b + pc * ldb + j, 1, ldb, columns, kc, width, panelB);
        }
        panelB += pairs * width;
    }
}

/// Packs all of B (`[k, n]`, or stored `[n, k]` when `transB`): its NC × KC blocks one after another,
/// in the order the product's loops visit them (columns outer, k inner).
AV_BF16 static void pack_b(int transB, long k, long n, const float *b, long ldb, uint32_t *packed) {
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC;
            pack_b_block(transB, b, ldb, pc, jc, kc, nc, packed);
            packed += packed_b_block_words(kc, nc);
        }
    }
}

/// The product, with A packed here per MC × KC block, or taken from `packedA` (`pack_a`'s layout), and
/// B packed here per KC × NC block, or taken from `packedB` (`pack_b`'s layout).
AV_BF16 static void gemm_bf16_avx512(int transA, int transB, long m, long n, long k, float alpha, const float *a,
                                     long lda, const uint32_t *packedA, const float *b, long ldb,
                                     const uint32_t *packedB, float beta, float *c, long ldc) {
    PackingBuffers *buffers = packing_buffers();
    uint32_t *bufferA = buffers->a;
    const long blockWords = ((m + MR - 1) / MR) * (KC / 2) * MR;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0, block = 0; pc < k || (k == 0 && pc == 0); pc += KC, block++) {
            const long kc = k - pc < KC ? k - pc : KC, pairs = (kc + 1) / 2;
            const int first = pc == 0;
            const uint32_t *blockB;
            if (packedB) {
                blockB = packedB;
                packedB += packed_b_block_words(kc, nc);
            } else {
                pack_b_block(transB, b, ldb, pc, jc, kc, nc, buffers->b);
                blockB = buffers->b;
            }
            for (long ic = 0; ic < m; ic += MC) {
                const long mc = m - ic < MC ? m - ic : MC;
                const uint32_t *blockA;
                if (packedA) {
                    blockA = packedA + block * blockWords + (ic / MR) * pairs * MR;
                } else {
                    pack_a_panels(transA, transA ? a + pc * lda + ic : a + ic * lda + pc, lda, mc, kc, bufferA);
                    blockA = bufferA;
                }
                const uint32_t *panel = blockB;
                for (long jr = 0; jr < nc; jr += NR) {
                    const long columns = nc - jr < NR ? nc - jr : NR, vectors = (columns + 15) / 16;
                    for (long ir = 0; ir < mc; ir += MR) {
                        const long rows = mc - ir < MR ? mc - ir : MR;
                        const uint32_t *aPanel = blockA + (ir / MR) * pairs * MR;
                        float *tile = c + (ic + ir) * ldc + jc + jr;
                        switch (vectors) {
                        case 1: micro_kernel_1(pairs, aPanel, panel, tile, ldc, rows, columns, alpha, beta, first); break;
                        case 2: micro_kernel_2(pairs, aPanel, panel, tile, ldc, rows, columns, alpha, beta, first); break;
                        default: micro_kernel_3(pairs, aPanel, panel, tile, ldc, rows, columns, alpha, beta, first); break;
                        }
                    }
                    panel += pairs * 16 * vectors;
                }
            }
            if (k == 0) break;
        }
    }
}

#endif

int av_gemm_bf16(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                 const float *b, long ldb, float beta, float *c, long ldc) {
#if AV_BF16_BUILT
    if (!av_bf16_supported()) return 0;
    if (m > 0 && n > 0) gemm_bf16_avx512(transA, transB, m, n, k, alpha, a, lda, NULL, b, ldb, NULL, beta, c, ldc);
    return 1;
#else
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
#endif
}

long av_bf16_packed_a_words(long m, long k) {
    const long blocks = k > 0 ? (k + KC - 1) / KC : 0;
    return blocks * ((m + MR - 1) / MR) * (KC / 2) * MR;
}

int av_bf16_pack_a(int transA, long m, long k, const float *a, long lda, unsigned int *packed) {
#if AV_BF16_BUILT
    if (!av_bf16_supported()) return 0;
    pack_a(transA, m, k, a, lda, packed);
    return 1;
#else
    (void)transA; (void)m; (void)k; (void)a; (void)lda; (void)packed;
    return 0;
#endif
}

int av_gemm_bf16_packed_a(long m, long n, long k, float alpha, const unsigned int *packedA, int transB, const float *b,
                          long ldb, float beta, float *c, long ldc) {
#if AV_BF16_BUILT
    if (!av_bf16_supported()) return 0;
    if (m > 0 && n > 0) gemm_bf16_avx512(0, transB, m, n, k, alpha, NULL, 0, packedA, b, ldb, NULL, beta, c, ldc);
    return 1;
#else
    (void)m; (void)n; (void)k; (void)alpha; (void)packedA; (void)transB; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
#endif
}

long av_bf16_packed_b_words(long k, long n) {
    long words = 0;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) words += packed_b_block_words(k - pc < KC ? k - pc : KC, nc);
    }
    return words;
}

int av_bf16_pack_b(int transB, long k, long n, const float *b, long ldb, unsigned int *packed) {
#if AV_BF16_BUILT
    if (!av_bf16_supported()) return 0;
    pack_b(transB, k, n, b, ldb, packed);
    return 1;
#else
    (void)transB; (void)k; (void)n; (void)b; (void)ldb; (void)packed;
    return 0;
#endif
}

int av_gemm_bf16_packed_b(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                          const unsigned int *packedB, float beta, float *c, long ldc) {
#if AV_BF16_BUILT
    if (!av_bf16_supported()) return 0;
    if (m > 0 && n > 0) gemm_bf16_avx512(transA, 0, m, n, k, alpha, a, lda, NULL, NULL, 0, packedB, beta, c, ldc);
    return 1;
#else
    (void)transA; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packedB; (void)beta; (void)c; (void)ldc;
    return 0;
#endif
}
