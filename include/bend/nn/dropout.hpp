#pragma once
// Dropout(p): inverted dropout in training mode, the identity in eval mode (torch.nn.Dropout).
#include <memory>

#include "bend/nn/module.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class Dropout : public Module {
 public:
  // The mask stream is seeded from default_rng() at construction, or from `seed`.
  explicit Dropout(float p = 0.5f);
  Dropout(float p, std::uint64_t seed);
  Tensor forward(const Tensor& x) override { return dropout(x, p_, is_training(), *rng_); }
  std::string type_name() const override { return "Dropout"; }
  std::string describe() const override;
  float p() const { return p_; }
  Rng& rng() { return *rng_; }  // for checkpoints

 private:
  float p_;
  std::shared_ptr<Rng> rng_;
};

}  // namespace bend::nn
