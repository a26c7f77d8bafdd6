// detail::gemm: cblas_sgemm, split across bend's threads when the product is large enough to pay.
//   A: op(A) is [m, k] (stored [k, m] when transpose_a)   B: op(B) is [k, n] (stored [n, k] when
//   transpose_b)   C: [m, n], all row-major and contiguous.
#include "gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <tuple>

#include "bend/parallel.hpp"

namespace bend::detail {
namespace {

// Below this many multiply-adds (a couple of microseconds of sgemm) a split costs more than it saves.
constexpr std::int64_t kMinWorkToSplit = std::int64_t{1} << 18;
// Block boundaries: columns of row-major C are the rows of OpenBLAS's column-major view, which its
// Haswell/SkylakeX kernels tile by 16; rows of C are its columns, tiled by 4 to 8.
constexpr std::int64_t kColumnAlign = 16;
constexpr std::int64_t kRowAlign = 8;

void sgemm_block(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                 float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Which way to cut C. Each part packs the whole of the operand it shares: cutting rows repeats the
// packing of op(B) (k·n floats per part), cutting columns repeats op(A)'s (m·k), and column blocks
// interleave within every row of C, where the two cores' prefetchers pull each other's lines (about
// m·n floats' worth of traffic, measured: ~8% slower at equal packing). Cut where that costs less.
bool split_columns(std::int64_t m, std::int64_t n, std::int64_t k) { return m * k + m * n < n * k; }

}  // namespace

int gemm_parts(std::int64_t m, std::int64_t n, std::int64_t k) {
  const int threads = num_threads();
  if (threads <= 1 || m * n * k < kMinWorkToSplit) return 1;
  const std::int64_t blocks = split_columns(m, n, k) ? n / kColumnAlign : m / kRowAlign;
  return static_cast<int>(std::min<std::int64_t>(threads, blocks));
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, const float* b, float beta, float* c, const float* bias_row) {
  if (m == 0 || n == 0) return;
  if (m == 1) {
    // One row of C (a single sample through a layer): sgemm would pack all of op(B) to use it once,
    // ~6x the time of streaming it through sgemv (MLP 784x256 layer: 90 us against 14 us).
    //   c [n] = alpha · op(B) [n, k] · a [k] + beta · c, with op(B) stored [n, k] (transposed) or [k, n]
    float block_beta = beta;
    if (bias_row) {
      std::copy_n(bias_row, n, c);
      block_beta = 1.0f;
    }
    cblas_sgemv(CblasRowMajor, transpose_b ? CblasNoTrans : CblasTrans,
                static_cast<blasint>(transpose_b ? n : k), static_cast<blasint>(transpose_b ? k : n), alpha,
                b, static_cast<blasint>(transpose_b ? k : n), a, 1, block_beta, c, 1);
    return;
  }
  const std::int64_t lda = transpose_a ? m : k, ldb = transpose_b ? k : n, ldc = n;
  const bool by_columns = split_columns(m, n, k);
  const auto block = [&](int part, int parts) {
    // This part's block of C: rows [r0, r1), columns [c0, c1).
    std::int64_t r0 = 0, r1 = m, c0 = 0, c1 = n;
    if (by_columns)
      std::tie(c0, c1) = split_range(n, part, parts, kColumnAlign);
    else
      std::tie(r0, r1) = split_range(m, part, parts, kRowAlign);
    if (r0 >= r1 || c0 >= c1) return;
    float* block_c = c + r0 * ldc + c0;
    float block_beta = beta;
    if (bias_row) {
      for (std::int64_t r = r0; r < r1; ++r) std::copy(bias_row + c0, bias_row + c1, c + r * ldc + c0);
      block_beta = 1.0f;
    }
    const float* block_a = transpose_a ? a + r0 : a + r0 * lda;
    const float* block_b = transpose_b ? b + c0 * ldb : b + c0;
    sgemm_block(transpose_a, transpose_b, r1 - r0, c1 - c0, k, alpha, block_a, lda, block_b, ldb, block_beta,
                block_c, ldc);
  };
  const int parts = gemm_parts(m, n, k);
  if (parts == 1)
    block(0, 1);
  else
    parallel_for(parts, block);
}

}  // namespace bend::detail
