// BatchNorm1d / BatchNorm2d: parameters, buffers, the running-statistics bookkeeping of
// torch.nn.modules.batchnorm._BatchNorm.forward; the op is bend::batch_norm.
#include "bend/nn/batch_norm.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

BatchNorm::BatchNorm(std::int64_t num_features, float eps, std::optional<float> momentum, bool affine,
                     bool track_running_stats)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
  if (num_features <= 0)
    throw ValueError(fmt::format("BatchNorm: num_features must be positive, got {}", num_features));
  if (!(eps > 0.0f)) throw ValueError(fmt::format("BatchNorm: eps must be positive, got {}", eps));
  if (momentum && !(*momentum >= 0.0f && *momentum <= 1.0f))
    throw ValueError(fmt::format("BatchNorm: momentum must be in [0, 1], got {}", *momentum));
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({num_features}));
    bias = register_parameter("bias", Tensor::zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
    running_var = register_buffer("running_var", Tensor::ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros(Shape{}));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input(x);
  if (x.size(1) != num_features_)
    throw ShapeError(fmt::format("{}: input {} has {} channels, expected {}", describe(), x.shape().str(),
                                 x.size(1), num_features_));
  const bool tracking = track_running_stats();
  // Batch statistics while training, and always when no running statistics are kept.
  const bool batch_stats = is_training() || !tracking;
  float factor = 0.0f;
  float batches = tracking ? num_batches_tracked.item() : 0.0f;
  if (is_training() && tracking) {
    batches += 1.0f;
    factor = momentum_ ? *momentum_ : 1.0f / batches;  // momentum=None: the cumulative average
  }
  Tensor y;
  try {
    y = batch_norm(x, running_mean, running_var, weight, bias, batch_stats, factor, eps_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: {}", describe(), e.what()));
  }
  if (is_training() && tracking) num_batches_tracked.fill_(batches);
  return y;
}

std::string BatchNorm::describe() const {
  return fmt::format("{}({}, eps={}, momentum={}, affine={}, track_running_stats={})", type_name(),
                     num_features_, eps_, momentum_ ? fmt::format("{}", *momentum_) : std::string("None"),
                     affine() ? "True" : "False", track_running_stats() ? "True" : "False");
}

void BatchNorm1d::check_input(const Tensor& x) const {
  if (x.ndim() != 2 && x.ndim() != 3)
    throw ShapeError(
        fmt::format("{}: expected a 2-d [N, C] or 3-d [N, C, L] input, got {}", describe(), x.shape().str()));
}

void BatchNorm2d::check_input(const Tensor& x) const {
  if (x.ndim() != 4)
    throw ShapeError(
        fmt::format("{}: expected a 4-d [N, C, H, W] input, got {}", describe(), x.shape().str()));
}

}  // namespace bend::nn
