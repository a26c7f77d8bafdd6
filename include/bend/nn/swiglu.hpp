#pragma once
// SwiGLU(in, hidden): the gated feed-forward of LLaMA-style blocks without the down projection:
//   y = silu(x·W_gateᵀ + b_gate) ⊙ (x·W_upᵀ + b_up)          x [N, in] -> y [N, hidden]
// Parameters "gate_proj.weight", "up_proj.weight" (and biases), named as in Hugging Face's LlamaMLP.
#include "bend/nn/linear.hpp"

namespace bend::nn {

class SwiGLU : public Module {
 public:
  SwiGLU(std::int64_t in_features, std::int64_t hidden_features, bool bias = true);
  SwiGLU(std::int64_t in_features, std::int64_t hidden_features, bool bias, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SwiGLU"; }
  std::string describe() const override;
  Linear& gate_proj() { return *gate_; }
  Linear& up_proj() { return *up_; }

 private:
  std::shared_ptr<Linear> gate_, up_;
};

}  // namespace bend::nn
