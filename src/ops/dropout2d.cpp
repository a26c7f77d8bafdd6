// dropout2d: PyTorch's F.dropout2d in training mode. Each channel (n, c) of x [N, C, *] is kept with
// probability 1 - p, scaled by 1/(1 - p), or zeroed whole: one draw from `rng` per channel, in order.
//   forward: y[n, c, :] = x[n, c, :]·m[n, c];   backward: dx[n, c, :] += dy[n, c, :]·m[n, c]
#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Entry: in = {x}; saved[0] = the channel mask [N·C].
void dropout2d_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const Tensor& mask = e.saved[0];
  const std::int64_t channels = mask.numel(), s = channels == 0 ? 0 : e.out.numel() / channels;
  const float* gy = output_grad(e);
  for (std::int64_t k = 0; k < channels; ++k) {
    const float m = mask.data()[k];
    const float* g = gy + k * s;
    float* dx = gx.data + k * s;
    if (gx.is_zero)
      for (std::int64_t j = 0; j < s; ++j) dx[j] = g[j] * m;
    else
      for (std::int64_t j = 0; j < s; ++j) dx[j] += g[j] * m;
  }
}

}  // namespace

Tensor dropout2d(const Tensor& x, float p, bool training, Rng& rng) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError(fmt::format("dropout2d: p must be in [0, 1], got {}", p));
  if (x.ndim() != 3 && x.ndim() != 4)
    throw ShapeError(fmt::format("dropout2d: input {} must be [N, C, H, W] or [N, C, L]", x.shape().str()));
  if (!training || p == 0.0f) return x;
  const std::int64_t channels = x.size(0) * x.size(1), s = channels == 0 ? 0 : x.numel() / channels;
  Tensor mask = Tensor::empty(Shape{channels});
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  for (float& m : mask.span()) m = rng.uniform() >= p ? keep_scale : 0.0f;
  Tensor y = Tensor::empty(x.shape());
  for (std::int64_t k = 0; k < channels; ++k) {
    const float m = mask.data()[k];
    const float* xs = x.data() + k * s;
    float* ys = y.data() + k * s;
    for (std::int64_t j = 0; j < s; ++j) ys[j] = xs[j] * m;
  }
  if (TapeEntry* e = tape().record(y, &dropout2d_backward, "dropout2d", {x})) e->saved[0] = mask;
  return y;
}

}  // namespace bend
