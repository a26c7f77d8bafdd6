#pragma once
// Shared by the 2-d window ops (conv2d, max_pool2d, avg_pool2d): argument checks, output sizes, and the
// packing of a Size2d into one of a tape entry's integer slots.
#include <cstdint>

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

}  // namespace bend::detail
