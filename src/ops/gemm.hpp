#pragma once
// Row-major matrix products for the ops: C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C, where
// op(X) is X or Xᵀ. Transposes are flags to BLAS, never copies.
//
// Large products are split into one block of C per thread of bend's pool (bend/parallel.hpp), each
// block one single-threaded cblas_sgemm: blocks of rows or of columns, whichever repeats less packing
// (see gemm.cpp), on boundaries that keep OpenBLAS's micro-kernel tiles whole. Small products run as one call
// on the calling thread.
#include <cstdint>

namespace bend::detail {

// With `bias_row` (n floats), C's rows start as bias_row instead of beta * C:
// C = alpha * op(A)·op(B) + bias broadcast over the rows (PyTorch's addmm with a broadcast bias).
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, const float* b, float beta, float* c, const float* bias_row = nullptr);

// Y [m, n] = bias + X [m, k] · Wᵀ (W stored [n, k]; bias may be null) for an unrecorded linear():
// bend's own AVX-512 kernel where the CPU has it and the shape suits it, else gemm (gemm_avx512.cpp).
void gemm_inference(std::int64_t m, std::int64_t n, std::int64_t k, const float* x, const float* w,
                    const float* bias, float* y);

// Y [m, n] = row_bias (one per row, may be null) + A [m, k] · B [k, n], all row-major, with bend's
// AVX-512 kernel, single-threaded; `panel` is scratch of k * 32 floats. False (nothing done) on a CPU
// without AVX-512. For an unrecorded conv2d (one sample: weight [O, C·kh·kw] · im2col columns).
bool conv_gemm_inference(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                         const float* row_bias, float* y, float* panel);

// The number of parts gemm() splits a product of this shape into (1: not split).
int gemm_parts(std::int64_t m, std::int64_t n, std::int64_t k);

}  // namespace bend::detail
