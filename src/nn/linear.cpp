// Linear: registration and PyTorch's default initialisation; the op is bend::linear.
#include "bend/nn/linear.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/init.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias)
    : Linear(in_features, out_features, with_bias, default_rng()) {}

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias, Rng& rng)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features <= 0 || out_features <= 0)
    throw ValueError(fmt::format("Linear: sizes must be positive, got in_features={} out_features={}",
                                 in_features, out_features));
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out_features}));
  init::torch_linear_default(*this, rng);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::describe() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias={})", in_features_, out_features_,
                     bias.defined() ? "True" : "False");
}

}  // namespace bend::nn
