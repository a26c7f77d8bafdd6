// Comparisons (eq, ne, lt, le, gt, ge) and argmax. Their results are indices or 0/1 masks, stored as
// float32 (exact for integers below 2^24), so sum() counts them and eq() compares them with labels.
// None of them has a gradient: they never record on the tape, and their results do not require grad.
#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "broadcast.hpp"

namespace bend {
namespace {

struct Equal {
  static constexpr const char* name = "eq";
  static bool test(float a, float b) { return a == b; }
};
struct NotEqual {
  static constexpr const char* name = "ne";
  static bool test(float a, float b) { return a != b; }
};
struct Less {
  static constexpr const char* name = "lt";
  static bool test(float a, float b) { return a < b; }
};
struct LessEqual {
  static constexpr const char* name = "le";
  static bool test(float a, float b) { return a <= b; }
};
struct Greater {
  static constexpr const char* name = "gt";
  static bool test(float a, float b) { return a > b; }
};
struct GreaterEqual {
  static constexpr const char* name = "ge";
  static bool test(float a, float b) { return a >= b; }
};

// a, b broadcast to y: y = 1 where Cmp::test(a, b), else 0.
template <class Cmp>
Tensor compare(const Tensor& a, const Tensor& b) {
  const float *pa = a.data(), *pb = b.data();
  if (a.shape() == b.shape()) {
    Tensor y = Tensor::empty(a.shape());
    float* __restrict py = y.data();
    const std::int64_t n = a.numel();
    for (std::int64_t k = 0; k < n; ++k) py[k] = Cmp::test(pa[k], pb[k]) ? 1.0f : 0.0f;
    return y;
  }
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), Cmp::name));
  float* py = y.data();
  detail::for_each_broadcast(y.shape(), a.shape(), b.shape(),
                             [&](std::int64_t o, std::int64_t ia, std::int64_t ib) {
                               py[o] = Cmp::test(pa[ia], pb[ib]) ? 1.0f : 0.0f;
                             });
  return y;
}

// a any shape, b a scalar: y has a's shape.
template <class Cmp>
Tensor compare(const Tensor& a, float b) {
  Tensor y = Tensor::empty(a.shape());
  const float* __restrict pa = a.data();
  float* __restrict py = y.data();
  const std::int64_t n = a.numel();
  for (std::int64_t k = 0; k < n; ++k) py[k] = Cmp::test(pa[k], b) ? 1.0f : 0.0f;
  return y;
}

// Whether `v` beats the best so far: larger, or the first NaN (PyTorch's argmax treats NaN as the
// maximum), never a later equal value (the first maximum wins).
bool beats(float v, float best) { return v > best || (std::isnan(v) && !std::isnan(best)); }

// Indices beyond 2^24 would round in float32.
void check_index_range(std::int64_t size, const Shape& shape) {
  if (size > (std::int64_t{1} << 24))
    throw ShapeError(fmt::format("argmax: {} has {} candidates; float32 indices are exact only below 2^24",
                                 shape.str(), size));
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare<Equal>(a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare<NotEqual>(a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare<Less>(a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare<LessEqual>(a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare<Greater>(a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare<GreaterEqual>(a, b); }
Tensor eq(const Tensor& a, float b) { return compare<Equal>(a, b); }
Tensor ne(const Tensor& a, float b) { return compare<NotEqual>(a, b); }
Tensor lt(const Tensor& a, float b) { return compare<Less>(a, b); }
Tensor le(const Tensor& a, float b) { return compare<LessEqual>(a, b); }
Tensor gt(const Tensor& a, float b) { return compare<Greater>(a, b); }
Tensor ge(const Tensor& a, float b) { return compare<GreaterEqual>(a, b); }

// a (any shape, at least one element) -> a 0-d index into a's flattened values.
Tensor argmax(const Tensor& a) {
  const std::int64_t n = a.numel();
  if (n == 0) throw ShapeError(fmt::format("argmax: {} has no elements", a.shape().str()));
  check_index_range(n, a.shape());
  const float* pa = a.data();
  std::int64_t best = 0;
  for (std::int64_t k = 1; k < n; ++k)
    if (beats(pa[k], pa[best])) best = k;
  return Tensor::scalar(static_cast<float>(best));
}

// a seen as [outer, D, inner] around `dim` -> y [outer, inner] (with keepdim [outer, 1, inner]): the
// index in [0, D) of each row's first maximum.
Tensor argmax(const Tensor& a, int dim, bool keepdim) {
  const Shape& s = a.shape();
  if (s.ndim() == 0) return argmax(a);  // PyTorch allows dim 0 / -1 on a 0-d tensor
  const int d = s.normalize_dim(dim);
  const std::int64_t size = s[d];
  if (size == 0) throw ShapeError(fmt::format("argmax: dimension {} of {} is empty", d, s.str()));
  check_index_range(size, s);
  std::int64_t outer = 1, inner = 1;
  for (int k = 0; k < d; ++k) outer *= s[k];
  for (int k = d + 1; k < s.ndim(); ++k) inner *= s[k];
  Tensor y = Tensor::empty(keepdim ? s.with_dim(d, 1) : s.without_dim(d));
  const float* pa = a.data();
  float* py = y.data();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < inner; ++k) {
      const float* column = pa + o * size * inner + k;
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < size; ++j)
        if (beats(column[j * inner], column[best * inner])) best = j;
      py[o * inner + k] = static_cast<float>(best);
    }
  return y;
}

}  // namespace bend
