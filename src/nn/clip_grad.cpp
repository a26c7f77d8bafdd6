// clip_grad_norm_: the global gradient norm, and the scaling PyTorch applies.
#include "bend/nn/clip_grad.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/detail/multiversion.hpp"
#include "bend/error.hpp"

namespace bend::nn {
namespace {

// Σ d[i]² in double, in kLanes independent partial sums (a plain `s += d[i]*d[i]` fixes the order of
// the additions, so it cannot be vectorised), built for SSE2, AVX2 and AVX-512.
constexpr int kLanes = 8;
BEND_MULTIVERSION double sum_of_squares(const float* __restrict d, std::int64_t n) {
  double lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(d[i + j]) * d[i + j];
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(d[i]) * d[i];
  for (int j = 0; j < kLanes; ++j) s += lanes[j];
  return s;
}

BEND_MULTIVERSION void scale(float* __restrict d, std::int64_t n, float coef) {
  for (std::int64_t i = 0; i < n; ++i) d[i] *= coef;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  if (!(max_norm > 0))
    throw ValueError(fmt::format("clip_grad_norm_: max_norm must be positive, got {}", max_norm));
  // PyTorch: norm(stack([norm(g) for g])) — each tensor's norm in float, then the norm of the norms.
  double squares = 0;
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const auto norm = static_cast<float>(std::sqrt(sum_of_squares(g.data(), g.numel())));
    squares += static_cast<double>(norm) * norm;
  }
  const auto total = static_cast<float>(std::sqrt(squares));
  const float coef = std::min(1.0f, static_cast<float>(max_norm) / (total + 1e-6f));
  if (coef < 1.0f || !std::isfinite(coef))
    for (const Tensor& p : parameters)
      if (Tensor g = p.grad(); g.defined()) scale(g.data(), g.numel(), coef);
  return total;
}

}  // namespace bend::nn
