#pragma once
// Shared by the 2-d window ops (conv2d, max_pool2d, avg_pool2d): argument checks, output sizes, the columns a
// window row covers inside the input, and the packing of a Size2d into one of a tape entry's integer slots.
#include <algorithm>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::detail {

// A tape entry has four integer slots; a window op needs more numbers than that, so each Size2d takes one
// slot (both halves are checked to fit 32 bits when the op is called).
inline std::int64_t pack(Size2d s) { return (s.h << 32) | s.w; }
inline Size2d unpack(std::int64_t v) { return {v >> 32, v & 0xffffffff}; }

inline void require_positive(const char* op, const char* what, Size2d s) {
  if (s.h <= 0 || s.w <= 0 || s.h > INT32_MAX || s.w > INT32_MAX)
    throw ValueError(fmt::format("{}: {} must be positive, got {}", op, what, s.str()));
}
inline void require_non_negative(const char* op, const char* what, Size2d s) {
  if (s.h < 0 || s.w < 0 || s.h > INT32_MAX || s.w > INT32_MAX)
    throw ValueError(fmt::format("{}: {} must not be negative, got {}", op, what, s.str()));
}

// Output length along one axis: floor((in + 2·pad - dilation·(kernel - 1) - 1) / stride) + 1, or
// a value <= 0 when the (dilated) kernel does not fit the padded input.
inline std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                       std::int64_t pad, std::int64_t dilation) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// A pool's output length along one axis, as PyTorch's pooling_output_shape: the window span
// dilation·(kernel - 1) + 1 slides by stride over in + 2·pad; ceil_mode rounds the window count up, but
// the last window must start inside the input or its left padding (else it is dropped). <= 0 when no
// window fits.
inline std::int64_t pool_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                     std::int64_t pad, std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (span < 0) return 0;
  std::int64_t out = span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// The output columns ow whose input column ow·stride + offset lies inside [0, width): [first, last),
// clipped to [0, out_width).
inline std::pair<std::int64_t, std::int64_t> columns_inside(std::int64_t width, std::int64_t out_width,
                                                            std::int64_t stride, std::int64_t offset) {
  std::int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  std::int64_t last = width - 1 - offset >= 0 ? (width - 1 - offset) / stride + 1 : 0;
  last = std::min(last, out_width);
  first = std::min(first, last);
  return {first, last};
}

// The checks max_pool2d and avg_pool2d share: positive kernel, stride and dilation, padding at most half
// the kernel (as PyTorch), a [N, C, H, W] or [C, H, W] input, and a (dilated) kernel that fits the
// padded input.
inline void check_pool_arguments(const char* op, const Tensor& x, Size2d kernel, Size2d stride,
                                 Size2d padding, Size2d dilation, bool ceil_mode) {
  require_positive(op, "kernel_size", kernel);
  require_positive(op, "stride", stride);
  require_non_negative(op, "padding", padding);
  require_positive(op, "dilation", dilation);
  if (2 * padding.h > kernel.h || 2 * padding.w > kernel.w)
    throw ValueError(fmt::format("{}: padding {} must be at most half of the kernel size {}", op,
                                 padding.str(), kernel.str()));
  if (x.ndim() != 3 && x.ndim() != 4)
    throw ShapeError(fmt::format("{}: input {} must be [N, C, H, W] or [C, H, W]", op, x.shape().str()));
  if (pool_output_size(x.size(-2), kernel.h, stride.h, padding.h, dilation.h, ceil_mode) <= 0 ||
      pool_output_size(x.size(-1), kernel.w, stride.w, padding.w, dilation.w, ceil_mode) <= 0)
    throw ShapeError(fmt::format("{}: kernel {} (dilation {}) is larger than the input {} with padding {}",
                                 op, kernel.str(), dilation.str(), x.shape().str(), padding.str()));
}

}  // namespace bend::detail
