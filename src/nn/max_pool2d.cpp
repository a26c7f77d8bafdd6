// MaxPool2d module; the op is bend::max_pool2d.
#include "bend/nn/max_pool2d.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

namespace {
// PyTorch prints a pooling size as it was given; a square one reads as a single number.
std::string pool_size_text(Size2d s) { return s.h == s.w ? fmt::format("{}", s.h) : s.str(); }
}  // namespace

MaxPool2d::MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding, Size2d dilation,
                     bool ceil_mode)
    : kernel_size_(kernel_size),
      stride_(stride.value_or(kernel_size)),
      padding_(padding),
      dilation_(dilation),
      ceil_mode_(ceil_mode) {
  if (kernel_size.h <= 0 || kernel_size.w <= 0 || stride_.h <= 0 || stride_.w <= 0 || dilation.h <= 0 ||
      dilation.w <= 0 || padding.h < 0 || padding.w < 0 || 2 * padding.h > kernel_size.h ||
      2 * padding.w > kernel_size.w)
    throw ValueError(
        fmt::format("MaxPool2d: kernel_size={}, stride={} and dilation={} must be positive, padding={} at "
                    "most half the kernel",
                    kernel_size.str(), stride_.str(), dilation.str(), padding.str()));
}

Tensor MaxPool2d::forward(const Tensor& x) {
  try {
    return max_pool2d(x, kernel_size_, stride_, padding_, dilation_, ceil_mode_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  }
}

std::string MaxPool2d::describe() const {
  return fmt::format("MaxPool2d(kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={})",
                     pool_size_text(kernel_size_), pool_size_text(stride_), pool_size_text(padding_),
                     pool_size_text(dilation_), ceil_mode_ ? "True" : "False");
}

}  // namespace bend::nn
