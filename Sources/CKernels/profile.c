// Counters of `bench train --profile`, and the peak probes it compares the GEMM against.

#include "CKernels.h"

#include <time.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#endif

#define AV_PROFILE_SLOTS 32

static long long counters[AV_PROFILE_SLOTS];
static int enabled;

int av_profile_enabled(void) { return __atomic_load_n(&enabled, __ATOMIC_RELAXED); }

void av_profile_set_enabled(int on) { __atomic_store_n(&enabled, on ? 1 : 0, __ATOMIC_RELAXED); }

void av_profile_add(int slot, long long amount) {
    if (slot >= 0 && slot < AV_PROFILE_SLOTS) __atomic_fetch_add(&counters[slot], amount, __ATOMIC_RELAXED);
}

long long av_profile_read(int slot) {
    return slot >= 0 && slot < AV_PROFILE_SLOTS ? __atomic_load_n(&counters[slot], __ATOMIC_RELAXED) : 0;
}

void av_profile_reset(void) {
    for (int slot = 0; slot < AV_PROFILE_SLOTS; slot++) __atomic_store_n(&counters[slot], 0, __ATOMIC_RELAXED);
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Twelve independent chains hide the instruction latency (4–6 cycles) behind two issue ports.
#define AV_CHAINS 12
#define AV_ROUNDS 1000

/// Runs `AV_ROUNDS` rounds of one multiply-add per chain on `state` (`AV_CHAINS` vectors of up to 16
/// floats), which carries the chains between calls.
typedef void (*av_rounds)(float *state);

/// GFLOP/s of `run`, called until `seconds` have passed, at `flopsPerChainRound` per chain and round.
static double timed_rate(av_rounds run, double seconds, double flopsPerChainRound) {
    float state[AV_CHAINS * 16] __attribute__((aligned(64)));
    for (int i = 0; i < AV_CHAINS * 16; i++) state[i] = 0.001f * (float)(i % 7);
    long long rounds = 0;
    const double start = seconds_now();
    double elapsed = 0;
    do {
        run(state);
        rounds += AV_ROUNDS;
        elapsed = seconds_now() - start;
    } while (elapsed < seconds);
    __asm__ volatile("" : : "r"(state) : "memory");  // the chains' results are used
    return (double)rounds * AV_CHAINS * flopsPerChainRound / elapsed / 1e9;
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx512f"))) static void fp32_avx512_rounds(float *state) {
    __m512 acc[AV_CHAINS];
    for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm512_load_ps(state + 16 * i);
    const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.0001f);
    for (int r = 0; r < AV_ROUNDS; r++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    for (int i = 0; i < AV_CHAINS; i++) _mm512_store_ps(state + 16 * i, acc[i]);
}

__attribute__((target("avx2,fma"))) static void fp32_avx2_rounds(float *state) {
    __m256 acc[AV_CHAINS];
    for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm256_load_ps(state + 16 * i);
    const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.0001f);
    for (int r = 0; r < AV_ROUNDS; r++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    for (int i = 0; i < AV_CHAINS; i++) _mm256_store_ps(state + 16 * i, acc[i]);
}

__attribute__((target("avx512f,avx512bf16"))) static void bf16_avx512_rounds(float *state) {
    __m512 acc[AV_CHAINS];
    for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm512_load_ps(state + 16 * i);
    const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x38d138d1);
    for (int r = 0; r < AV_ROUNDS; r++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < AV_CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    }
    for (int i = 0; i < AV_CHAINS; i++) _mm512_store_ps(state + 16 * i, acc[i]);
}
#endif

double av_peak_fp32_gflops(double seconds) {
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx512f")) return timed_rate(fp32_avx512_rounds, seconds, 16 * 2);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return timed_rate(fp32_avx2_rounds, seconds, 8 * 2);
#endif
    (void)seconds;
    return 0;
}

double av_peak_bf16_gflops(double seconds) {
#if defined(__x86_64__) && defined(__clang__)
    if (av_bf16_supported()) return timed_rate(bf16_avx512_rounds, seconds, 32 * 2);
#endif
    (void)seconds;
    return 0;
}
