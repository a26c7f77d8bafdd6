// layer_norm: PyTorch's F.layer_norm. x is viewed as rows [R, D], D = the product of normalized_shape
// (the trailing dimensions of x); per row:
//   mean = Σx / D,  var = Σ(x - mean)² / D (biased),  invstd = 1/√(var + eps),  x̂ = (x - mean)·invstd
//   y = x̂·γ + β      (γ, β of shape normalized_shape, optional)
// Backward, with g = dy·γ:
//   dx = invstd·(g - Σg/D - x̂·Σg·x̂/D),   dγ += Σ_rows dy·x̂,   dβ += Σ_rows dy
// Statistics accumulate in double. Rows are split across threads for the statistics and dx; dγ and dβ
// are split by column, so no thread needs a partial sum of its own.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "lane_sums.hpp"

namespace bend {
namespace {

// Calls body(begin, end) for blocks of [0, count) split across threads when `work` floats pay for it.
template <class Body>
void split_blocks(std::int64_t count, std::int64_t work, Body&& body) {
  parallel_for(parts_for_elementwise(work), [&](int part, int parts) {
    const auto [begin, end] = split_range(count, part, parts, 1);
    body(begin, end);
  });
}

// Entry: in = {x, weight, bias}; saved[0] = [2, R]: mean and invstd of each row; i[0] = D.
void layer_norm_backward(TapeEntry& e) {
  const Tensor &x = e.in[0], &w = e.in[1];
  const std::int64_t d = e.i[0], rows = d == 0 ? 0 : x.numel() / d;
  const GradTarget gx = grad_target(x), gw = grad_target(w), gb = grad_target(e.in[2]);
  const float* gy = output_grad(e);
  const float* mean = e.saved[0].data();
  const float* invstd = mean + rows;
  const float* gamma = w.defined() ? w.data() : nullptr;
  if (gx) {
    const int parts = parts_for_elementwise(x.numel());
    Tensor scratch = Tensor::empty(Shape{parts, d});  // g = dy·γ, one row per part
    parallel_for(parts, [&](int part, int n_parts) {
      const auto [r0, r1] = split_range(rows, part, n_parts, 1);
      float* g = scratch.data() + part * d;
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* dy = gy + r * d;
        const float* xs = x.data() + r * d;
        float* dx = gx.data + r * d;
        const float mu = mean[r], is = invstd[r];
        for (std::int64_t j = 0; j < d; ++j) g[j] = gamma ? dy[j] * gamma[j] : dy[j];
        const double sum_g = detail::lane_sum(g, d);
        // Σ g·x̂ = invstd·(Σ g·x - mean·Σ g)
        const double sum_g_xhat = is * (detail::lane_dot(g, xs, d) - static_cast<double>(mu) * sum_g);
        const float mean_g = static_cast<float>(sum_g / static_cast<double>(d));
        const float mean_g_xhat = static_cast<float>(sum_g_xhat / static_cast<double>(d));
        if (gx.is_zero)
          for (std::int64_t j = 0; j < d; ++j) dx[j] = is * (g[j] - mean_g - (xs[j] - mu) * is * mean_g_xhat);
        else
          for (std::int64_t j = 0; j < d; ++j)
            dx[j] += is * (g[j] - mean_g - (xs[j] - mu) * is * mean_g_xhat);
      }
    });
  }
  if (gw || gb)
    split_blocks(d, x.numel(), [&](std::int64_t j0, std::int64_t j1) {
      if (gw && gw.is_zero) std::fill(gw.data + j0, gw.data + j1, 0.0f);
      if (gb && gb.is_zero) std::fill(gb.data + j0, gb.data + j1, 0.0f);
      for (std::int64_t r = 0; r < rows; ++r) {
        const float* dy = gy + r * d;
        const float* xs = x.data() + r * d;
        const float mu = mean[r], is = invstd[r];
        if (gw)
          for (std::int64_t j = j0; j < j1; ++j) gw.data[j] += dy[j] * (xs[j] - mu) * is;
        if (gb)
          for (std::int64_t j = j0; j < j1; ++j) gb.data[j] += dy[j];
      }
    });
}

}  // namespace

Tensor layer_norm(const Tensor& x, std::span<const std::int64_t> normalized_shape, const Tensor& weight,
                  const Tensor& bias, float eps) {
  const Shape normalized(normalized_shape);
  const int k = normalized.ndim();
  bool fits = k >= 1 && k <= x.ndim();
  for (int j = 1; fits && j <= k; ++j) fits = x.size(-j) == normalized[-j];
  if (!fits)
    throw ShapeError(fmt::format("layer_norm: input {} does not end in normalized_shape {}", x.shape().str(),
                                 normalized.str()));
  for (const auto* t : {&weight, &bias})
    if (t->defined() && !(t->shape() == normalized))
      throw ShapeError(fmt::format("layer_norm: {} {} does not match normalized_shape {}",
                                   t == &weight ? "weight" : "bias", t->shape().str(), normalized.str()));
  const std::int64_t d = normalized.numel(), rows = d == 0 ? 0 : x.numel() / d;
  Tensor stats = Tensor::empty(Shape{2, rows});
  Tensor y = Tensor::empty(x.shape());
  float* mean = stats.data();
  float* invstd = mean + rows;
  const float* gamma = weight.defined() ? weight.data() : nullptr;
  const float* beta = bias.defined() ? bias.data() : nullptr;
  split_blocks(rows, x.numel(), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xs = x.data() + r * d;
      float* ys = y.data() + r * d;
      const double mu = detail::lane_sum(xs, d) / static_cast<double>(d);
      const double var = detail::lane_sum_squared_deviation(xs, d, mu) / static_cast<double>(d);
      mean[r] = static_cast<float>(mu);
      invstd[r] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      const float m = mean[r], is = invstd[r];
      if (gamma && beta)
        for (std::int64_t j = 0; j < d; ++j) ys[j] = (xs[j] - m) * is * gamma[j] + beta[j];
      else if (gamma)
        for (std::int64_t j = 0; j < d; ++j) ys[j] = (xs[j] - m) * is * gamma[j];
      else if (beta)
        for (std::int64_t j = 0; j < d; ++j) ys[j] = (xs[j] - m) * is + beta[j];
      else
        for (std::int64_t j = 0; j < d; ++j) ys[j] = (xs[j] - m) * is;
    }
  });
  if (TapeEntry* e = tape().record(y, &layer_norm_backward, "layer_norm", {x, weight, bias})) {
    e->saved[0] = stats;
    e->i[0] = d;
  }
  return y;
}

}  // namespace bend
