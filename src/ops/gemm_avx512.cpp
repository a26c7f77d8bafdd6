// detail::gemm_inference: the inference product of linear(), Y [m, n] = bias + X [m, k] · Wᵀ (W stored
// [n, k]), with bend's own AVX-512 kernel when the CPU has AVX-512, else detail::gemm (OpenBLAS).
// OpenBLAS runs the kernels OPENBLAS_CORETYPE names (Haswell's AVX2 ones on the benchmark machine); this
// kernel measured 130-190 GFLOP/s on one core there against OpenBLAS's 60 for the MLP's layers
// (256x256x784: 0.55-0.78 ms against 1.0-1.6 ms).
// Wᵀ is packed 32 columns at a time into a panel [k, 32]; each tile of 6 rows x 32 columns of Y is
// accumulated in 12 vector registers over the whole of k (rows of X broadcast one value at a time).
// Every element of Y is the same sum in the same order whatever the tile or thread split, so results do
// not depend on the batch size or the thread count. Panels are split across threads for large products.
// detail::conv_gemm_inference runs the same tiles for an unrecorded conv2d: weight [O, C·kh·kw] times a
// sample's im2col columns, copied 32 columns at a time into a panel, each row starting at its bias.
#include <algorithm>

#include "bend/detail/memory.hpp"
#include "bend/parallel.hpp"
#include "gemm.hpp"

namespace bend::detail {
namespace {

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define BEND_GEMM_AVX512 1
#define BEND_AVX512_TARGET __attribute__((target("avx512f,avx512vl,fma")))

typedef float Lanes16 __attribute__((vector_size(64)));
constexpr std::int64_t kPanel = 32;  // columns of Y per packed panel: two 16-lane vectors
constexpr int kTileRows = 6;         // rows of Y per tile: 12 accumulators
// Below this many multiply-adds a split across threads costs more than it saves (as gemm.cpp).
constexpr std::int64_t kMinWorkToSplit = std::int64_t{1} << 18;

// Y tile [rows, cols] (rows <= 6, cols <= 32) = bias + x [rows, k] (rows `ldx` apart) · panel [k, 32];
// with `row_bias` (kRows floats) instead, row r starts at row_bias[r].
template <int kRows>
BEND_AVX512_TARGET inline __attribute__((always_inline)) void panel_tile(const float* x, std::int64_t ldx,
                                                                         const float* panel, std::int64_t k,
                                                                         const float* bias, float* y,
                                                                         std::int64_t ldy, std::int64_t cols,
                                                                         const float* row_bias = nullptr) {
  Lanes16 start0{}, start1{};
  if (bias) {
    __builtin_memcpy(&start0, bias, sizeof start0);
    __builtin_memcpy(&start1, bias + 16, sizeof start1);
  }
  Lanes16 acc[kRows][2];
  for (int r = 0; r < kRows; ++r) {
    acc[r][0] = row_bias ? Lanes16{} + row_bias[r] : start0;
    acc[r][1] = row_bias ? Lanes16{} + row_bias[r] : start1;
  }
  for (std::int64_t p = 0; p < k; ++p) {
    Lanes16 w0, w1;
    __builtin_memcpy(&w0, panel + p * kPanel, sizeof w0);
    __builtin_memcpy(&w1, panel + p * kPanel + 16, sizeof w1);
    for (int r = 0; r < kRows; ++r) {
      const float v = x[r * ldx + p];
      acc[r][0] += v * w0;
      acc[r][1] += v * w1;
    }
  }
  for (int r = 0; r < kRows; ++r) {
    float row[kPanel];
    __builtin_memcpy(row, &acc[r][0], sizeof acc[r][0]);
    __builtin_memcpy(row + 16, &acc[r][1], sizeof acc[r][1]);
    std::copy_n(row, cols, y + r * ldy);
  }
}

// Columns [first_panel * 32, end) of Y, one panel at a time; `panel` is scratch of k * 32 floats.
BEND_AVX512_TARGET void panels_avx512(std::int64_t m, std::int64_t n, std::int64_t k, const float* x,
                                      const float* w, const float* bias, float* y, float* panel,
                                      std::int64_t first_panel, std::int64_t end_panel) {
  for (std::int64_t q = first_panel; q < end_panel; ++q) {
    const std::int64_t j0 = q * kPanel, cols = std::min(kPanel, n - j0);
    for (std::int64_t p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < kPanel; ++j) panel[p * kPanel + j] = j < cols ? w[(j0 + j) * k + p] : 0.0f;
    float bias_panel[kPanel] = {};
    if (bias) std::copy_n(bias + j0, cols, bias_panel);
    const float* b = bias ? bias_panel : nullptr;
    std::int64_t i = 0;
    for (; i + kTileRows <= m; i += kTileRows)
      panel_tile<kTileRows>(x + i * k, k, panel, k, b, y + i * n + j0, n, cols);
    const float* xi = x + i * k;
    float* yi = y + i * n + j0;
    switch (m - i) {
      case 1:
        panel_tile<1>(xi, k, panel, k, b, yi, n, cols);
        break;
      case 2:
        panel_tile<2>(xi, k, panel, k, b, yi, n, cols);
        break;
      case 3:
        panel_tile<3>(xi, k, panel, k, b, yi, n, cols);
        break;
      case 4:
        panel_tile<4>(xi, k, panel, k, b, yi, n, cols);
        break;
      case 5:
        panel_tile<5>(xi, k, panel, k, b, yi, n, cols);
        break;
      default:
        break;
    }
  }
}

// Y [m, n] = row_bias + A [m, k] · B [k, n] (B row-major, as an im2col matrix), one 32-column panel of B
// at a time (copied, zero past n, into `panel` [k, 32]).
BEND_AVX512_TARGET void panels_nn_avx512(std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                                         const float* b, const float* row_bias, float* y, float* panel) {
  for (std::int64_t j0 = 0; j0 < n; j0 += kPanel) {
    const std::int64_t cols = std::min(kPanel, n - j0);
    for (std::int64_t p = 0; p < k; ++p) {
      std::copy_n(b + p * n + j0, cols, panel + p * kPanel);
      std::fill(panel + p * kPanel + cols, panel + (p + 1) * kPanel, 0.0f);
    }
    std::int64_t i = 0;
    for (; i + kTileRows <= m; i += kTileRows)
      panel_tile<kTileRows>(a + i * k, k, panel, k, nullptr, y + i * n + j0, n, cols,
                            row_bias ? row_bias + i : nullptr);
    const float* ai = a + i * k;
    float* yi = y + i * n + j0;
    const float* ri = row_bias ? row_bias + i : nullptr;
    switch (m - i) {
      case 1:
        panel_tile<1>(ai, k, panel, k, nullptr, yi, n, cols, ri);
        break;
      case 2:
        panel_tile<2>(ai, k, panel, k, nullptr, yi, n, cols, ri);
        break;
      case 3:
        panel_tile<3>(ai, k, panel, k, nullptr, yi, n, cols, ri);
        break;
      case 4:
        panel_tile<4>(ai, k, panel, k, nullptr, yi, n, cols, ri);
        break;
      case 5:
        panel_tile<5>(ai, k, panel, k, nullptr, yi, n, cols, ri);
        break;
      default:
        break;
    }
  }
}

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return has;
}
#endif

}  // namespace

void gemm_inference(std::int64_t m, std::int64_t n, std::int64_t k, const float* x, const float* w,
                    const float* bias, float* y) {
#ifdef BEND_GEMM_AVX512
  // One row is sgemv's (gemm); fewer than 32 columns would waste most of a panel.
  if (m >= 2 && n >= kPanel && cpu_has_avx512()) {
    const std::int64_t panels = (n + kPanel - 1) / kPanel;
    const int parts =
        m * n * k < kMinWorkToSplit ? 1 : static_cast<int>(std::min<std::int64_t>(num_threads(), panels));
    std::size_t capacity = 0;
    float* scratch = acquire_floats(static_cast<std::size_t>(parts * k * kPanel), capacity);
    const auto run = [&](int part, int n_parts) {
      const auto [first, last] = split_range(panels, part, n_parts, 1);
      panels_avx512(m, n, k, x, w, bias, y, scratch + part * k * kPanel, first, last);
    };
    if (parts == 1)
      run(0, 1);
    else
      parallel_for(parts, run);
    release_floats(scratch, capacity);
    return;
  }
#endif
  gemm(false, true, m, n, k, 1.0f, x, w, 0.0f, y, bias);
}

bool conv_gemm_inference(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                         const float* row_bias, float* y, float* panel) {
#ifdef BEND_GEMM_AVX512
  if (cpu_has_avx512()) {
    panels_nn_avx512(m, n, k, a, b, row_bias, y, panel);
    return true;
  }
#endif
  (void)m, (void)n, (void)k, (void)a, (void)b, (void)row_bias, (void)y, (void)panel;
  return false;
}

}  // namespace bend::detail
