// SwiGLU: two projections and a SiLU gate.
#include "bend/nn/swiglu.hpp"

#include <fmt/format.h>

#include "bend/activations.hpp"

namespace bend::nn {

SwiGLU::SwiGLU(std::int64_t in_features, std::int64_t hidden_features, bool bias)
    : SwiGLU(in_features, hidden_features, bias, default_rng()) {}

SwiGLU::SwiGLU(std::int64_t in_features, std::int64_t hidden_features, bool bias, Rng& rng)
    : gate_(std::make_shared<Linear>(in_features, hidden_features, bias, rng)),
      up_(std::make_shared<Linear>(in_features, hidden_features, bias, rng)) {
  register_module("gate_proj", gate_);
  register_module("up_proj", up_);
}

Tensor SwiGLU::forward(const Tensor& x) { return silu(gate_->forward(x)) * up_->forward(x); }

std::string SwiGLU::describe() const {
  return fmt::format("SwiGLU(in_features={}, hidden_features={}, bias={})", gate_->in_features(),
                     gate_->out_features(), gate_->bias.defined() ? "True" : "False");
}

}  // namespace bend::nn
