#!/usr/bin/env bash
# The bf16 GEMM kernel against OpenBLAS sgemm, one core each, in one run (decision 0029):
#   Scripts/bench-gemm.sh
# Compiles Scripts/bench_gemm.c with the kernel's C sources (clang, as SwiftPM builds them) and runs it.
# Needs AVX512_BF16. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang -O2 -I Sources/CKernels/include Scripts/bench_gemm.c Sources/CKernels/gemm_bf16.c -o "$out/bench-gemm" -lopenblas -lpthread -lm
OPENBLAS_NUM_THREADS=1 "$out/bench-gemm"
