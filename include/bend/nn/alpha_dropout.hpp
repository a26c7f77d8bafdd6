#pragma once
// AlphaDropout(p): dropout for SELU nets (torch.nn.AlphaDropout): dropped elements take SELU's
// saturation value and an affine map keeps a standardised input's mean and variance (see
// bend::alpha_dropout); the identity in eval mode. A Dropout, so its mask stream travels in checkpoints
// like every Dropout's.
#include "bend/nn/dropout.hpp"

namespace bend::nn {

class AlphaDropout : public Dropout {
 public:
  explicit AlphaDropout(float p = 0.5f);
  AlphaDropout(float p, std::uint64_t seed);
  Tensor forward(const Tensor& x) override { return alpha_dropout(x, p(), is_training(), rng()); }
  std::string type_name() const override { return "AlphaDropout"; }
  std::string describe() const override;
};

}  // namespace bend::nn
