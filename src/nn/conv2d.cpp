// Conv2d: registration and PyTorch's default initialisation; the op is bend::conv2d.
#include "bend/nn/conv2d.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/init.hpp"

namespace bend::nn {

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Size2d stride,
               Size2d padding, Size2d dilation, bool with_bias)
    : Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, with_bias, default_rng()) {}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Size2d stride,
               Size2d padding, Size2d dilation, bool with_bias, Rng& rng)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      dilation_(dilation) {
  const auto positive = [](Size2d s) { return s.h > 0 && s.w > 0; };
  if (in_channels <= 0 || out_channels <= 0 || !positive(kernel_size) || !positive(stride) ||
      !positive(dilation) || padding.h < 0 || padding.w < 0)
    throw ValueError(fmt::format(
        "Conv2d: in_channels={}, out_channels={}, kernel_size={}, stride={}, dilation={} must be positive "
        "and padding={} not negative",
        in_channels, out_channels, kernel_size.str(), stride.str(), dilation.str(), padding.str()));
  weight =
      register_parameter("weight", Tensor::empty({out_channels, in_channels, kernel_size.h, kernel_size.w}));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
  // As _ConvNd.reset_parameters: the same rule as Linear's, with fan_in = in_channels·kh·kw.
  init::kaiming_uniform_(weight, rng, std::sqrt(5.0f));
  if (bias.defined()) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(init::fan_in(weight)));
    init::uniform_(bias, -bound, bound, rng);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  try {
    return conv2d(x, weight, bias, stride_, padding_, dilation_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  }
}

std::string Conv2d::describe() const {
  std::string s = fmt::format("Conv2d({}, {}, kernel_size={}, stride={}", in_channels_, out_channels_,
                              kernel_size_.str(), stride_.str());
  if (!(padding_ == Size2d(0))) s += fmt::format(", padding={}", padding_.str());
  if (!(dilation_ == Size2d(1))) s += fmt::format(", dilation={}", dilation_.str());
  if (!bias.defined()) s += ", bias=False";
  return s + ")";
}

}  // namespace bend::nn
