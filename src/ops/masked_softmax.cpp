// masked_softmax: softmax over the last dimension with an additive or boolean mask and a causal mask.
//   x [*, Lq, Lk] (2 to 4 dimensions)   mask: broadcasts to x   y: like x
//   forward:  y = softmax(x + mask) per row (see attention_mask.hpp)
//   backward: dx += y ⊙ (dy - Σ dy ⊙ y); masked elements have y = 0 and so get no gradient
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "attention_mask.hpp"
#include "bend/autograd.hpp"
#include "bend/detail/multiversion.hpp"
#include "bend/detail/vecmath.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace detail {

MaskView mask_view(const AttentionMask& mask, const Shape& target, const char* where, const char* what) {
  MaskView view;
  if (!mask.defined()) return view;
  const Shape& s = mask.mask.shape();
  bool fits = s.ndim() <= 4;
  std::int64_t stride = 1;
  for (int k = 1; fits && k <= s.ndim(); ++k) {
    const std::int64_t size = s[-k];
    fits = size == target[-k] || size == 1;
    view.stride[4 - k] = size == 1 ? 0 : stride;
    stride *= size;
  }
  if (!fits)
    throw ShapeError(fmt::format("{}: {} {} does not broadcast to the attention scores {}", where, what,
                                 s.str(), target.str()));
  view.data = mask.mask.data();
  view.boolean = mask.type == MaskType::Boolean;
  if (view.boolean)
    for (const float v : mask.mask.span())
      if (v != 0.0f && v != 1.0f)
        throw ValueError(
            fmt::format("{}: boolean {} {} holds {}; a boolean mask holds only 0 and 1 (1 = masked)", where,
                        what, s.str(), v));
  return view;
}

namespace {

constexpr int kSoftmaxLanes = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// max over s[0, n), in lanes (NaNs are not seen here; they reach the sum and make the row NaN)
inline float lane_max(const float* __restrict s, std::int64_t n) {
  float lanes[kSoftmaxLanes];
  for (float& v : lanes) v = kNegInf;
  std::int64_t j = 0;
  for (; j + kSoftmaxLanes <= n; j += kSoftmaxLanes)
    for (int k = 0; k < kSoftmaxLanes; ++k) lanes[k] = lanes[k] < s[j + k] ? s[j + k] : lanes[k];
  float max = kNegInf;
  for (; j < n; ++j) max = max < s[j] ? s[j] : max;
  for (const float v : lanes) max = max < v ? v : max;
  return max;
}

// s[j] = exp(s[j] - max), returning Σ s[j]
inline float exp_and_sum(float* __restrict s, std::int64_t n, float max) {
  float lanes[kSoftmaxLanes] = {};
  std::int64_t j = 0;
  for (; j + kSoftmaxLanes <= n; j += kSoftmaxLanes)
    for (int k = 0; k < kSoftmaxLanes; ++k) {
      s[j + k] = vm::exp(s[j + k] - max);
      lanes[k] += s[j + k];
    }
  float total = 0.0f;
  for (; j < n; ++j) {
    s[j] = vm::exp(s[j] - max);
    total += s[j];
  }
  for (const float v : lanes) total += v;
  return total;
}

inline float softmax_lane_dot(const float* __restrict x, const float* __restrict y, std::int64_t n) {
  float lanes[kSoftmaxLanes] = {};
  std::int64_t j = 0;
  for (; j + kSoftmaxLanes <= n; j += kSoftmaxLanes)
    for (int k = 0; k < kSoftmaxLanes; ++k) lanes[k] += x[j + k] * y[j + k];
  float total = 0.0f;
  for (; j < n; ++j) total += x[j] * y[j];
  for (const float v : lanes) total += v;
  return total;
}

}  // namespace

BEND_MULTIVERSION void masked_softmax_rows(float* s, std::int64_t rows, std::int64_t lk, const MaskView& m,
                                           std::int64_t a, std::int64_t b, std::int64_t i0, bool causal) {
  for (std::int64_t r = 0; r < rows; ++r, s += lk) {
    const std::int64_t i = i0 + r;
    const std::int64_t n = causal ? std::min(lk, i + 1) : lk;  // entries that may be unmasked
    if (m.data) {
      const float* mr = m.row(a, b, i);
      const std::int64_t sj = m.stride[3];
      if (m.boolean)
        for (std::int64_t j = 0; j < n; ++j) s[j] = mr[j * sj] != 0.0f ? kNegInf : s[j];
      else
        for (std::int64_t j = 0; j < n; ++j) s[j] += mr[j * sj];
    }
    const float max = lane_max(s, n);
    if (max == kNegInf) {  // nothing to attend to: PyTorch's softmax gives NaN here
      std::fill(s, s + lk, std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    const float inv = 1.0f / exp_and_sum(s, n, max);
    for (std::int64_t j = 0; j < n; ++j) s[j] *= inv;
    std::fill(s + n, s + lk, 0.0f);
  }
}

BEND_MULTIVERSION void softmax_rows_backward(const float* p, const float* dp, float* dx, std::int64_t rows,
                                             std::int64_t lk, bool accumulate) {
  for (std::int64_t r = 0; r < rows; ++r, p += lk, dp += lk, dx += lk) {
    const float dot = softmax_lane_dot(dp, p, lk);
    if (accumulate)
      for (std::int64_t j = 0; j < lk; ++j) dx[j] += p[j] * (dp[j] - dot);
    else
      for (std::int64_t j = 0; j < lk; ++j) dx[j] = p[j] * (dp[j] - dot);
  }
}

}  // namespace detail

namespace {

// Entry: in = {x}; out = y; i[0] = Lk.
void masked_softmax_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const std::int64_t lk = e.i[0], rows = lk == 0 ? 0 : e.out.numel() / lk;
  const float* y = e.out.data();
  const float* gy = output_grad(e);
  detail::softmax_rows_backward(y, gy, gx.data, rows, lk, !gx.is_zero);
}

}  // namespace

Tensor masked_softmax(const Tensor& x, const AttentionMask& mask, bool causal) {
  if (x.ndim() < 2 || x.ndim() > 4)
    throw ShapeError(fmt::format("masked_softmax: input must be [*, Lq, Lk] with 2 to 4 dimensions, got {}",
                                 x.shape().str()));
  std::int64_t dims[4] = {1, 1, 1, 1};
  for (int k = 1; k <= x.ndim(); ++k) dims[4 - k] = x.size(-k);
  const Shape target{dims[0], dims[1], dims[2], dims[3]};
  const detail::MaskView view = detail::mask_view(mask, target, "masked_softmax", "mask");
  Tensor y = Tensor::empty(x.shape());
  float* py = y.data();
  std::copy_n(x.data(), x.numel(), py);
  const std::int64_t lq = dims[2], lk = dims[3];
  for (std::int64_t a = 0; a < dims[0]; ++a)
    for (std::int64_t b = 0; b < dims[1]; ++b)
      detail::masked_softmax_rows(py + (a * dims[1] + b) * lq * lk, lq, lk, view, a, b, 0, causal);
  if (TapeEntry* e = tape().record(y, &masked_softmax_backward, "masked_softmax", {x})) e->i[0] = lk;
  return y;
}

}  // namespace bend
