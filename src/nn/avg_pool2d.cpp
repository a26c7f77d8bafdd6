// AvgPool2d module; the op is bend::avg_pool2d.
#include "bend/nn/avg_pool2d.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

namespace {
// PyTorch prints a pooling size as it was given; a square one reads as a single number.
std::string size_text(Size2d s) { return s.h == s.w ? fmt::format("{}", s.h) : s.str(); }
}  // namespace

AvgPool2d::AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding, bool ceil_mode,
                     bool count_include_pad)
    : kernel_size_(kernel_size),
      stride_(stride.value_or(kernel_size)),
      padding_(padding),
      ceil_mode_(ceil_mode),
      count_include_pad_(count_include_pad) {
  if (kernel_size.h <= 0 || kernel_size.w <= 0 || stride_.h <= 0 || stride_.w <= 0 || padding.h < 0 ||
      padding.w < 0 || 2 * padding.h > kernel_size.h || 2 * padding.w > kernel_size.w)
    throw ValueError(
        fmt::format("AvgPool2d: kernel_size={} and stride={} must be positive, padding={} at most "
                    "half the kernel",
                    kernel_size.str(), stride_.str(), padding.str()));
}

Tensor AvgPool2d::forward(const Tensor& x) {
  try {
    return avg_pool2d(x, kernel_size_, stride_, padding_, ceil_mode_, count_include_pad_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  }
}

std::string AvgPool2d::describe() const {
  std::string s = fmt::format("AvgPool2d(kernel_size={}, stride={}, padding={}", size_text(kernel_size_),
                              size_text(stride_), size_text(padding_));
  if (ceil_mode_) s += ", ceil_mode=True";
  if (!count_include_pad_) s += ", count_include_pad=False";
  return s + ")";
}

}  // namespace bend::nn
