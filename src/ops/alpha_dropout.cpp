// alpha_dropout: dropout for SELU networks, as F.alpha_dropout in training mode (nn.AlphaDropout).
// A dropped element is set to SELU's negative saturation value α' = -λ·α ≈ -1.7581 instead of 0, then
// an affine map a·(·) + b restores the mean and variance of a zero-mean, unit-variance input:
//   a = 1/√((1 - p)(1 + p·α'²)),  b = -a·α'·p
//   forward: y = m ⊙ (a·x + b) + (1 - m) ⊙ (a·α' + b),  m_i ∈ {0, 1} kept with probability 1 - p
//   backward: dx += dy ⊙ a·m
// Eval mode and p = 0 are the identity; p = 1 gives zeros (as PyTorch).
#include <fmt/format.h>

#include <cmath>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Entry: in = {x}; saved[0] = a·m (the slope of each element).
void alpha_dropout_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const float* slope = e.saved[0].data();
  const float* gy = output_grad(e);
  const std::int64_t n = e.out.numel();
  for (std::int64_t k = 0; k < n; ++k) gx[k] += gy[k] * slope[k];
}

}  // namespace

AlphaDropoutCoefficients alpha_dropout_coefficients(double p) {
  // -α' = λ·α of SELU (PyTorch's constant 1.7580993408473766).
  constexpr double kSaturation = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
  AlphaDropoutCoefficients c;
  c.a = 1.0 / std::sqrt((kSaturation * kSaturation * p + 1.0) * (1.0 - p));
  c.b = kSaturation * c.a * p;
  c.dropped = -kSaturation * c.a + c.b;
  return c;
}

Tensor alpha_dropout(const Tensor& x, float p, bool training, Rng& rng) {
  if (!(p >= 0.0f && p <= 1.0f))
    throw ValueError(fmt::format("alpha_dropout: p must be in [0, 1], got {}", p));
  if (!training || p == 0.0f) return x;
  Tensor slope = Tensor::empty(x.shape());
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* s = slope.data();
  float* py = y.data();
  if (p == 1.0f) {
    // PyTorch: input * 0 (everything dropped, no affine correction).
    for (std::int64_t k = 0; k < y.numel(); ++k) {
      s[k] = 0.0f;
      py[k] = px[k] * 0.0f;
    }
  } else {
    const AlphaDropoutCoefficients c = alpha_dropout_coefficients(p);
    const auto a = static_cast<float>(c.a), b = static_cast<float>(c.b),
               dropped = static_cast<float>(c.dropped);
    for (std::int64_t k = 0; k < y.numel(); ++k) {
      const bool keep = rng.uniform() >= p;
      s[k] = keep ? a : 0.0f;
      py[k] = keep ? a * px[k] + b : px[k] * 0.0f + dropped;  // x·0: NaN stays NaN, as PyTorch
    }
  }
  if (TapeEntry* e = tape().record(y, &alpha_dropout_backward, "alpha_dropout", {x})) e->saved[0] = slope;
  return y;
}

}  // namespace bend
