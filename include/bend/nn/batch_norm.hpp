#pragma once
// BatchNorm1d and BatchNorm2d, as torch.nn's: per-channel normalisation with batch statistics in
// training mode and running statistics in eval mode. Parameters weight (ones) and bias (zeros) when
// affine; buffers running_mean (zeros), running_var (ones) and num_batches_tracked (0; a float here, an
// int64 in PyTorch) when track_running_stats. Each training step updates the running statistics with
// `momentum` (the variance unbiased), or with a cumulative average when momentum is nullopt (PyTorch's
// momentum=None).
#include <optional>

#include "bend/nn/module.hpp"

namespace bend::nn {

// The shared part (PyTorch's _BatchNorm); use BatchNorm1d or BatchNorm2d.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;  // "BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, ...)"

  std::int64_t num_features() const { return num_features_; }
  float eps() const { return eps_; }
  std::optional<float> momentum() const { return momentum_; }
  bool affine() const { return weight.defined(); }
  bool track_running_stats() const { return running_mean.defined(); }
  Tensor weight, bias;                                    // [C], undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats

 protected:
  BatchNorm(std::int64_t num_features, float eps, std::optional<float> momentum, bool affine,
            bool track_running_stats);
  // ShapeError naming the layer when x does not have the dimensions this kind of batch norm takes.
  virtual void check_input(const Tensor& x) const = 0;

 private:
  std::int64_t num_features_;
  float eps_;
  std::optional<float> momentum_;
};

// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, float eps = 1e-5f, std::optional<float> momentum = 0.1f,
                       bool affine = true, bool track_running_stats = true)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats) {}
  std::string type_name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, float eps = 1e-5f, std::optional<float> momentum = 0.1f,
                       bool affine = true, bool track_running_stats = true)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats) {}
  std::string type_name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

}  // namespace bend::nn
