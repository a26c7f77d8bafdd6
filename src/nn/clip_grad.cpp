// clip_grad_norm_: the global gradient norm, and the scaling PyTorch applies.
#include "bend/nn/clip_grad.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  if (!(max_norm > 0))
    throw ValueError(fmt::format("clip_grad_norm_: max_norm must be positive, got {}", max_norm));
  // PyTorch: norm(stack([norm(g) for g])) — each tensor's norm in float, then the norm of the norms.
  double squares = 0;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    double s = 0;
    const float* d = g.data();
    for (std::int64_t i = 0; i < g.numel(); ++i) s += static_cast<double>(d[i]) * d[i];
    const auto norm = static_cast<float>(std::sqrt(s));
    squares += static_cast<double>(norm) * norm;
    grads.push_back(std::move(g));
  }
  const auto total = static_cast<float>(std::sqrt(squares));
  const float coef = std::min(1.0f, static_cast<float>(max_norm) / (total + 1e-6f));
  if (coef < 1.0f || !std::isfinite(coef))
    for (Tensor& g : grads) {
      float* d = g.data();
      for (std::int64_t i = 0; i < g.numel(); ++i) d[i] *= coef;
    }
  return total;
}

}  // namespace bend::nn
