#pragma once
// Linear: y = x·Wᵀ + b, as torch.nn.Linear (weight [out, in], bias [out], same names and default init). The
// input is [*, in_features], any leading dimensions, and the output [*, out_features].
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class Linear : public Module {
 public:
  // PyTorch's default init: kaiming_uniform(a=√5) for the weight, uniform(±1/√in) for the bias,
  // drawn from `rng` (default_rng() when not given).
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Rng& rng);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string describe() const override;

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  Tensor weight;
  Tensor bias;  // undefined when bias = false

 private:
  std::int64_t in_features_, out_features_;
};

}  // namespace bend::nn
