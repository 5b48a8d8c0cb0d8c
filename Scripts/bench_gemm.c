// The bf16 GEMM (Sources/CKernels/gemm_bf16.c) against OpenBLAS sgemm on one core, on the per-image
// GEMM shapes of the reference models' convolutions, in one run: GFLOP/s of each and their ratio.
// Built and run by Scripts/bench-gemm.sh.
#include "CKernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void bench(int transA, int transB, long m, long n, long k) {
    const long lda = transA ? m : k, ldb = transB ? k : n;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    for (long i = 0; i < m * k; i++) a[i] = (float)(i % 17) / 17 - 0.5f;
    for (long i = 0; i < k * n; i++) b[i] = (float)(i % 13) / 13 - 0.5f;
    const int reps = (int)(2e9 / (2.0 * m * n * k)) + 1;  // about 2 GFLOP of each
    const double t0 = now();
    for (int r = 0; r < reps; r++) av_gemm_bf16(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n);
    const double t1 = now();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                    (int)k, 1, a, (int)lda, b, (int)ldb, 0, c, (int)n);
    const double t2 = now(), flops = 2.0 * m * n * k * reps;
    printf("%4ld x %4ld x %4ld %-4s bf16 %6.1f GFLOP/s   sgemm %6.1f GFLOP/s   ratio %.2f\n", m, n, k,
           transA ? "A^T" : transB ? "B^T" : "", flops / (t1 - t0) / 1e9, flops / (t2 - t1) / 1e9, (t2 - t1) / (t1 - t0));
    free(a);
    free(b);
    free(c);
}

int main(void) {
    if (!av_bf16_supported()) {
        fprintf(stderr, "bench-gemm: this CPU has no AVX512_BF16\n");
        return 1;
    }
    // medium's second convolution per image (forward, weight gradient, input gradient), a deeper one, the first layer.
    bench(0, 0, 64, 784, 288);
    bench(0, 1, 64, 288, 784);
    bench(1, 0, 288, 784, 64);
    bench(0, 0, 128, 196, 576);
    bench(0, 1, 128, 576, 196);
    bench(1, 0, 576, 196, 128);
    bench(0, 0, 256, 49, 1152);
    bench(0, 0, 32, 784, 9);
    return 0;
}
