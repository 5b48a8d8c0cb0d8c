#ifndef AUTOVISION_CKERNELS_H
#define AUTOVISION_CKERNELS_H

/// Hot inner loops of the training core that need the CPU's vector width. Each is compiled twice,
/// for baseline x86-64 and with AVX2 + FMA through per-function target attributes, and the
/// entry point picks one at run time, so the binary still runs on any x86-64. The plain Swift
/// references they are tested against are in Tests/TensorsTests/CKernelsTests.swift.

/// Max pooling, 2×2 window, stride 2, for inference (no argmax is kept).
/// x: `planes` planes of `[height, width]`; y: `planes` planes of `[height / 2, width / 2]`
/// (a last odd row or column is left out, as PyTorch's floor mode). A NaN in a window is the
/// window's maximum (PyTorch's rule); among equal values any is the same value.
void av_max_pool_2x2(const float *x, float *y, long planes, long height, long width);

/// Max pooling 2×2/2 for training: `y` as `av_max_pool_2x2`, and `where` (one byte per output) the
/// position of each window's maximum: 0 top left, 1 top right, 2 bottom left, 3 bottom right (the
/// first maximum wins ties; a NaN wins, as PyTorch).
void av_max_pool_2x2_argmax(const float *x, float *y, unsigned char *where, long planes, long height, long width);

/// The gradient of `av_max_pool_2x2_argmax`: `dx` (`planes` planes of `[height, width]`, every element
/// written) holds each output's gradient `dy` at its window's `where` position and 0 elsewhere.
void av_max_pool_2x2_backward(const float *dy, const unsigned char *where, float *dx, long planes, long height, long width);

/// Convolution of a one-channel image with `filters` square kernels, stride 1, zero padding
/// `padding` on each side, without im2col. x: `[height, width]`; weights: `[filters, k, k]`
/// (OIHW with I = 1); y: `[filters, H′, W′]` with `H′ = height + 2·padding − k + 1` (and W′ alike).
/// scratch: at least `(height + 2·padding) · (width + 2·padding) + 32` floats (its contents are overwritten).
void av_conv_one_channel(const float *x, long height, long width, const float *weights, long filters,
                         long k, long padding, float *y, float *scratch);

/// Winograd F(2×2, 3×3) for 3×3 convolutions at stride 1 with one pixel of zero padding (Lavin &
/// Gray 2016), in three steps around 16 caller-run GEMMs `M[ξ] = U[ξ] · V[ξ]` (ξ = 0…15):
/// `av_winograd_weights` writes `u[16][outputs][channels]` from OIHW weights `[outputs, channels, 3, 3]`;
/// `av_winograd_input` writes `v[16][ldv][channels]` (the first `tiles` rows, tiles = ⌈height/2⌉·⌈width/2⌉
/// in row-major order, each row the tile's `channels` values; so `M[ξ] = U[ξ] · V[ξ]ᵀ`) from one image
/// `[channels, height, width]`; `av_winograd_output` writes one image `[outputs, height, width]` from
/// `m[16][outputs][ldm]` (the first `tiles` columns). `scratch`: `av_winograd_scratch_floats(channels,
/// height, width)` floats for the larger of the two transforms, overwritten.
long av_winograd_scratch_floats(long channels, long height, long width);
void av_winograd_weights(const float *w, long outputs, long channels, float *u);
void av_winograd_input(const float *x, long channels, long height, long width, float *v, long ldv, float *scratch);
void av_winograd_output(const float *m, long outputs, long height, long width, long ldm, float *y, float *scratch);

/// `C = alpha · A · Bᵀ + beta · C` on row-major matrices (A `[m, k]` with row stride `lda`, B `[n, k]`
/// with `ldb`, C `[m, n]` with `ldc`; `beta` 0 ignores C's old values), each element a dot product
/// along `k` summed in fp32 in another order than BLAS: for a few rows of A (a dense layer at a
/// batch of a few images), where it reads B in place instead of packing it. Single-threaded.
/// Returns 0 without touching C on a CPU without AVX2 + FMA, else 1.
int av_gemm_nt_few_rows(long m, long n, long k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
                        float *c, long ldc);

/// Whether the AVX2 + FMA versions run on this CPU (for the benchmark's and the tests' reports).
int av_kernels_use_avx2(void);

/// Whether `av_gemm_bf16` runs on this CPU (AVX512_BF16 with AVX512F/BW/VL, detected at run time).
int av_bf16_supported(void);

/// bf16 mixed-precision GEMM: `C = alpha · op(A) · op(B) + beta · C` on row-major matrices, as
/// `cblas_sgemm` (`m` rows of C, `n` columns, `k` summed; `lda`, `ldb`, `ldc` the row strides as
/// stored), with every element of A and B rounded to bf16 (round to nearest even) and the products
/// summed in fp32 by `vdpbf16ps`, whose denormals are flushed to zero (Intel SDM, VDPBF16PS).
/// Single-threaded; packing buffers are per thread. Returns 0 without touching C when the CPU has
/// no AVX512_BF16 (see `av_bf16_supported`), else 1.
int av_gemm_bf16(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                 const float *b, long ldb, float beta, float *c, long ldc);

/// 32-bit words `av_bf16_pack_a` fills for an A of `m` rows and `k` columns (0 when `k` is 0).
long av_bf16_packed_a_words(long m, long k);

/// Packs A (`[m, k]` row-major with row stride `lda`, or stored `[k, m]` when `transA`) once, rounded
/// to bf16, for many products with it (`av_gemm_bf16_packed_a`): a layer's weights over a batch.
/// `packed`: `av_bf16_packed_a_words(m, k)` words. Returns 0 without writing when the CPU has no
/// AVX512_BF16, else 1.
int av_bf16_pack_a(int transA, long m, long k, const float *a, long lda, unsigned int *packed);

/// `av_gemm_bf16` with A packed by `av_bf16_pack_a` (with the same `m` and `k`).
int av_gemm_bf16_packed_a(long m, long n, long k, float alpha, const unsigned int *packedA, int transB, const float *b,
                          long ldb, float beta, float *c, long ldc);

/// 32-bit words `av_bf16_pack_b` fills for a B of `k` rows and `n` columns (0 when `k` is 0).
long av_bf16_packed_b_words(long k, long n);

/// Packs B (`[k, n]` row-major with row stride `ldb`, or stored `[n, k]` when `transB`) once, rounded
/// to bf16, for many products with it (`av_gemm_bf16_packed_b`): a dense layer's weights over small
/// batches. `packed`: `av_bf16_packed_b_words(k, n)` words. Returns 0 without writing when the CPU
/// has no AVX512_BF16, else 1.
int av_bf16_pack_b(int transB, long k, long n, const float *b, long ldb, unsigned int *packed);

/// `av_gemm_bf16` with B packed by `av_bf16_pack_b` (with the same `k` and `n`).
int av_gemm_bf16_packed_b(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                          const unsigned int *packedB, float beta, float *c, long ldc);

/// `y[i] = x[i]` rounded to the nearest bf16 (ties to even; NaN stays NaN), as fp32. `y` may be `x`.
void av_round_to_bf16(const float *x, float *y, long count);

/// Profile counters (`bench train --profile`): 32 slots of 64-bit sums, added to atomically from any
/// thread while enabled. Slot meanings are the caller's (`Tensors.Profile`).
int av_profile_enabled(void);
void av_profile_set_enabled(int on);
void av_profile_add(int slot, long long amount);
long long av_profile_read(int slot);
void av_profile_reset(void);

/// One core's peak rate in GFLOP/s (a multiply-add counts 2), measured for `seconds` with twelve
/// independent chains: fp32 FMA on the widest vectors the CPU has (AVX-512, else AVX2; 0 without
/// either), and bf16 dot products (`vdpbf16ps`; 0 without AVX512_BF16).
double av_peak_fp32_gflops(double seconds);
double av_peak_bf16_gflops(double seconds);

#endif
