#pragma once
// Masked softmax rows shared by masked_softmax and scaled_dot_product_attention.
//   scores [A, B, Lq, Lk] (left-padded with 1s to 4-d); a mask broadcasts to it from the right.
//   row (a, b, i): s_j += mask[a, b, i, j] (Additive) or s_j = -inf where mask = 1 (Boolean); causal:
//   s_j = -inf for j > i. Then p = softmax(s) in place; a row with no finite score is NaN, as PyTorch's.
#include <cmath>
#include <cstdint>
#include <limits>

#include "bend/detail/vecmath.hpp"
#include "bend/ops.hpp"

namespace bend::detail {

// A mask seen through the broadcast to a 4-d target: strides are 0 along broadcast dimensions.
struct MaskView {
  const float* data = nullptr;  // null: no mask
  std::int64_t stride[4] = {0, 0, 0, 0};
  bool boolean = false;
  const float* row(std::int64_t a, std::int64_t b, std::int64_t i) const {
    return data + a * stride[0] + b * stride[1] + i * stride[2];
  }
};

// Checks that `mask` broadcasts to `target` (4-d) and that a boolean mask holds only 0 and 1; errors name
// `where` (the op or layer) and both shapes.
MaskView mask_view(const AttentionMask& mask, const Shape& target, const char* where, const char* what);

// One row of scores (Lk floats) masked and turned into probabilities in place.
inline void masked_softmax_row(float* s, std::int64_t lk, const MaskView& m, std::int64_t a, std::int64_t b,
                               std::int64_t i, bool causal) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (m.data) {
    const float* mr = m.row(a, b, i);
    const std::int64_t sj = m.stride[3];
    if (m.boolean)
      for (std::int64_t j = 0; j < lk; ++j) s[j] = mr[j * sj] != 0.0f ? kNegInf : s[j];
    else
      for (std::int64_t j = 0; j < lk; ++j) s[j] += mr[j * sj];
  }
  if (causal)
    for (std::int64_t j = i + 1; j < lk; ++j) s[j] = kNegInf;
  float max = kNegInf;
  for (std::int64_t j = 0; j < lk; ++j) max = std::max(max, s[j]);
  if (max == kNegInf) {  // nothing to attend to: PyTorch's softmax gives NaN here
    for (std::int64_t j = 0; j < lk; ++j) s[j] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  float total = 0.0f;
  for (std::int64_t j = 0; j < lk; ++j) {
    s[j] = vm::exp(s[j] - max);
    total += s[j];
  }
  const float inv = 1.0f / total;
  for (std::int64_t j = 0; j < lk; ++j) s[j] *= inv;
}

// dx = p ⊙ (dp - Σ dp ⊙ p) for one row, written (accumulate = false) or added.
inline void softmax_row_backward(const float* p, const float* dp, float* dx, std::int64_t lk,
                                 bool accumulate) {
  float dot = 0.0f;
  for (std::int64_t j = 0; j < lk; ++j) dot += dp[j] * p[j];
  if (accumulate)
    for (std::int64_t j = 0; j < lk; ++j) dx[j] += p[j] * (dp[j] - dot);
  else
    for (std::int64_t j = 0; j < lk; ++j) dx[j] = p[j] * (dp[j] - dot);
}

}  // namespace bend::detail
