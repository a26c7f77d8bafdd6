// sum and mean, over all elements or along one dimension. A dimension reduction sees the input as
// [outer, D, inner] (D the reduced dimension); sums accumulate in double.
#include "bend/autograd.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

// Entry: in = {a}; f[0] = scale (1 for sum, 1/n for mean).
void reduce_all_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float g = output_grad(e)[0] * e.f[0];
  const std::int64_t n = e.in[0].numel();
  for (std::int64_t k = 0; k < n; ++k) ga[k] += g;
}

Tensor reduce_all(const Tensor& a, bool average, const char* op) {
  const float* pa = a.data();
  const std::int64_t n = a.numel();
  double total = 0.0;
  for (std::int64_t k = 0; k < n; ++k) total += pa[k];
  const float scale = average ? 1.0f / static_cast<float>(n) : 1.0f;
  Tensor y = Tensor::scalar(static_cast<float>(average ? total / static_cast<double>(n) : total));
  if (TapeEntry* e = tape().record(y, &reduce_all_backward, op, {a})) e->f[0] = scale;
  return y;
}

// Entry: in = {a}; i = {outer, D, inner}; f[0] = scale.
void reduce_dim_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const std::int64_t outer = e.i[0], size = e.i[1], inner = e.i[2];
  const float* gy = output_grad(e);
  const float scale = e.f[0];
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t d = 0; d < size; ++d) {
      float* row = ga + (o * size + d) * inner;
      const float* g = gy + o * inner;
      for (std::int64_t k = 0; k < inner; ++k) row[k] += g[k] * scale;
    }
}

Tensor reduce_dim(const Tensor& a, int dim, bool keepdim, bool average, const char* op) {
  const Shape& s = a.shape();
  const int d = s.normalize_dim(dim);
  std::int64_t outer = 1, inner = 1;
  for (int k = 0; k < d; ++k) outer *= s[k];
  for (int k = d + 1; k < s.ndim(); ++k) inner *= s[k];
  const std::int64_t size = s[d];
  Tensor y = Tensor::empty(keepdim ? s.with_dim(d, 1) : s.without_dim(d));
  const float* pa = a.data();
  float* py = y.data();
  const double scale = average ? 1.0 / static_cast<double>(size) : 1.0;
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < inner; ++k) {
      double total = 0.0;
      for (std::int64_t j = 0; j < size; ++j) total += pa[(o * size + j) * inner + k];
      py[o * inner + k] = static_cast<float>(total * scale);
    }
  if (TapeEntry* e = tape().record(y, &reduce_dim_backward, op, {a})) {
    e->i = {outer, size, inner, 0};
    e->f[0] = static_cast<float>(scale);
  }
  return y;
}

}  // namespace

Tensor sum(const Tensor& a) { return reduce_all(a, false, "sum"); }
Tensor mean(const Tensor& a) { return reduce_all(a, true, "mean"); }
Tensor sum(const Tensor& a, int dim, bool keepdim) { return reduce_dim(a, dim, keepdim, false, "sum"); }
Tensor mean(const Tensor& a, int dim, bool keepdim) { return reduce_dim(a, dim, keepdim, true, "mean"); }

}  // namespace bend
