#pragma once
// Dropout2d(p): zeroes whole channels in training mode, the identity in eval mode (torch.nn.Dropout2d).
#include <memory>

#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class Dropout2d : public Module {
 public:
  // The mask stream is seeded from default_rng() at construction, or from `seed` (as Dropout).
  explicit Dropout2d(float p = 0.5f);
  Dropout2d(float p, std::uint64_t seed);
  // x [N, C, H, W] (or [N, C, L])
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout2d"; }
  std::string describe() const override;  // "Dropout2d(p=0.5)"
  float p() const { return p_; }
  Rng& rng() { return *rng_; }  // for checkpoints

 private:
  float p_;
  std::shared_ptr<Rng> rng_;
};

}  // namespace bend::nn
