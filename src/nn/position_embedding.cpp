// PositionEmbedding: a learned table of position vectors added to the tokens.
#include "bend/nn/position_embedding.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/init.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

PositionEmbedding::PositionEmbedding(std::int64_t max_tokens, std::int64_t embed_dim, Rng& rng) {
  if (max_tokens <= 0 || embed_dim <= 0)
    throw ValueError(fmt::format("PositionEmbedding: max_tokens and embed_dim must be positive, got {}, {}",
                                 max_tokens, embed_dim));
  pos_embed = register_parameter("pos_embed", Tensor::empty({1, max_tokens, embed_dim}));
  init::normal_(pos_embed, 0.0f, 0.02f, rng);
}

Tensor PositionEmbedding::forward(const Tensor& x) {
  const std::int64_t d = pos_embed.size(2);
  if (x.ndim() != 3 || x.size(2) != d)
    throw ShapeError(fmt::format("{}: input {} is not a batch of token sequences [N, T, {}]", describe(),
                                 x.shape().str(), d));
  if (x.size(1) > max_tokens())
    throw ShapeError(fmt::format("{}: input {} has {} tokens, more than the table's {} positions", describe(),
                                 x.shape().str(), x.size(1), max_tokens()));
  return add(x, x.size(1) == max_tokens() ? pos_embed : narrow(pos_embed, 1, 0, x.size(1)));
}

std::string PositionEmbedding::describe() const {
  return fmt::format("PositionEmbedding({}, {})", max_tokens(), pos_embed.size(2));
}

}  // namespace bend::nn
