// avg_pool2d: PyTorch's F.avg_pool2d, ceil_mode included (no divisor override).
//   x: [N, C, H, W] (or [C, H, W])   y: [N, C, OH, OW], OH = (H + 2·ph - kh) / sh + 1 (rounded up in
//   ceil_mode, as long as the last window starts inside the input or its left padding; likewise OW)
// y = (sum of the window's in-image elements) / divisor. With count_include_pad (PyTorch's default) the
// divisor is the window's size inside the padded input (kh·kw, less where a ceil_mode window hangs past
// the right or bottom padding), else the number of its in-image elements.
// Backward spreads dy / divisor over the same elements. Rows are accumulated one kernel tap at a time
// across all output columns (a vectorisable strided loop); planes are split across threads.
#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "window2d.hpp"

namespace bend {
namespace {

struct PoolGeometry {
  std::int64_t planes, height, width, out_h, out_w;
  Size2d kernel, stride, padding;
  bool ceil_mode, count_include_pad;
};

// The divisor of each output column of output row oh.
void divisors(const PoolGeometry& g, std::int64_t oh, float* out) {
  const std::int64_t top = oh * g.stride.h - g.padding.h;
  const std::int64_t rows = std::min(top + g.kernel.h, g.height) - std::max<std::int64_t>(top, 0);
  const std::int64_t padded_rows = std::min(top + g.kernel.h, g.height + g.padding.h) - top;
  for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
    const std::int64_t left = ow * g.stride.w - g.padding.w;
    const std::int64_t count =
        g.count_include_pad ? padded_rows * (std::min(left + g.kernel.w, g.width + g.padding.w) - left)
                            : rows * (std::min(left + g.kernel.w, g.width) - std::max<std::int64_t>(left, 0));
    // A window with nothing inside sums to 0 (as PyTorch); 1 keeps it from being 0/0.
    out[ow] = count > 0 ? static_cast<float>(count) : 1.0f;
  }
}

// Calls tap(input_row, output_column_range, offset) for every kernel tap that lands inside the image.
template <class Tap>
void for_each_tap(const PoolGeometry& g, std::int64_t oh, Tap&& tap) {
  const std::int64_t top = oh * g.stride.h - g.padding.h;
  for (std::int64_t i = 0; i < g.kernel.h; ++i) {
    const std::int64_t ih = top + i;
    if (ih < 0 || ih >= g.height) continue;
    for (std::int64_t j = 0; j < g.kernel.w; ++j) {
      const std::int64_t offset = j - g.padding.w;
      const auto [first, last] = detail::columns_inside(g.width, g.out_w, g.stride.w, offset);
      tap(ih, first, last, offset);
    }
  }
}

PoolGeometry avg_pool_geometry(const Shape& in, Size2d kernel, Size2d stride, Size2d padding, bool ceil_mode,
                               bool count_include_pad) {
  const std::int64_t height = in[-2], width = in[-1];
  return {height * width == 0 ? 0 : in.numel() / (height * width),
          height,
          width,
          detail::pool_output_size(height, kernel.h, stride.h, padding.h, 1, ceil_mode),
          detail::pool_output_size(width, kernel.w, stride.w, padding.w, 1, ceil_mode),
          kernel,
          stride,
          padding,
          ceil_mode,
          count_include_pad};
}

// Entry: in = {x}; i = {kernel, stride, padding} packed, i[3] = ceil_mode + 2·count_include_pad.
void avg_pool2d_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const PoolGeometry g = avg_pool_geometry(e.in[0].shape(), detail::unpack(e.i[0]), detail::unpack(e.i[1]),
                                           detail::unpack(e.i[2]), (e.i[3] & 1) != 0, (e.i[3] & 2) != 0);
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w, sw = g.stride.w;
  const float* gy = output_grad(e);
  Tensor scratch = Tensor::empty(Shape{parts_for_elementwise(e.in[0].numel()), g.out_w});
  parallel_for(static_cast<int>(scratch.size(0)), [&](int part, int parts) {
    const auto [first, last] = split_range(g.planes, part, parts, 1);
    float* scaled = scratch.data() + part * g.out_w;
    for (std::int64_t p = first; p < last; ++p) {
      float* gx_p = gx.data + p * plane_in;
      if (gx.is_zero) std::fill_n(gx_p, plane_in, 0.0f);
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        const float* gy_row = gy + p * plane_out + oh * g.out_w;
        divisors(g, oh, scaled);
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) scaled[ow] = gy_row[ow] / scaled[ow];
        for_each_tap(g, oh, [&](std::int64_t ih, std::int64_t c0, std::int64_t c1, std::int64_t offset) {
          float* row = gx_p + ih * g.width + offset;
          for (std::int64_t ow = c0; ow < c1; ++ow) row[ow * sw] += scaled[ow];
        });
      }
    }
  });
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding, bool ceil_mode,
                  bool count_include_pad) {
  detail::check_pool_arguments("avg_pool2d", x, kernel, stride, padding, 1, ceil_mode);
  const PoolGeometry g = avg_pool_geometry(x.shape(), kernel, stride, padding, ceil_mode, count_include_pad);
  Tensor y = Tensor::empty(x.shape().with_dim(-2, g.out_h).with_dim(-1, g.out_w));
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w, sw = stride.w;
  Tensor scratch = Tensor::empty(Shape{parts_for_elementwise(x.numel()), g.out_w});
  parallel_for(static_cast<int>(scratch.size(0)), [&](int part, int parts) {
    const auto [first, last] = split_range(g.planes, part, parts, 1);
    float* divisor = scratch.data() + part * g.out_w;
    for (std::int64_t p = first; p < last; ++p) {
      const float* x_p = x.data() + p * plane_in;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        float* y_row = y.data() + p * plane_out + oh * g.out_w;
        std::fill_n(y_row, g.out_w, 0.0f);
        for_each_tap(g, oh, [&](std::int64_t ih, std::int64_t c0, std::int64_t c1, std::int64_t offset) {
          const float* row = x_p + ih * g.width + offset;
          for (std::int64_t ow = c0; ow < c1; ++ow) y_row[ow] += row[ow * sw];
        });
        divisors(g, oh, divisor);
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) y_row[ow] /= divisor[ow];
      }
    }
  });
  if (TapeEntry* e = tape().record(y, &avg_pool2d_backward, "avg_pool2d", {x})) {
    e->i[0] = detail::pack(kernel);
    e->i[1] = detail::pack(stride);
    e->i[2] = detail::pack(padding);
    e->i[3] = (ceil_mode ? 1 : 0) + (count_include_pad ? 2 : 0);
  }
  return y;
}

}  // namespace bend
