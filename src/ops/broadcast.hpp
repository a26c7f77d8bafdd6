#pragma once
// Broadcast indexing shared by the elementwise ops with two tensor operands (arithmetic.cpp,
// compare.cpp): operand strides seen through the broadcast output shape, and a walk over the output
// that hands out each element's operand indices.
#include <array>
#include <cstdint>

#include "bend/shape.hpp"

namespace bend::detail {

// Element strides of `s` seen through the broadcast shape `out` (0 along stretched dimensions).
inline std::array<std::int64_t, Shape::kMaxDims> broadcast_strides(const Shape& s, const Shape& out) {
  std::array<std::int64_t, Shape::kMaxDims> strides{};
  std::int64_t stride = 1;
  for (int k = out.ndim() - 1, j = s.ndim() - 1; k >= 0; --k, --j) {
    const std::int64_t d = j >= 0 ? s[j] : 1;
    strides[static_cast<std::size_t>(k)] = d == 1 ? 0 : stride;
    stride *= d;
  }
  return strides;
}

// Calls fn(out_index, a_index, b_index) for every element of `out`, in row-major order.
template <class Fn>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, Fn&& fn) {
  const auto sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  const int nd = out.ndim();
  if (nd == 0) {
    fn(0, 0, 0);
    return;
  }
  std::array<std::int64_t, Shape::kMaxDims> counter{};
  const std::int64_t inner = out[nd - 1];
  const std::int64_t ia_step = sa[static_cast<std::size_t>(nd - 1)],
                     ib_step = sb[static_cast<std::size_t>(nd - 1)];
  const std::int64_t total = out.numel();
  std::int64_t ia = 0, ib = 0;
  for (std::int64_t o = 0; o < total; o += inner) {
    for (std::int64_t k = 0; k < inner; ++k) fn(o + k, ia + k * ia_step, ib + k * ib_step);
    // Advance the outer dimensions' counters.
    for (int d = nd - 2; d >= 0; --d) {
      const auto du = static_cast<std::size_t>(d);
      ia += sa[du];
      ib += sb[du];
      if (++counter[du] < out[d]) break;
      ia -= sa[du] * out[d];
      ib -= sb[du] * out[d];
      counter[du] = 0;
    }
  }
}

}  // namespace bend::detail
