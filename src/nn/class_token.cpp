// ClassToken: a learned token prepended to each sequence.
#include "bend/nn/class_token.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/init.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

ClassToken::ClassToken(std::int64_t embed_dim, Rng& rng) {
  if (embed_dim <= 0)
    throw ValueError(fmt::format("ClassToken: embed_dim must be positive, got {}", embed_dim));
  cls_token = register_parameter("cls_token", Tensor::empty({1, 1, embed_dim}));
  init::normal_(cls_token, 0.0f, 0.02f, rng);
}

Tensor ClassToken::forward(const Tensor& x) {
  const std::int64_t d = cls_token.size(2);
  if (x.ndim() != 3 || x.size(2) != d)
    throw ShapeError(fmt::format("{}: input {} is not a batch of token sequences [N, T, {}]", describe(),
                                 x.shape().str(), d));
  // The token broadcast over the batch; its gradient sums over the batch.
  const Tensor tokens = add(Tensor::zeros({x.size(0), 1, d}), cls_token);
  return concat({tokens, x}, 1);
}

std::string ClassToken::describe() const { return fmt::format("ClassToken({})", cls_token.size(2)); }

}  // namespace bend::nn
