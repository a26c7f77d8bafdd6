#pragma once
// ClassToken(embed_dim): a vision transformer's learned class token, put before every sequence:
//   x [N, T, D] -> [N, 1 + T, D], row 0 of each sample being the parameter "cls_token" [1, 1, D]
// (PyTorch: torch.cat([cls_token.expand(N, -1, -1), x], dim=1)). Initialised N(0, 0.02²), as timm's
// ViT. The parameter keeps its name in a model spec (the layer's state sits in the model's own namespace:
// "cls_token", not "2.cls_token"), as a torch ViT's self.cls_token.
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class ClassToken : public Module {
 public:
  ClassToken(std::int64_t embed_dim, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ClassToken"; }
  std::string describe() const override;  // "ClassToken(64)"
  Tensor cls_token;
};

}  // namespace bend::nn
