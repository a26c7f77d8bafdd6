#pragma once
// LayerNorm: normalisation over the trailing dimensions normalized_shape of each sample, as
// torch.nn.LayerNorm (biased variance; weight ones and bias zeros of shape normalized_shape when
// elementwise_affine). The same in training and eval mode.
#include <initializer_list>
#include <vector>

#include "bend/nn/module.hpp"

namespace bend::nn {

class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::vector<std::int64_t> normalized_shape, float eps = 1e-5f,
                     bool elementwise_affine = true);
  LayerNorm(std::initializer_list<std::int64_t> normalized_shape, float eps = 1e-5f,
            bool elementwise_affine = true)
      : LayerNorm(std::vector<std::int64_t>(normalized_shape), eps, elementwise_affine) {}
  explicit LayerNorm(std::int64_t normalized_size, float eps = 1e-5f, bool elementwise_affine = true)
      : LayerNorm(std::vector<std::int64_t>{normalized_size}, eps, elementwise_affine) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string describe() const override;  // "LayerNorm((10,), eps=1e-05, elementwise_affine=True)"
  const std::vector<std::int64_t>& normalized_shape() const { return normalized_shape_; }
  float eps() const { return eps_; }
  Tensor weight, bias;  // undefined unless elementwise_affine

 private:
  std::vector<std::int64_t> normalized_shape_;
  float eps_;
};

}  // namespace bend::nn
