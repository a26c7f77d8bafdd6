#pragma once
// Masked softmax rows shared by masked_softmax and scaled_dot_product_attention.
//   scores [A, B, Lq, Lk] (left-padded with 1s to 4-d); a mask broadcasts to it from the right.
//   row (a, b, i): s_j += mask[a, b, i, j] (Additive) or s_j = -inf where mask = 1 (Boolean); causal:
//   s_j = -inf for j > i. Then p = softmax(s) in place; a row with no finite score is NaN, as PyTorch's.
#include <cstdint>

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

// Rows i0 .. i0 + rows - 1 of block (a, b) of the scores (Lk floats each, consecutive) masked and turned
// into probabilities in place. A causal row i computes only its first i + 1 entries and zeroes the rest
// (exactly what exp(-inf) gives). Max and sum run in kSoftmaxLanes partial results, so the loops are
// vectorised (SSE2, AVX2 or AVX-512, picked at load time); the sum's order differs from a plain loop's
// in the last bits, as PyTorch's own vectorised softmax does.
void masked_softmax_rows(float* s, std::int64_t rows, std::int64_t lk, const MaskView& m, std::int64_t a,
                         std::int64_t b, std::int64_t i0, bool causal);

// dx = p ⊙ (dp - Σ dp ⊙ p) for `rows` rows of Lk floats, written (accumulate = false) or added. dx may
// be dp (in place).
void softmax_rows_backward(const float* p, const float* dp, float* dx, std::int64_t rows, std::int64_t lk,
                           bool accumulate);

}  // namespace bend::detail
