// softmax and log_softmax along one dimension, max-subtracted so that no exp overflows. The input is
// seen as [outer, D, inner] around the softmax dimension.
//   softmax:     y = exp(x - max) / Σ exp(x - max);    dx = y ⊙ (dy - Σ dy ⊙ y)
//   log_softmax: y = x - max - log Σ exp(x - max);      dx = dy - exp(y) Σ dy
#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/detail/vecmath.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

struct SoftmaxLayout {
  std::int64_t outer = 1, size = 1, inner = 1;
};
SoftmaxLayout softmax_layout(const Shape& s, int dim) {
  const int d = s.normalize_dim(dim);
  SoftmaxLayout l;
  for (int k = 0; k < d; ++k) l.outer *= s[k];
  for (int k = d + 1; k < s.ndim(); ++k) l.inner *= s[k];
  l.size = s[d];
  return l;
}

template <bool Log>
void softmax_forward(const float* x, float* y, const SoftmaxLayout& l) {
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.inner; ++k) {
      const float* xs = x + o * l.size * l.inner + k;
      float* ys = y + o * l.size * l.inner + k;
      const std::int64_t st = l.inner;
      float max = -INFINITY;
      for (std::int64_t j = 0; j < l.size; ++j) max = std::max(max, xs[j * st]);
      if (!std::isfinite(max)) max = 0.0f;  // all -inf (or inf/NaN present): let the arithmetic propagate
      double total = 0.0;
      for (std::int64_t j = 0; j < l.size; ++j) {
        const float ex = vm::exp(xs[j * st] - max);
        if constexpr (!Log) ys[j * st] = ex;
        total += ex;
      }
      if constexpr (Log) {
        const float log_total = static_cast<float>(std::log(total));
        for (std::int64_t j = 0; j < l.size; ++j) ys[j * st] = xs[j * st] - max - log_total;
      } else {
        const float inv = static_cast<float>(1.0 / total);
        for (std::int64_t j = 0; j < l.size; ++j) ys[j * st] *= inv;
      }
    }
}

// Entry: in = {x}; out = y; i = {outer, size, inner}.
template <bool Log>
void softmax_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const SoftmaxLayout l{e.i[0], e.i[1], e.i[2]};
  const float* y = e.out.data();
  const float* gy = output_grad(e);
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.inner; ++k) {
      const std::int64_t base = o * l.size * l.inner + k, st = l.inner;
      double dot = 0.0;
      for (std::int64_t j = 0; j < l.size; ++j)
        dot += Log ? gy[base + j * st] : gy[base + j * st] * y[base + j * st];
      const float s = static_cast<float>(dot);
      for (std::int64_t j = 0; j < l.size; ++j) {
        const std::int64_t at = base + j * st;
        if constexpr (Log)
          gx[at] += gy[at] - vm::exp(y[at]) * s;
        else
          gx[at] += y[at] * (gy[at] - s);
      }
    }
}

template <bool Log>
Tensor softmax_op(const Tensor& x, int dim, const char* op) {
  const SoftmaxLayout l = softmax_layout(x.shape(), dim);
  Tensor y = Tensor::empty(x.shape());
  softmax_forward<Log>(x.data(), y.data(), l);
  if (TapeEntry* e = tape().record(y, &softmax_backward<Log>, op, {x})) e->i = {l.outer, l.size, l.inner, 0};
  return y;
}

}  // namespace

Tensor softmax(const Tensor& a, int dim) { return softmax_op<false>(a, dim, "softmax"); }
Tensor log_softmax(const Tensor& a, int dim) { return softmax_op<true>(a, dim, "log_softmax"); }

}  // namespace bend
