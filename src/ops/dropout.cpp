// dropout: inverted dropout, as F.dropout in training mode. Each element is kept with probability
// 1 - p and scaled by 1/(1 - p), so the expected value is unchanged and eval mode is the identity.
//   forward: y = x ⊙ m, m_i ∈ {0, 1/(1-p)} drawn from `rng`;   backward: dx += dy ⊙ m
#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Entry: in = {x}; saved[0] = the mask.
void dropout_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const float* m = e.saved[0].data();
  const float* gy = output_grad(e);
  const std::int64_t n = e.out.numel();
  for (std::int64_t k = 0; k < n; ++k) gx[k] += gy[k] * m[k];
}

}  // namespace

Tensor dropout(const Tensor& x, float p, bool training, Rng& rng) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError(fmt::format("dropout: p must be in [0, 1], got {}", p));
  if (!training || p == 0.0f) return x;
  Tensor mask = Tensor::empty(x.shape());
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  float* m = mask.data();
  for (std::int64_t k = 0; k < mask.numel(); ++k) m[k] = rng.uniform() >= p ? keep_scale : 0.0f;
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  for (std::int64_t k = 0; k < y.numel(); ++k) py[k] = px[k] * m[k];
  if (TapeEntry* e = tape().record(y, &dropout_backward, "dropout", {x})) e->saved[0] = mask;
  return y;
}

}  // namespace bend
