// masked_softmax: softmax over the last dimension with an additive or boolean mask and a causal mask.
//   x [*, Lq, Lk] (2 to 4 dimensions)   mask: broadcasts to x   y: like x
//   forward:  y = softmax(x + mask) per row (see attention_mask.hpp)
//   backward: dx += y ⊙ (dy - Σ dy ⊙ y); masked elements have y = 0 and so get no gradient
#include <algorithm>

#include <fmt/format.h>

#include "attention_mask.hpp"
#include "bend/autograd.hpp"
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

}  // namespace detail

namespace {

// Entry: in = {x}; out = y; i[0] = Lk.
void masked_softmax_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const std::int64_t lk = e.i[0], rows = lk == 0 ? 0 : e.out.numel() / lk;
  const float* y = e.out.data();
  const float* gy = output_grad(e);
  for (std::int64_t r = 0; r < rows; ++r)
    detail::softmax_row_backward(y + r * lk, gy + r * lk, gx.data + r * lk, lk, !gx.is_zero);
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
      for (std::int64_t i = 0; i < lq; ++i)
        detail::masked_softmax_row(py + ((a * dims[1] + b) * lq + i) * lk, lk, view, a, b, i, causal);
  if (TapeEntry* e = tape().record(y, &masked_softmax_backward, "masked_softmax", {x})) e->i[0] = lk;
  return y;
}

}  // namespace bend
