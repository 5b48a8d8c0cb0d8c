#ifndef AUTOVISION_CKERNELS_TARGET_H
#define AUTOVISION_CKERNELS_TARGET_H

/// What every kernel file of this target shares: whether this is x86 (whose AVX2 + FMA versions are
/// compiled by per-function target attributes and chosen at run time by `av_kernels_use_avx2`), and
/// the inlining every kernel body relies on, so both versions are one source.
#if defined(__x86_64__) || defined(__i386__)
#define AV_X86 1
#include <immintrin.h>
#define AV_AVX2 __attribute__((target("avx2,fma")))
#else
#define AV_X86 0
#define AV_AVX2
#endif

#define AV_INLINE static inline __attribute__((always_inline))

#endif
