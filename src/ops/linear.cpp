// linear: Y = X · Wᵀ + b, PyTorch's F.linear, as one sgemm with the bias fused (rows of Y start as b,
// sgemm accumulates with beta = 1; each thread's block of Y is filled and multiplied by that thread).
//   X: [N, in]   W: [out, in]   b: [out]   Y: [N, out]
// X of more dimensions [*, in] is read as the rows [N = prod(*), in] of its leading dimensions (a view,
// no copy), and Y is [*, out], as in PyTorch.
// Backward: dX += dY · W, dW += dYᵀ · X (straight into W's grad), db += column sums of dY; a gradient
// that holds zeros is written instead (sgemm beta = 0), so zero_grad() costs nothing. dX is not
// computed when X does not require grad (a network's first layer).
#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "gemm.hpp"

namespace bend {
namespace {

// The rows of x seen as [rows, in]: the product of its leading dimensions.
std::int64_t leading_rows(const Tensor& x) {
  std::int64_t rows = 1;
  for (int d = 0; d + 1 < x.ndim(); ++d) rows *= x.size(d);
  return rows;
}

// Entry: in = {X, W, b}.
void linear_backward(TapeEntry& e) {
  const Tensor &x = e.in[0], &w = e.in[1], &b = e.in[2];
  const std::int64_t in = w.size(1), out = w.size(0), batch = leading_rows(x);
  const float* gy = output_grad(e);
  // A gradient that holds zeros (new, or after zero_grad) is written, not added to (beta = 0).
  if (const GradTarget gx = grad_target(x))
    detail::gemm(false, false, batch, in, out, 1.0f, gy, w.data(), gx.is_zero ? 0.0f : 1.0f, gx.data);
  if (const GradTarget gw = grad_target(w))
    detail::gemm(true, false, out, in, batch, 1.0f, gy, x.data(), gw.is_zero ? 0.0f : 1.0f, gw.data);
  if (const GradTarget gb = grad_target(b)) {
    if (gb.is_zero) std::fill_n(gb.data, out, 0.0f);
    for (std::int64_t r = 0; r < batch; ++r) {
      const float* row = gy + r * out;
      for (std::int64_t j = 0; j < out; ++j) gb.data[j] += row[j];
    }
  }
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (x.ndim() < 1 || weight.ndim() != 2 || x.size(-1) != weight.size(1))
    throw ShapeError(fmt::format("linear: input {} does not fit weight {} (expected input [*, {}])",
                                 x.shape().str(), weight.shape().str(),
                                 weight.ndim() == 2 ? weight.size(1) : -1));
  const std::int64_t in = weight.size(1), out = weight.size(0), batch = leading_rows(x);
  if (bias.defined() && !(bias.shape() == Shape{out}))
    throw ShapeError(fmt::format("linear: bias {} does not fit weight {} (expected [{}])", bias.shape().str(),
                                 weight.shape().str(), out));
  Tensor y = Tensor::empty(x.shape().with_dim(-1, out));
  const bool recorded = grad_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                           (bias.defined() && bias.requires_grad()));
  if (!recorded)  // inference: no backward will read this product, and bend's own kernel may run it
    detail::gemm_inference(batch, out, in, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr,
                           y.data());
  else
    detail::gemm(false, true, batch, out, in, 1.0f, x.data(), weight.data(), 0.0f, y.data(),
                 bias.defined() ? bias.data() : nullptr);
  tape().record(y, &linear_backward, "linear", {x, weight, bias});
  return y;
}

}  // namespace bend
