#pragma once
// PositionEmbedding(max_tokens, embed_dim): a learned position table added to a token sequence:
//   x [N, T, D] -> x + pos_embed[:, :T]      pos_embed [1, max_tokens, D], T <= max_tokens
// Initialised N(0, 0.02²), as timm's ViT. The parameter keeps its name in a model spec ("pos_embed", in
// the model's own namespace), as a torch ViT's self.pos_embed. A sequence longer than the table throws
// ShapeError naming both lengths.
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class PositionEmbedding : public Module {
 public:
  PositionEmbedding(std::int64_t max_tokens, std::int64_t embed_dim, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PositionEmbedding"; }
  std::string describe() const override;  // "PositionEmbedding(17, 64)"
  std::int64_t max_tokens() const { return pos_embed.size(1); }
  Tensor pos_embed;
};

}  // namespace bend::nn
