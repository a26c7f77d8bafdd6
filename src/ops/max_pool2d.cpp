// max_pool2d: PyTorch's F.max_pool2d, dilation and ceil_mode included. Padding counts as -inf; each
// output is the first maximum of its window in row-major order (a NaN counts as the maximum), and
// backward sends the gradient to that element only.
//   x: [N, C, H, W] (or [C, H, W])   y: [N, C, OH, OW], OH = (H + 2·ph - dh·(kh - 1) - 1) / sh + 1
//   (rounded up in ceil_mode, as long as the last window starts inside the input or its left padding;
//   likewise OW; detail::pool_output_size)
//   saved: the argmax of every output, as an index into its input plane (int32)
// Each output row is computed one kernel tap at a time across all its columns, so the inner loop is a
// strided load and a compare-select that GCC vectorises. Planes (n, c) are split across threads. Without
// grad (inference) no argmax is kept, and the 2x2/stride-2 window has its own loop.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/vecmath.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "window2d.hpp"

namespace bend {
namespace {

struct MaxPoolGeometry {
  std::int64_t planes, height, width, out_h, out_w;
  Size2d kernel, stride, padding, dilation;
};

// The first tap at or after 0 of a window that starts at `start` with taps every `dilation`.
std::int64_t first_tap_inside(std::int64_t start, std::int64_t dilation) {
  return start >= 0 ? start : start + (-start + dilation - 1) / dilation * dilation;
}

// Argmax indices live in a float tensor's storage, reinterpreted (the same 4 bytes per element).
std::int32_t* index_data(Tensor& t) { return reinterpret_cast<std::int32_t*>(t.data()); }

// One plane's outputs; with kArgmax, also each output's argmax (for backward).
template <bool kArgmax>
void max_pool_plane(const MaxPoolGeometry& g, const float* x, float* y, std::int32_t* argmax) {
  const std::int64_t out_w = g.out_w, sw = g.stride.w, width = g.width;
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    float* best = y + oh * out_w;
    std::int32_t* arg = kArgmax ? argmax + oh * out_w : nullptr;
    const std::int64_t top = oh * g.stride.h - g.padding.h;
    // Before any comparison, each window's answer is -inf at its first in-bounds element (as PyTorch).
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      best[ow] = -std::numeric_limits<float>::infinity();
      if constexpr (kArgmax)
        arg[ow] = static_cast<std::int32_t>(first_tap_inside(top, g.dilation.h) * width +
                                            first_tap_inside(ow * sw - g.padding.w, g.dilation.w));
    }
    for (std::int64_t i = 0; i < g.kernel.h; ++i) {
      const std::int64_t ih = top + i * g.dilation.h;
      if (ih < 0 || ih >= g.height) continue;
      const float* row = x + ih * width;
      for (std::int64_t j = 0; j < g.kernel.w; ++j) {
        const std::int64_t offset = j * g.dilation.w - g.padding.w;
        const auto [first, last] = detail::columns_inside(g.width, g.out_w, g.stride.w, offset);
        const auto base = static_cast<std::int32_t>(ih * width + offset);
        for (std::int64_t ow = first; ow < last; ++ow) {
          const float v = row[ow * sw + offset];
          const bool take = v > best[ow] || v != v;  // v != v: NaN wins, as in PyTorch
          best[ow] = vm::detail::select(take, v, best[ow]);
          if constexpr (kArgmax) arg[ow] = take ? base + static_cast<std::int32_t>(ow * sw) : arg[ow];
        }
      }
    }
  }
}

// The common 2x2 window, stride 2, no padding or dilation, when no argmax is kept (inference): the
// maximum of each window's four values, NaN winning as above.
//   x: one plane [H, W]   y: [H / 2, W / 2]
void max_pool_plane_2x2(const MaxPoolGeometry& g, const float* x, float* y) {
  const auto larger = [](float best, float v) { return v > best || v != v ? v : best; };
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const float* top = x + 2 * oh * g.width;
    const float* bottom = top + g.width;
    float* out = y + oh * g.out_w;
    for (std::int64_t ow = 0; ow < g.out_w; ++ow)
      out[ow] = larger(larger(larger(top[2 * ow], top[2 * ow + 1]), bottom[2 * ow]), bottom[2 * ow + 1]);
  }
}

// Entry: in = {x}; saved[0] = argmax indices, one per output.
void max_pool2d_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const Shape& in = e.in[0].shape();
  const std::int64_t plane_in = in[-2] * in[-1], plane_out = e.out.size(-2) * e.out.size(-1);
  const std::int64_t planes = plane_in == 0 ? 0 : e.in[0].numel() / plane_in;
  const float* gy = output_grad(e);
  const std::int32_t* argmax = index_data(e.saved[0]);
  parallel_for(parts_for_elementwise(e.in[0].numel()), [&](int part, int parts) {
    const auto [first, last] = split_range(planes, part, parts, 1);
    for (std::int64_t p = first; p < last; ++p) {
      float* g = gx.data + p * plane_in;
      if (gx.is_zero) std::fill_n(g, plane_in, 0.0f);
      const float* gy_p = gy + p * plane_out;
      const std::int32_t* arg = argmax + p * plane_out;
      for (std::int64_t k = 0; k < plane_out; ++k) g[arg[k]] += gy_p[k];
    }
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding, Size2d dilation,
                  bool ceil_mode) {
  detail::check_pool_arguments("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
  const std::int64_t height = x.size(-2), width = x.size(-1);
  if (height * width > INT32_MAX)
    throw ShapeError(fmt::format("max_pool2d: input {} has planes too large to index", x.shape().str()));
  const MaxPoolGeometry g{
      height == 0 || width == 0 ? 0 : x.numel() / (height * width),
      height,
      width,
      detail::pool_output_size(height, kernel.h, stride.h, padding.h, dilation.h, ceil_mode),
      detail::pool_output_size(width, kernel.w, stride.w, padding.w, dilation.w, ceil_mode),
      kernel,
      stride,
      padding,
      dilation};
  const Shape out_shape = x.shape().with_dim(-2, g.out_h).with_dim(-1, g.out_w);
  Tensor y = Tensor::empty(out_shape);
  const std::int64_t plane_in = height * width, plane_out = g.out_h * g.out_w;
  // Without a tape entry to come (inference, no grad), no argmax is kept.
  const bool recorded = grad_enabled() && x.requires_grad();
  if (!recorded) {
    const bool window_2x2 = kernel == Size2d(2) && stride == Size2d(2) && padding == Size2d(0) &&
                            dilation == Size2d(1) && !ceil_mode;
    parallel_for(parts_for_elementwise(x.numel()), [&](int part, int parts) {
      const auto [first, last] = split_range(g.planes, part, parts, 1);
      for (std::int64_t p = first; p < last; ++p) {
        if (window_2x2)
          max_pool_plane_2x2(g, x.data() + p * plane_in, y.data() + p * plane_out);
        else
          max_pool_plane<false>(g, x.data() + p * plane_in, y.data() + p * plane_out, nullptr);
      }
    });
    return y;
  }
  Tensor argmax = Tensor::empty(out_shape);
  std::int32_t* arg = index_data(argmax);
  parallel_for(parts_for_elementwise(x.numel()), [&](int part, int parts) {
    const auto [first, last] = split_range(g.planes, part, parts, 1);
    for (std::int64_t p = first; p < last; ++p)
      max_pool_plane<true>(g, x.data() + p * plane_in, y.data() + p * plane_out, arg + p * plane_out);
  });
  if (TapeEntry* e = tape().record(y, &max_pool2d_backward, "max_pool2d", {x})) e->saved[0] = argmax;
  return y;
}

}  // namespace bend
