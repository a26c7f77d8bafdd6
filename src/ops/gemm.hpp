#pragma once
// A thin row-major wrapper over cblas_sgemm: C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C.
// Transposes are flags to BLAS, never copies.
#include <cblas.h>

#include <cstdint>

namespace bend::detail {

inline void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  const auto lda = static_cast<blasint>(transpose_a ? m : k);
  const auto ldb = static_cast<blasint>(transpose_b ? k : n);
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, lda, b,
              ldb, beta, c, static_cast<blasint>(n));
}

}  // namespace bend::detail
