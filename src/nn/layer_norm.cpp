// LayerNorm module; the op is bend::layer_norm.
#include "bend/nn/layer_norm.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

LayerNorm::LayerNorm(std::vector<std::int64_t> normalized_shape, float eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  bool valid = !normalized_shape_.empty() && normalized_shape_.size() <= Shape::kMaxDims;
  for (const std::int64_t d : normalized_shape_) valid = valid && d > 0;
  if (!valid) throw ValueError("LayerNorm: normalized_shape must be 1 to 6 positive sizes");
  if (!(eps > 0.0f)) throw ValueError(fmt::format("LayerNorm: eps must be positive, got {}", eps));
  const Shape shape{std::span<const std::int64_t>(normalized_shape_)};
  if (elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones(shape));
    bias = register_parameter("bias", Tensor::zeros(shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  try {
    return layer_norm(x, normalized_shape_, weight, bias, eps_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  }
}

std::string LayerNorm::describe() const {
  // Python's tuple repr: "(10,)" for one size, "(4, 5)" for more.
  std::string dims = fmt::format("{}", fmt::join(normalized_shape_, ", "));
  if (normalized_shape_.size() == 1) dims += ",";
  return fmt::format("LayerNorm(({}), eps={}, elementwise_affine={})", dims, eps_,
                     weight.defined() ? "True" : "False");
}

}  // namespace bend::nn
